/**
 * How the console talks to the gateway: GraphQL over HTTP (fetch) to /graphql and subscriptions over graphql-ws
 * on the same path, with the operator's bearer token when one was given (development gateways need none).
 */
import { type Client, createClient } from 'graphql-ws';

const TOKEN_KEY = 'psgraph.console.token';

export const graphqlUrl = () => new URL('/graphql', location.href).href;

/** The token lives for the browser tab only (sessionStorage), never in a cookie the browser would send elsewhere. */
export const savedToken = (): string | null => sessionStorage.getItem(TOKEN_KEY);

export function saveToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  subscriptionClient?.dispose();
  subscriptionClient = null;
}

export interface GraphQLErrorPayload {
  readonly message: string;
  readonly path?: readonly (string | number)[];
  readonly extensions?: { readonly code?: string } & Record<string, unknown>;
}

/** A request the gateway refused or answered with errors: the codes say why. */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errors: readonly GraphQLErrorPayload[],
  ) {
    super(message);
  }

  get codes(): string[] {
    return this.errors.map((error) => error.extensions?.code ?? 'UNKNOWN');
  }

  /** The gateway's schema has no such field yet (an API another change adds): the console hides that part. */
  get schemaLacksField(): boolean {
    return this.codes.includes('GRAPHQL_VALIDATION_FAILED');
  }

  get unauthenticated(): boolean {
    return this.status === 401 || this.codes.includes('UNAUTHENTICATED');
  }
}

export async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const token = savedToken();
  const response = await fetch(graphqlUrl(), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      // Names the client in the gateway's telemetry, as Studio-style per-client figures expect.
      'apollographql-client-name': 'psgraph-console',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  let body: { data?: T | null; errors?: GraphQLErrorPayload[] } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new RequestError(`The gateway answered ${response.status} without JSON.`, response.status, []);
  }
  if (body.errors?.length) {
    throw new RequestError(body.errors.map((error) => error.message).join('; '), response.status, body.errors);
  }
  if (!response.ok || body.data == null) throw new RequestError(`The gateway answered ${response.status}.`, response.status, []);
  return body.data;
}

let subscriptionClient: Client | null = null;

function client(): Client {
  subscriptionClient ??= createClient({
    url: graphqlUrl().replace(/^http/, 'ws'),
    connectionParams: () => {
      const token = savedToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    retryAttempts: Infinity,
    shouldRetry: () => true,
    lazy: true,
  });
  return subscriptionClient;
}

/** Subscribes; `onData` gets each event's data. Answers the unsubscribe function. */
export function subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void, onError?: (error: unknown) => void): () => void {
  return client().subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.data) onData(result.data as T);
        else if (result.errors) onError?.(result.errors);
      },
      error: (error) => onError?.(error),
      complete: () => undefined,
    },
  );
}
