import { readFile, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph, readSupergraphConfig } from '../../supergraph/composeSupergraph.js';
import { PORTFOLIO_QUERY } from '../support/queries.js';
import { type Stack, startStack } from '../support/stack.js';

const roverYaml = fileURLToPath(new URL('../../rover.yaml', import.meta.url));

/** The committed supergraph with one more (documented) query field in CRM: a visible, harmless change. */
async function supergraphWithProbeField(): Promise<string> {
  const config = await readSupergraphConfig(roverYaml);
  const crm = config.subgraphs.find((subgraph) => subgraph.name === 'crm')!;
  const probeSchema = `${crm.schemaFile}.probe.graphql`;
  const sdl = (await readFile(crm.schemaFile, 'utf8')).replace('type Query {', 'type Query {\n  "Added by the reload test."\n  reloadProbe: String');
  await writeFile(probeSchema, sdl);
  try {
    const outcome = await composeSupergraph({ ...config, subgraphs: config.subgraphs.map((s) => (s.name === 'crm' ? { ...s, schemaFile: probeSchema } : s)) });
    if ('errors' in outcome) throw new Error(outcome.errors.join('\n'));
    return outcome.supergraphSdl;
  } finally {
    await import('node:fs/promises').then((fs) => fs.rm(probeSchema, { force: true }));
  }
}

async function replaceAtomically(path: string, content: string): Promise<void> {
  await writeFile(`${path}.next`, content);
  await rename(`${path}.next`, path);
}

const hasProbeField = async (stack: Stack) => {
  const { body } = await stack.query(`{ __type(name: "Query") { fields { name } } }`);
  return body.data.__type.fields.some((field: { name: string }) => field.name === 'reloadProbe');
};

describe('replacing the supergraph file while requests are in flight', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it('reloads without a restart, and every request in flight completes with full data', async () => {
    const next = await supergraphWithProbeField();
    expect(await hasProbeField(stack)).toBe(false);
    const reloadsBefore = stack.gateway.supergraph.reloads;

    // Keep 8 portfolio pages in flight at all times until the reload has happened and a few more after it.
    const outcomes: Array<{ status: number; errors: number; nodes: number }> = [];
    let reloadedAt = -1;
    const worker = async (offset: number) => {
      while (reloadedAt < 0 || outcomes.length < reloadedAt + 16) {
        const { status, body } = await stack.query(PORTFOLIO_QUERY, {
          first: 10,
          filter: { region: [['NORTH_AMERICA', 'EUROPE', 'APAC', 'UK_IRELAND'][offset % 4]] },
        });
        outcomes.push({ status, errors: body.errors?.length ?? 0, nodes: body.data?.projects?.nodes?.length ?? 0 });
      }
    };
    const workers = Array.from({ length: 8 }, (_, i) => worker(i));
    while (outcomes.length < 8) await new Promise((resolve) => setTimeout(resolve, 5));
    await replaceAtomically(stack.supergraphPath, next);
    while (stack.gateway.supergraph.reloads === reloadsBefore) await new Promise((resolve) => setTimeout(resolve, 10));
    reloadedAt = outcomes.length;
    await Promise.all(workers);

    expect(stack.gateway.supergraph.reloads).toBe(reloadsBefore + 1);
    expect(outcomes.length).toBeGreaterThan(reloadedAt);
    expect(outcomes.filter((o) => o.status !== 200 || o.errors > 0 || o.nodes !== 10)).toEqual([]);
    expect(await hasProbeField(stack)).toBe(true);
  });

  it('keeps serving the previous supergraph when the new file does not load, and says why on /ready', async () => {
    const reloadsBefore = stack.gateway.supergraph.reloads;
    await replaceAtomically(stack.supergraphPath, 'schema { query: Query } type Query { broken: Strin }');
    const deadline = Date.now() + 5_000;
    while (stack.gateway.supergraph.lastError === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(stack.gateway.supergraph.lastError).toEqual(expect.any(String));
    expect(stack.gateway.supergraph.reloads).toBe(reloadsBefore);
    const { status, body } = await stack.query(`{ projects(first: 1) { totalCount } }`);
    expect(status).toBe(200);
    expect(body.data.projects.totalCount).toBeGreaterThan(0);
    const ready = (await (await fetch(`${stack.baseUrl}/ready`)).json()) as { supergraph: { lastError: string | null } };
    expect(ready.supergraph.lastError).toBe(stack.gateway.supergraph.lastError);
  });
});
