/**
 * Helpers for subgraph unit tests: a fresh temporary data directory per suite, and a GraphQL call against a
 * built (not listening) subgraph through Apollo Server's executeOperation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SubgraphService, parseMetrics } from '../src/index.js';

export function temporaryDataDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `psgraph-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T | null;
  errors?: ReadonlyArray<{ message: string; path?: ReadonlyArray<string | number>; extensions?: Record<string, unknown> }>;
}

/** Runs an operation through the subgraph's Apollo Server (no HTTP), with a fresh request context. */
export async function execute<T = Record<string, any>>(
  service: SubgraphService,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResponse<T>> {
  const response = await service.apollo.executeOperation({ query, variables }, { contextValue: service.createContext() as never });
  if (response.body.kind !== 'single') throw new Error('unexpected incremental response');
  return response.body.singleResult as GraphQLResponse<T>;
}

/** SQL statements the subgraph's store has executed so far, as its /metrics reports them (sandbox adapters). */
export async function sqlStatements(service: SubgraphService): Promise<number> {
  return parseMetrics(await service.metrics.render()).get('psgraph_sql_statements_total') ?? 0;
}

/** Retries an expectation until it holds or `timeoutMs` passes (events cross a bus, consumers run on their own). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
