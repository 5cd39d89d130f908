/**
 * The options every psgraph service reads from its environment, validated at start-up: a wrong setting stops
 * the service with a message naming the variable and what would be valid. A sandbox system's own options (the
 * seeded world) are the sandboxes' (`subgraphs/sandboxes/src/worldConfig.ts`).
 */
import { resolve } from 'node:path';
import { ConfigError } from './configError.js';
import { type PrincipalVerificationOptions, loadPrincipalVerificationOptions } from './security/principalTokens.js';

export interface SubgraphConfig {
  /** The interface every service listens on. @default 127.0.0.1 (PSGRAPH_HOST) */
  readonly host: string;
  /** The port of each subgraph service. @default 4001 crm, 4002 psa, 4003 erp, 4004 billing, 4005 activation (PSGRAPH_<NAME>_PORT) */
  readonly port: number;
  /** Folder of the SQLite files: the sandbox stores, the activation store and the embedded event log. @default ./data (PSGRAPH_DATA_DIR) */
  readonly dataDir: string;
  /** `production` hides unexpected error messages and stack traces (and turns introspection off at the gateway). @default unset (NODE_ENV) */
  readonly production: boolean;
  /** How each request's principal is verified (see the principal settings); none: development, none required. */
  readonly principals?: PrincipalVerificationOptions;
}

export const DEFAULT_PORTS = { crm: 4001, psa: 4002, erp: 4003, billing: 4004, activation: 4005 } as const;
/** The system subgraphs, each over one system of record. */
export type SystemName = Exclude<ServiceName, 'activation'>;
/** Every subgraph service: the four systems and the activation process. */
export type ServiceName = keyof typeof DEFAULT_PORTS;

export { ConfigError } from './configError.js';

export function readPort(env: NodeJS.ProcessEnv, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError(`${variable}=${raw} is not a port: expected an integer from 0 to 65535.`);
  return port;
}

export function readNumber(env: NodeJS.ProcessEnv, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new ConfigError(`${variable}=${raw} is out of range: expected a number from ${min} to ${max}.`);
  return value;
}

export function loadSubgraphConfig(name: ServiceName, env: NodeJS.ProcessEnv = process.env): SubgraphConfig {
  return {
    host: env['PSGRAPH_HOST'] || '127.0.0.1',
    port: readPort(env, `PSGRAPH_${name.toUpperCase()}_PORT`, DEFAULT_PORTS[name]),
    dataDir: resolve(env['PSGRAPH_DATA_DIR'] || 'data'),
    production: env['NODE_ENV'] === 'production',
    principals: loadPrincipalVerificationOptions(env),
  };
}

/** One of a fixed set of values, e.g. which system a subgraph runs over. */
export function readChoice<Choice extends string>(env: NodeJS.ProcessEnv, variable: string, choices: readonly Choice[], fallback: Choice): Choice {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new ConfigError(`${variable}=${raw} is not one psgraph knows: expected ${choices.join(' or ')}.`);
  return raw as Choice;
}
