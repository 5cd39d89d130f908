/**
 * The gateway's subscriptions to subgraphs, over graphql-ws. Identical upstream subscriptions — same subgraph,
 * same operation and variables, same forwarded authorization — share one upstream, as in Apollo Router; each
 * gateway client still gets its own hydration. An upstream whose socket drops is reconnected with capped
 * exponential backoff and re-subscribed, and the clients keep their subscriptions meanwhile.
 */
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { PRINCIPAL_HEADER } from '../guards/principalForwarding.js';

export interface UpstreamEvent {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: ReadonlyArray<{ message: string; path?: ReadonlyArray<string | number>; extensions?: Record<string, unknown> }>;
}

export interface UpstreamListener {
  next(event: UpstreamEvent): void;
  /** The upstream ended for good (the subgraph completed it, or refused it). */
  end(error?: { message: string; code: string }): void;
}

export interface UpstreamRequest {
  readonly serviceName: string;
  /** The subgraph's GraphQL endpoint (http:// or https://); the WebSocket URL is derived from it. */
  readonly url: string;
  readonly query: string;
  readonly operationName?: string | undefined;
  readonly variables: Record<string, unknown>;
  /** Forwarded to the subgraph as connectionParams.authorization, and part of the sharing key. */
  readonly authorization?: string | undefined;
  /**
   * The subscriber's `psgraph-principal`, made afresh at each (re)connection (tokens are short-lived). Subscribers
   * with one authorization have one principal, so it is not part of the key.
   */
  readonly principal?: (() => Promise<string | undefined>) | undefined;
}

export interface UpstreamSubscriptionsOptions {
  /** Share identical upstream subscriptions. @default true */
  readonly deduplicate?: boolean;
  /** graphql-ws keep-alive ping interval towards subgraphs. @default 10000 */
  readonly keepAliveMs?: number;
  /** Reconnect backoff: first wait and cap, with full jitter. @default 250 / 10000 */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

interface SharedUpstream {
  readonly listeners: Set<UpstreamListener>;
  readonly unsubscribe: () => void;
}

export interface UpstreamStats {
  /** Subscriptions open towards subgraphs. */
  readonly upstreams: number;
  /** Client subscriptions attached to them. */
  readonly listeners: number;
  /** graphql-ws connections to subgraphs (one per subgraph and authorization). */
  readonly connections: number;
}

export class UpstreamSubscriptions {
  private readonly shared = new Map<string, SharedUpstream>();
  private readonly clients = new Map<string, { client: Client; subscriptions: number; connected: boolean }>();
  private sequence = 0;

  constructor(private readonly options: UpstreamSubscriptionsOptions = {}) {}

  /** Attaches a listener to the upstream for `request`, opening it if needed; returns the detach function. */
  attach(request: UpstreamRequest, listener: UpstreamListener): () => void {
    const key = this.options.deduplicate === false ? `unique:${++this.sequence}` : sharingKey(request);
    let upstream = this.shared.get(key);
    if (!upstream) {
      const listeners = new Set<UpstreamListener>();
      const unsubscribe = this.open(request, {
        next: (event) => {
          for (const each of listeners) each.next(event);
        },
        end: (error) => {
          this.shared.delete(key);
          for (const each of [...listeners]) each.end(error);
          listeners.clear();
        },
      });
      upstream = { listeners, unsubscribe };
      this.shared.set(key, upstream);
    }
    const current = upstream;
    current.listeners.add(listener);
    return () => {
      if (!current.listeners.delete(listener) || current.listeners.size > 0) return;
      // The last client left: close the upstream (and, via the lazy client, its socket).
      if (this.shared.get(key) === current) this.shared.delete(key);
      current.unsubscribe();
    };
  }

  stats(): UpstreamStats {
    let listeners = 0;
    for (const upstream of this.shared.values()) listeners += upstream.listeners.size;
    return { upstreams: this.shared.size, listeners, connections: [...this.clients.values()].filter((entry) => entry.connected).length };
  }

