import { readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { composeSupergraph, readSupergraphConfig } from '../composeSupergraph.js';

const roverYaml = fileURLToPath(new URL('../../rover.yaml', import.meta.url));
const committed = fileURLToPath(new URL('../supergraph.graphql', import.meta.url));

describe('composing rover.yaml', () => {
  it('reproduces the committed supergraph exactly', async () => {
    const outcome = await composeSupergraph(await readSupergraphConfig(roverYaml));
    expect('supergraphSdl' in outcome && outcome.supergraphSdl).toBe(await readFile(committed, 'utf8'));
  });

  it('routes each subgraph to its rover.yaml URL', async () => {
    const sdl = await readFile(committed, 'utf8');
    for (const [name, port] of [
      ['CRM', 4001],
      ['PSA', 4002],
      ['ERP', 4003],
      ['BILLING', 4004],
    ] as const) {
      expect(sdl).toContain(`${name} @join__graph(name: "${name.toLowerCase()}", url: "http://127.0.0.1:${port}/graphql")`);
    }
  });

  it('reports composition errors with their codes instead of writing a supergraph', async () => {
    const config = await readSupergraphConfig(roverYaml);
    const crm = config.subgraphs.find((s) => s.name === 'crm')!;
    const broken = `${crm.schemaFile}.broken.graphql`;
    // Two subgraphs resolving the same non-shareable field is a classic composition error.
    await writeFile(
      broken,
      (await readFile(crm.schemaFile, 'utf8')).replace(
        'type Project @key(fields: "id") {\n  id: ID!',
        'type Project @key(fields: "id") {\n  id: ID!\n  name: String!',
      ),
    );
    try {
      const outcome = await composeSupergraph({ ...config, subgraphs: config.subgraphs.map((s) => (s.name === 'crm' ? { ...s, schemaFile: broken } : s)) });
      expect('errors' in outcome && outcome.errors.some((error) => error.startsWith('INVALID_FIELD_SHARING'))).toBe(true);
    } finally {
      await rm(broken, { force: true });
    }
  });

  it('refuses a federation version other than the installed composition', async () => {
    const yaml = `${roverYaml}.other.yaml`;
    await writeFile(yaml, (await readFile(roverYaml, 'utf8')).replace('=2.14.4', '=2.9.0'));
    try {
      await expect(readSupergraphConfig(yaml)).rejects.toThrow('federation_version =2.9.0 differs from the installed @apollo/composition 2.14.4');
    } finally {
      await rm(yaml, { force: true });
    }
  });
});
