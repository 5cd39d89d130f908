/** A query's state in a component: loading, data or error, and a reload (after an action or a live update). */
import { useCallback, useEffect, useRef, useState } from 'react';
import { RequestError, graphql } from './graphqlClient';

export interface QueryState<T> {
  readonly data: T | null;
  readonly error: RequestError | Error | null;
  readonly loading: boolean;
  readonly reload: () => void;
}

/**
 * Runs `query` now, again when its variables change or `reload` is called, and every `refreshMs` when given (lists
 * whose changes no subscription announces, e.g. exceptions raised on runs nobody has open).
 */
export function useGraphQL<T>(query: string | null, variables: Record<string, unknown> = {}, refreshMs?: number): QueryState<T> {
  const [state, setState] = useState<{ data: T | null; error: RequestError | Error | null; loading: boolean }>({ data: null, error: null, loading: true });
  const [generation, setGeneration] = useState(0);
  const key = JSON.stringify(variables);
  const latest = useRef(0);
  useEffect(() => {
    if (query === null) return;
    const request = ++latest.current;
    setState((previous) => ({ ...previous, loading: true }));
    graphql<T>(query, JSON.parse(key) as Record<string, unknown>).then(
      (data) => request === latest.current && setState({ data, error: null, loading: false }),
      (error: Error) => request === latest.current && setState((previous) => ({ data: previous.data, error, loading: false })),
    );
  }, [query, key, generation]);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  useEffect(() => {
    if (!refreshMs) return undefined;
    const timer = setInterval(reload, refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs, reload]);
  return { ...state, reload };
}

/** Whether the error means the gateway's schema lacks the field (its API is not deployed yet): hide, don't alarm. */
export const isAbsentApi = (error: unknown) => error instanceof RequestError && error.schemaLacksField;