  /** Ends every upstream (clients are told with `error`) and closes every connection. */
  async close(error?: { message: string; code: string }): Promise<void> {
    for (const [key, upstream] of [...this.shared]) {
      this.shared.delete(key);
      upstream.unsubscribe();
      for (const listener of upstream.listeners) listener.end(error);
    }
    await Promise.all([...this.clients.values()].map((entry) => disposeQuietly(entry.client)));
    this.clients.clear();
  }

  private open(request: UpstreamRequest, listener: UpstreamListener): () => void {
    const clientKey = `${request.serviceName}\u0000${request.url}\u0000${request.authorization ?? ''}`;
    let entry = this.clients.get(clientKey);
    if (!entry) {
      const base = this.options.retryBaseMs ?? 250;
      const cap = this.options.retryMaxMs ?? 10_000;
      const created = { client: undefined as unknown as Client, subscriptions: 0, connected: false };
      created.client = createClient({
        url: request.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: async () => {
          const principal = await request.principal?.();
          return { ...(request.authorization ? { authorization: request.authorization } : {}), ...(principal ? { [PRINCIPAL_HEADER]: principal } : {}) };
        },
        lazy: true,
        lazyCloseTimeout: 0,
        keepAlive: this.options.keepAliveMs ?? 10_000,
        retryAttempts: Number.POSITIVE_INFINITY,
        // Any lost connection is worth retrying: the subgraph restarts, a replica moves. Fatal protocol close
        // codes (4400, 4401, 4406, 4409, 4429, 4500) are still fatal inside graphql-ws.
        shouldRetry: () => true,
        retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(cap, base * 2 ** retries)).unref()),
        on: {
          connected: () => {
            created.connected = true;
          },
          closed: () => {
            created.connected = false;
          },
        },
      });
      entry = created;
      this.clients.set(clientKey, created);
    }
    const owner = entry;
    owner.subscriptions++;
    let ended = false;
    const unsubscribe = owner.client.subscribe(
      { query: request.query, variables: request.variables, ...(request.operationName ? { operationName: request.operationName } : {}) },
      {
        next: (value) => listener.next(value as UpstreamEvent),
        error: (error) => {
          if (ended) return;
          ended = true;
          release();
          listener.end(describeUpstreamError(request.serviceName, error));
        },
        complete: () => {
          if (ended) return;
          ended = true;
          release();
          listener.end();
        },
      },
    );
    const release = () => {
      owner.subscriptions--;
      if (owner.subscriptions === 0 && this.clients.get(clientKey) === owner) {
        this.clients.delete(clientKey);
        void disposeQuietly(owner.client);
      }
    };
    return () => {
      if (ended) return;
      ended = true;
      unsubscribe();
      release();
    };
  }
}

/**
 * graphql-ws's dispose awaits the connection attempt in progress and rethrows its failure (e.g. the subgraph
 * closing the socket as it shuts down): at that point the connection is gone either way.
 */
async function disposeQuietly(client: Client): Promise<void> {
  try {
    await client.dispose();
  } catch {
    // already closed
  }
}

function sharingKey(request: UpstreamRequest): string {
  return JSON.stringify([request.serviceName, request.url, request.query, request.operationName ?? null, request.variables, request.authorization ?? null]);
}

/** A subgraph's refusal keeps its own message and code (e.g. BAD_USER_INPUT); a transport failure gets one. */
function describeUpstreamError(serviceName: string, error: unknown): { message: string; code: string } {
  if (Array.isArray(error) && error.length > 0) {
    const first = error[0] as { message?: string; extensions?: { code?: unknown } };
    return { message: first.message ?? 'Subscription refused.', code: typeof first.extensions?.code === 'string' ? first.extensions.code : 'BAD_USER_INPUT' };
  }
  if (error && typeof error === 'object' && 'code' in error && 'reason' in error) {
    const close = error as { code: number; reason: string };
    return {
      message: `Subgraph "${serviceName}" closed the subscription (${close.code}${close.reason ? ` ${close.reason}` : ''}).`,
      code: 'SUBGRAPH_UNAVAILABLE',
    };
  }
  return { message: `Subgraph "${serviceName}" subscription failed: ${(error as Error)?.message ?? String(error)}`, code: 'SUBGRAPH_UNAVAILABLE' };
}
