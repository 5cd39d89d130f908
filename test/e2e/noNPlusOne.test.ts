import { readFileSync } from 'node:fs';
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { type PlanNode, QueryPlanner } from '@apollo/query-planner';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SUPERGRAPH_PATH } from '../../gateway/src/gatewayConfig.js';
import { parseMetrics } from '../../subgraphs/platform/src/index.js';
import { PORTFOLIO_QUERY } from '../support/queries.js';
import { SYSTEMS, type Stack, startStack } from '../support/stack.js';

/** The plan's levels: for each, the subgraphs it fetches from (a subgraph may appear several times). */
function planLevels(): string[][] {
  const supergraph = Supergraph.build(readFileSync(DEFAULT_SUPERGRAPH_PATH, 'utf8'));
  const operation = operationFromDocument(supergraph.apiSchema(), parse(PORTFOLIO_QUERY), { operationName: 'Portfolio' });
  const plan = new QueryPlanner(supergraph).buildQueryPlan(operation);
  const levels: string[][] = [];
  const walk = (node: PlanNode | undefined, level: number): number => {
    if (!node) return level;
    switch (node.kind) {
      case 'Fetch':
        (levels[level] ??= []).push(node.serviceName);
        return level + 1;
      case 'Flatten':
        return walk(node.node, level);
      case 'Sequence':
        return node.nodes.reduce((next, child) => walk(child, next), level);
      case 'Parallel':
        return Math.max(level, ...node.nodes.map((child) => walk(child, level)));
      default:
        throw new Error(`unexpected plan node ${node.kind}`);
    }
  };
  walk(plan.node as PlanNode, 0);
  return levels;
}

interface Counts {
  fetches: Record<string, number>;
  statements: Record<string, number>;
}

async function counts(stack: Stack): Promise<Counts> {
  const gateway = parseMetrics(await (await fetch(`${stack.baseUrl}/metrics`)).text());
  const fetches: Record<string, number> = {};
  const statements: Record<string, number> = {};
  for (const name of SYSTEMS) {
    fetches[name] = gateway.get(`psgraph_subgraph_fetches_total{subgraph="${name}",outcome="ok"}`) ?? 0;
    const own = parseMetrics(await (await fetch(stack.subgraphs[name].url.replace(/\/graphql$/, '/metrics'))).text());
    statements[name] = own.get('psgraph_sql_statements_total') ?? 0;
  }
  return { fetches, statements };
}

const delta = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.keys(after).map((key) => [key, after[key]! - before[key]!]));

describe('the portfolio query selecting every field of the unified view', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  async function measure(pageSize: number) {
    const before = await counts(stack);
    const { status, body } = await stack.query(PORTFOLIO_QUERY, { first: pageSize, filter: { status: ['ACTIVE'] } });
    const after = await counts(stack);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.projects.nodes).toHaveLength(pageSize);
    return { fetches: delta(after.fetches, before.fetches), statements: delta(after.statements, before.statements) };
  }

  it('makes at most one fetch per subgraph per plan level, for 5 projects and for 50', async () => {
    const levels = planLevels();
    const expected: Record<string, number> = Object.fromEntries(SYSTEMS.map((name) => [name, levels.filter((level) => level.includes(name)).length]));
    expect(expected).toEqual({ crm: 1, psa: 1, erp: 1, billing: 1 });
    expect((await measure(5)).fetches).toEqual(expected);
    expect((await measure(50)).fetches).toEqual(expected);
  });

  it('runs the same number of SQL statements in every subgraph for 50 projects as for 5', async () => {
    const five = await measure(5);
    const fifty = await measure(50);
    expect(fifty.statements).toEqual(five.statements);
    // And the number is small: a handful per subgraph, not one per project.
    for (const name of SYSTEMS) expect(five.statements[name]).toBeLessThanOrEqual(16);
  });
});
