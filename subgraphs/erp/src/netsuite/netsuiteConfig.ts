/**
 * The NetSuite adapter's settings, from the environment (secrets also from files: `<NAME>_FILE`), validated at
 * start-up. docs/vendors/netsuite.md says what to create in the account for each.
 */
import { ConfigError, readNumber } from '../../../platform/src/config.js';
import { type Secret, requireSecret } from '../../../platform/src/vendor/secrets.js';

export interface NetSuiteConfig {
  /** The NetSuite account ID, e.g. `1234567` or `1234567_SB1` for a sandbox account; it is also the OAuth realm. (PSGRAPH_NETSUITE_ACCOUNT_ID) */
  readonly accountId: string;
  /** Where SuiteTalk REST answers: the account's own domain. @default https://<account>.suitetalk.api.netsuite.com (PSGRAPH_NETSUITE_BASE_URL) */
  readonly baseUrl: string;
  /** The integration record's consumer key (token-based authentication). (PSGRAPH_NETSUITE_CONSUMER_KEY) */
  readonly consumerKey: string;
  /** The integration record's consumer secret (or PSGRAPH_NETSUITE_CONSUMER_SECRET_FILE). (PSGRAPH_NETSUITE_CONSUMER_SECRET) */
  readonly consumerSecret: Secret;
  /** The access token's ID, issued to the integration user and role (or PSGRAPH_NETSUITE_TOKEN_ID_FILE). (PSGRAPH_NETSUITE_TOKEN_ID) */
  readonly tokenId: Secret;
  /** The access token's secret (or PSGRAPH_NETSUITE_TOKEN_SECRET_FILE). (PSGRAPH_NETSUITE_TOKEN_SECRET) */
  readonly tokenSecret: Secret;
  /** Requests in flight at once: NetSuite caps simultaneous requests per account (5 on a shared tier, +10 per SuiteCloud Plus licence) and refuses the rest. @default 3 (PSGRAPH_NETSUITE_MAX_CONCURRENCY) */
  readonly maxConcurrency: number;
  /** Deadline of one API call (a grouped SuiteQL query over the ledger can take seconds). @default 30000 (PSGRAPH_NETSUITE_TIMEOUT_MS) */
  readonly timeoutMs: number;
}

/** NetSuite writes an account ID as `1234567_SB1` in the realm and `1234567-sb1` in its domain names. */
const ACCOUNT_ID = /^[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*$/;

/** The realm psgraph signs with: the account ID in upper case with `_` (`1234567_SB1`). */
export function realmOf(accountId: string): string {
  return accountId.toUpperCase().replace(/-/g, '_');
}

function readBaseUrl(env: NodeJS.ProcessEnv, accountId: string): string {
  const variable = 'PSGRAPH_NETSUITE_BASE_URL';
  const fallback = `https://${accountId.toLowerCase().replace(/_/g, '-')}.suitetalk.api.netsuite.com`;
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

export function loadNetSuiteConfig(env: NodeJS.ProcessEnv = process.env): NetSuiteConfig {
  const accountId = env['PSGRAPH_NETSUITE_ACCOUNT_ID'];
  if (!accountId) throw new ConfigError('PSGRAPH_NETSUITE_ACCOUNT_ID is not set: it is the NetSuite account ID, e.g. 1234567 or 1234567_SB1.');
  if (!ACCOUNT_ID.test(accountId))
    throw new ConfigError(`PSGRAPH_NETSUITE_ACCOUNT_ID=${accountId} is not an account ID: expected e.g. 1234567 or 1234567_SB1.`);
  const consumerKey = env['PSGRAPH_NETSUITE_CONSUMER_KEY'];
  if (!consumerKey) throw new ConfigError("PSGRAPH_NETSUITE_CONSUMER_KEY is not set: it is the integration record's consumer key.");
  return {
    accountId,
    baseUrl: readBaseUrl(env, accountId),
    consumerKey,
    consumerSecret: requireSecret(env, 'PSGRAPH_NETSUITE_CONSUMER_SECRET', "the integration record's consumer secret"),
    tokenId: requireSecret(env, 'PSGRAPH_NETSUITE_TOKEN_ID', "the access token's ID"),
    tokenSecret: requireSecret(env, 'PSGRAPH_NETSUITE_TOKEN_SECRET', "the access token's secret"),
    maxConcurrency: readNumber(env, 'PSGRAPH_NETSUITE_MAX_CONCURRENCY', 3, 1, 100),
    timeoutMs: readNumber(env, 'PSGRAPH_NETSUITE_TIMEOUT_MS', 30_000, 100, 900_000),
  };
}
