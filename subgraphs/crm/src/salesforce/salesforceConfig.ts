/**
 * The Salesforce adapter's settings, from the environment (secrets also from files: `<NAME>_FILE`), validated at
 * start-up. docs/vendors/salesforce.md says what to create in the org for each.
 */
import { ConfigError, readNumber } from '../../../platform/src/config.js';
import { type Secret, readSecret } from '../../../platform/src/vendor/secrets.js';

export interface SalesforceConfig {
  /** Where psgraph asks for its token: the org's My Domain or login URL, also the JWT's audience. @default https://login.salesforce.com (PSGRAPH_SALESFORCE_LOGIN_URL) */
  readonly loginUrl: string;
  /** The REST API version psgraph calls. @default 62.0 (PSGRAPH_SALESFORCE_API_VERSION) */
  readonly apiVersion: string;
  /** How psgraph authenticates: `jwt` (OAuth 2.0 JWT bearer flow) or `client_credentials`. @default jwt (PSGRAPH_SALESFORCE_AUTH_FLOW) */
  readonly authFlow: 'jwt' | 'client_credentials';
  /** The connected app's consumer key. (PSGRAPH_SALESFORCE_CLIENT_ID) */
  readonly clientId: string;
  /** The integration user the JWT names (JWT bearer flow). (PSGRAPH_SALESFORCE_USERNAME) */
  readonly username?: string;
  /** The PEM private key of the connected app's certificate (JWT bearer flow; or PSGRAPH_SALESFORCE_PRIVATE_KEY_FILE). (PSGRAPH_SALESFORCE_PRIVATE_KEY) */
  readonly privateKey?: Secret;
  /** The connected app's consumer secret (client credentials flow; or PSGRAPH_SALESFORCE_CLIENT_SECRET_FILE). (PSGRAPH_SALESFORCE_CLIENT_SECRET) */
  readonly clientSecret?: Secret;
  /** API calls in flight at once (Salesforce limits long-running concurrent requests per org). @default 4 (PSGRAPH_SALESFORCE_MAX_CONCURRENCY) */
  readonly maxConcurrency: number;
  /** Deadline of one API call. @default 20000 (PSGRAPH_SALESFORCE_TIMEOUT_MS) */
  readonly timeoutMs: number;
  /** How often changed opportunities are polled (by SystemModstamp) for won and reopened deals. @default 10000 (PSGRAPH_SALESFORCE_POLL_INTERVAL_MS) */
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

export function loadSalesforceConfig(env: NodeJS.ProcessEnv = process.env): SalesforceConfig {
  const authFlow = env['PSGRAPH_SALESFORCE_AUTH_FLOW'] || 'jwt';
  if (authFlow !== 'jwt' && authFlow !== 'client_credentials') {
    throw new ConfigError(`PSGRAPH_SALESFORCE_AUTH_FLOW=${authFlow} is not a flow psgraph supports: expected jwt or client_credentials.`);
  }
  const clientId = env['PSGRAPH_SALESFORCE_CLIENT_ID'];
  if (!clientId) throw new ConfigError("PSGRAPH_SALESFORCE_CLIENT_ID is not set: it is the connected app's consumer key.");
  const apiVersion = env['PSGRAPH_SALESFORCE_API_VERSION'] || '62.0';
  if (!/^\d{2}\.0$/.test(apiVersion)) throw new ConfigError(`PSGRAPH_SALESFORCE_API_VERSION=${apiVersion} is not an API version: expected e.g. 62.0.`);
  const privateKey = readSecret(env, 'PSGRAPH_SALESFORCE_PRIVATE_KEY');
  const clientSecret = readSecret(env, 'PSGRAPH_SALESFORCE_CLIENT_SECRET');
  const username = env['PSGRAPH_SALESFORCE_USERNAME'];
  if (authFlow === 'jwt' && (!privateKey || !username)) {
    throw new ConfigError('The JWT bearer flow needs PSGRAPH_SALESFORCE_USERNAME and PSGRAPH_SALESFORCE_PRIVATE_KEY (or PSGRAPH_SALESFORCE_PRIVATE_KEY_FILE).');
  }
  if (authFlow === 'client_credentials' && !clientSecret) {
    throw new ConfigError('The client credentials flow needs PSGRAPH_SALESFORCE_CLIENT_SECRET (or PSGRAPH_SALESFORCE_CLIENT_SECRET_FILE).');
  }
  return {
    loginUrl: readUrl(env, 'PSGRAPH_SALESFORCE_LOGIN_URL', 'https://login.salesforce.com'),
    apiVersion,
    authFlow,
    clientId,
    ...(username ? { username } : {}),
    ...(privateKey ? { privateKey } : {}),
    ...(clientSecret ? { clientSecret } : {}),
    maxConcurrency: readNumber(env, 'PSGRAPH_SALESFORCE_MAX_CONCURRENCY', 4, 1, 25),
    timeoutMs: readNumber(env, 'PSGRAPH_SALESFORCE_TIMEOUT_MS', 20_000, 100, 300_000),
    pollIntervalMs: readNumber(env, 'PSGRAPH_SALESFORCE_POLL_INTERVAL_MS', 10_000, 50, 3_600_000),
  };
}
