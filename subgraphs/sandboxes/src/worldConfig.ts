/**
 * The sandbox systems' own setting: the deterministic world they seed from, read from the environment and
 * validated at start-up. It is used only when a sandbox store is first created.
 */
import { ConfigError, readNumber } from '../../platform/src/config.js';
import { isIsoDate } from '../../platform/src/values/dates.js';
import type { PrincipalVerificationOptions } from '../../platform/src/security/principalTokens.js';
import { DEFAULT_WORLD_OPTIONS, type WorldOptions } from './world/world.js';

/** What a sandbox system needs besides the service's own options: where its store lives and what to seed. */
export interface SandboxOptions {
  /** Folder of the SQLite files. @default ./data (PSGRAPH_DATA_DIR) */
  readonly dataDir: string;
  /** Seed of the sandbox world (PSGRAPH_SEED_SCALE, PSGRAPH_SEED, PSGRAPH_SEED_AS_OF). */
  readonly world: WorldOptions;
}

/** What a system subgraph over its sandbox is built from. */
export interface SandboxSubgraphOptions extends SandboxOptions {
  /** Hides unexpected error messages. @default NODE_ENV === 'production' */
  readonly production: boolean;
  /** How callers are verified (the gateway's and the process layer's signed principals). @default none required */
  readonly principals?: PrincipalVerificationOptions;
}

export function loadWorldOptions(env: NodeJS.ProcessEnv = process.env): WorldOptions {
  const asOf = env['PSGRAPH_SEED_AS_OF'] || DEFAULT_WORLD_OPTIONS.asOf;
  if (!isIsoDate(asOf)) throw new ConfigError(`PSGRAPH_SEED_AS_OF=${asOf} is not a date: expected YYYY-MM-DD.`);
  return {
    scale: readNumber(env, 'PSGRAPH_SEED_SCALE', DEFAULT_WORLD_OPTIONS.scale, 0.01, 50),
    seed: readNumber(env, 'PSGRAPH_SEED', DEFAULT_WORLD_OPTIONS.seed, 0, 2 ** 32 - 1),
    asOf,
  };
}
