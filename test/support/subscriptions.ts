/**
 * A graphql-ws client for tests, as an app developer would use it, with helpers to wait for events.
 */
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface CollectedSubscription<T = any> {
  readonly results: Array<{ data?: T; errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }> }>;
  /** Resolves once `count` results have arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<CollectedSubscription<T>['results']>;
  readonly completed: Promise<unknown>;
  unsubscribe(): void;
}

export function wsClient(gatewayUrl: string, connectionParams: Record<string, unknown> = {}): Client {
  return createClient({ url: gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams, lazy: true, retryAttempts: 0 });
}

export function collect<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}): CollectedSubscription<T> {
  const results: CollectedSubscription<T>['results'] = [];
  const waiters = new Set<() => void>();
  let finish: (value: unknown) => void = () => {};
  const completed = new Promise((resolve) => (finish = resolve));
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        results.push(value as never);
        for (const waiter of waiters) waiter();
      },
      error: (error) => finish({ error }),
      complete: () => finish({ complete: true }),
    },
  );
  return {
    results,
    completed,
    unsubscribe,
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (results.length >= count) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(results);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`waited ${timeoutMs} ms for ${count} results, got ${results.length}: ${JSON.stringify(results)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** Polls `condition` every 10 ms until it holds (rejects after `timeoutMs`). */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
