/**
 * Composes the supergraph described by a Rover supergraph config (`rover.yaml`) with @apollo/composition, the
 * library Rover's own `supergraph` plugin runs, so the output matches `rover supergraph compose`.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { parse as parseYaml } from 'yaml';

export interface SupergraphConfigSubgraph {
  readonly name: string;
  readonly routingUrl: string;
  readonly schemaFile: string;
}

export interface SupergraphConfig {
  readonly federationVersion: string;
  readonly subgraphs: readonly SupergraphConfigSubgraph[];
}

/** The federation version psgraph composes with: the exact version of @apollo/composition installed. */
export const FEDERATION_VERSION = '2.14.4';

export async function readSupergraphConfig(configPath: string): Promise<SupergraphConfig> {
  const raw: unknown = parseYaml(await readFile(configPath, 'utf8'));
  if (typeof raw !== 'object' || raw === null) throw new Error(`${configPath}: expected a YAML mapping`);
  const { federation_version: federationVersion, subgraphs } = raw as Record<string, unknown>;
  if (typeof federationVersion !== 'string') throw new Error(`${configPath}: federation_version is required, e.g. "=${FEDERATION_VERSION}"`);
  if (federationVersion.replace(/^=/, '') !== FEDERATION_VERSION) {
    throw new Error(`${configPath}: federation_version ${federationVersion} differs from the installed @apollo/composition ${FEDERATION_VERSION}`);
  }
  if (typeof subgraphs !== 'object' || subgraphs === null) throw new Error(`${configPath}: subgraphs is required`);
  const base = dirname(resolve(configPath));
  return {
    federationVersion,
    subgraphs: Object.entries(subgraphs as Record<string, Record<string, unknown>>).map(([name, entry]) => {
      const schema = entry['schema'] as Record<string, unknown> | undefined;
      if (typeof entry['routing_url'] !== 'string') throw new Error(`${configPath}: subgraphs.${name}.routing_url is required`);
      if (typeof schema?.['file'] !== 'string') throw new Error(`${configPath}: subgraphs.${name}.schema.file is required (psgraph composes from files only)`);
      return { name, routingUrl: entry['routing_url'], schemaFile: resolve(base, schema['file']) };
    }),
  };
}

export type ComposeOutcome = { readonly supergraphSdl: string } | { readonly errors: readonly string[] };

export async function composeSupergraph(config: SupergraphConfig): Promise<ComposeOutcome> {
  const services = await Promise.all(
    config.subgraphs.map(async (subgraph) => ({
      name: subgraph.name,
      url: subgraph.routingUrl,
      typeDefs: parse(await readFile(subgraph.schemaFile, 'utf8')),
    })),
  );
  const result = composeServices(services);
  if (result.errors) return { errors: result.errors.map((error) => `${error.extensions?.['code'] ?? 'ERROR'}: ${error.message}`) };
  return { supergraphSdl: `${result.supergraphSdl.trimEnd()}\n` };
}
