/**
 * The Kantata adapter's settings, from the environment (the token also from a file: `<NAME>_FILE`), validated at
 * start-up. docs/vendors/kantata.md says what to set up in the Kantata account for each.
 */
import { ConfigError, readNumber } from '../../../platform/src/config.js';
import { type Secret, requireSecret } from '../../../platform/src/vendor/secrets.js';

export interface KantataConfig {
  /** The Kantata OX REST API v1 base URL. @default https://api.mavenlink.com/api/v1 (PSGRAPH_KANTATA_API_URL) */
  readonly apiUrl: string;
  /** The integration user's OAuth 2.0 bearer token (Kantata's tokens do not expire; or PSGRAPH_KANTATA_ACCESS_TOKEN_FILE). (PSGRAPH_KANTATA_ACCESS_TOKEN) */
  readonly accessToken: Secret;
  /** The `service_name` of the external references psgraph keeps on workspaces (the canonical project ID). @default psgraph (PSGRAPH_KANTATA_SERVICE_NAME) */
  readonly serviceName: string;
  /** API calls in flight at once. @default 4 (PSGRAPH_KANTATA_MAX_CONCURRENCY) */
  readonly maxConcurrency: number;
  /** Deadline of one API call (Kantata itself gives up after 3 minutes). @default 30000 (PSGRAPH_KANTATA_TIMEOUT_MS) */
  readonly timeoutMs: number;
  /** How often changed records are polled (by `updated_at`) into the local replica and the outbox. @default 15000 (PSGRAPH_KANTATA_POLL_INTERVAL_MS) */
  readonly pollIntervalMs: number;
}

function readUrl(env: NodeJS.ProcessEnv, variable: string, fallback: string): string {
  const value = env[variable] || fallback;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${variable}=${value} is not a URL: expected e.g. ${fallback}.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${variable}=${value} is not an http(s) URL.`);
  return value.replace(/\/+$/, '');
}

export function loadKantataConfig(env: NodeJS.ProcessEnv = process.env): KantataConfig {
  const serviceName = env['PSGRAPH_KANTATA_SERVICE_NAME'] || 'psgraph';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(serviceName)) {
    throw new ConfigError(`PSGRAPH_KANTATA_SERVICE_NAME=${serviceName} is not a service name: letters, digits, '_', '.' or '-', at most 64.`);
  }
  return {
    apiUrl: readUrl(env, 'PSGRAPH_KANTATA_API_URL', 'https://api.mavenlink.com/api/v1'),
    accessToken: requireSecret(env, 'PSGRAPH_KANTATA_ACCESS_TOKEN', "the Kantata integration user's OAuth 2.0 access token"),
    serviceName,
    maxConcurrency: readNumber(env, 'PSGRAPH_KANTATA_MAX_CONCURRENCY', 4, 1, 20),
    timeoutMs: readNumber(env, 'PSGRAPH_KANTATA_TIMEOUT_MS', 30_000, 100, 180_000),
    pollIntervalMs: readNumber(env, 'PSGRAPH_KANTATA_POLL_INTERVAL_MS', 15_000, 50, 3_600_000),
  };
}
