/**
 * In-flight deduplication: a query identical to one already in flight — the same operation, the same variables
 * and the same forwarded headers (so the same caller, never across credentials) — waits for that one's answer
 * instead of being run again. It applies twice: to client requests (the gateway plans and executes once for all
 * identical requests in flight) and to subgraph requests (one HTTP request for identical fetches in flight).
 *
 * The answer shared is one the subgraphs gave while the joining request was waiting for it; what could make it
 * stale is a write the caller knows has happened. So every write the gateway sees closes everything in flight to
 * newcomers: a mutation (when it is sent and when it has completed, at both levels) and every subscription event
 * (before it is hydrated and delivered). Requests started after that never join requests started before it.
 */
import type { ApolloServerPlugin, BaseContext, GraphQLRequestContext, GraphQLResponse } from '@apollo/server';
import { HeaderMap } from '@apollo/server';

/** Requests in flight that identical requests may join, by key. */
interface InflightEntry {
  /** What joiners get: the answer, or a snapshot of it taken before the leader could write into it. */
  readonly shared: Promise<unknown>;
  joined: number;
}

export class InflightRequests {
  private entries = new Map<string, InflightEntry>();
  private closedThisTick = false;

  /** The answer in flight for `key`, if an identical request may still join it. */
  join<T>(key: string): Promise<T> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    entry.joined++;
    return entry.shared as Promise<T>;
  }

  /**
   * Registers `answer` as in flight for `key` until it settles. With `snapshot`, joiners get a snapshot of the answer
   * taken when it settles, before the leader's own continuation runs — the leader may go on writing into the answer
   * (the query plan executor merges fetched objects into its result tree), and a joiner copying it later would copy
   * those writes. The snapshot is taken only when someone joined; the entry closes at that same moment, so nobody
   * joins an answer already handed to its leader.
   */
  lead<T>(key: string, answer: Promise<T>, snapshot?: (value: T) => T): Promise<T> {
    const entries = this.entries;
    const remove = () => {
      if (entries.get(key) === entry) entries.delete(key);
    };
    // Registered before the caller awaits `answer`, so it runs first when the answer settles.
    const shared = answer.then(
      (value) => {
        remove();
        return snapshot && entry.joined > 0 ? snapshot(value) : value;
      },
      (error: unknown) => {
        remove();
        throw error;
      },
    );
    // A rejection reaches the joiners (and the leader through `answer`); unjoined, it must not go unhandled here.
    shared.catch(() => undefined);
    const entry: InflightEntry = { shared, joined: 0 };
    entries.set(key, entry);
    return answer;
  }

  /** Closes every request in flight to newcomers (they finish and answer those already waiting). */
  closeAll(): void {
    if (this.entries.size > 0) this.entries = new Map();
  }

  /**
   * `closeAll`, at most once per event-loop turn: the subscribers of one event all take it in the same turn, and
   * their hydrations may still share fetches with each other.
   */
  closeAllOncePerTick(): void {
    if (this.closedThisTick) return;
    this.closedThisTick = true;
    this.closeAll();
    setImmediate(() => {
      this.closedThisTick = false;
    });
  }

  get size(): number {
    return this.entries.size;
  }
}

interface SharedResponse {
  readonly status: number | undefined;
  readonly headers: ReadonlyArray<[string, string]>;
  readonly body: GraphQLResponse['body'];
}

export interface InboundDeduplicationOptions {
  readonly requests: InflightRequests;
  /** The request headers that travel to subgraphs: part of what makes two requests identical. */
  readonly forwardHeaders: readonly string[];
  /** How long a joining request waits for the one it joined before running on its own. */
  readonly maxWaitMs: number;
  /** Called for every request answered with another's response. */
  readonly onShared?: () => void;
}

/**
 * The client-request half, as an Apollo Server plugin: the first of identical queries in flight runs; the others
 * wait in `responseForOperation` and answer with its formatted response (status and headers included), skipping
 * planning and execution. Mutations close everything in flight when they start and when they end.
 */
export function inboundDeduplicationPlugin(options: InboundDeduplicationOptions): ApolloServerPlugin<BaseContext> {
  const { requests } = options;
  const keyOf = (context: GraphQLRequestContext<BaseContext>): string => {
    const headers = context.request.http?.headers;
    let key = `inbound\u0000${context.queryHash}\u0000${context.request.operationName ?? ''}\u0000${JSON.stringify(context.request.variables ?? {})}`;
    for (const name of options.forwardHeaders) key += `\u0000${headers?.get(name) ?? ''}`;
    return key;
  };
  return {
    async requestDidStart() {
      let settle: ((response: SharedResponse | null) => void) | undefined;
      let isMutation = false;
      return {
        async didResolveOperation(context) {
          if (context.operation?.operation !== 'query') {
            isMutation = context.operation?.operation === 'mutation';
            if (isMutation) requests.closeAll();
          }
        },
        async responseForOperation(context): Promise<GraphQLResponse | null> {
          if (context.operation?.operation !== 'query') return null;
          const key = keyOf(context);
          const inFlight = requests.join<SharedResponse | null>(key);
          if (!inFlight) {
            requests.lead(
              key,
              new Promise<SharedResponse | null>((resolve) => {
                // Should this request never reach willSendResponse, its followers run on their own after the wait.
                const expire = setTimeout(() => resolve(null), options.maxWaitMs);
                settle = (response) => {
                  clearTimeout(expire);
                  resolve(response);
                };
              }),
            );
            return null;
          }
          let timer: NodeJS.Timeout | undefined;
          const shared = await Promise.race([inFlight, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), options.maxWaitMs)))]);
          clearTimeout(timer);
          if (!shared) return null;
          options.onShared?.();
          return { http: { status: shared.status, headers: new HeaderMap(shared.headers) }, body: shared.body };
        },
        async willSendResponse(context) {
          if (isMutation) requests.closeAll();
          if (!settle) return;
          const { body, http } = context.response;
          // Only a complete response can be replayed; incremental delivery is left to each request.
          settle(body.kind === 'single' ? { status: http.status, headers: [...http.headers], body } : null);
          settle = undefined;
        },
      };
    },
  };
}

/**
 * Apollo Server's `stringifyResult`, serializing a shared response once: requests answered with another's
 * response share its result objects, and Apollo Server would otherwise serialize the same (often large) data
 * again for every one of them. The text is kept per `data` object, and reused only when the errors and
 * extensions beside it are the very same objects too. The output is Apollo Server's own: JSON and a newline.
 */
export function sharedResultStringifier(): (result: { data?: unknown; errors?: unknown; extensions?: unknown }) => string {
  const texts = new WeakMap<object, { errors: unknown; extensions: unknown; text: string }>();
  return (result) => {
    const data = result.data;
    const key = typeof data === 'object' && data !== null ? data : undefined;
    const cached = key && texts.get(key);
    if (cached && cached.errors === result.errors && cached.extensions === result.extensions) return cached.text;
    const text = `${JSON.stringify(result)}\n`;
    if (key) texts.set(key, { errors: result.errors, extensions: result.extensions, text });
    return text;
  };
}
