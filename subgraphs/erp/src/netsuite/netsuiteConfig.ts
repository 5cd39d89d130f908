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
  /** Internal IDs of the project statuses (Setup > Accounting > Accounting Lists > Project Status) that close a job to posting, comma-separated. @default 1 (PSGRAPH_NETSUITE_CLOSED_PROJECT_STATUSES) */
  readonly closedProjectStatuses?: readonly number[];
  /** Which of an accounting period's flags close it to delivery postings: any of closed, alllocked, aplocked, arlocked, comma-separated. @default closed,alllocked (PSGRAPH_NETSUITE_PERIOD_LOCKS) */
  readonly periodLocks?: readonly PeriodLock[];
  /** Where a job's contract rates are: a custom record and its fields, as `<record>:job=<field>,role=…,from=…,to=…,rate=…` (unnamed fields keep their default). @default customrecord_psgraph_contract_rate:job=custrecord_psgraph_cr_job,role=custrecord_psgraph_cr_role,from=custrecord_psgraph_cr_effective_from,to=custrecord_psgraph_cr_effective_to,rate=custrecord_psgraph_cr_bill_rate (PSGRAPH_NETSUITE_CONTRACT_RATES) */
  readonly contractRates?: RecordMapping<ContractRateField>;
  /** Where a job's customer purchase order is: a custom record (`<record>:job=…,number=…,expires=…,amount=…`) or the job's own fields (`job:number=…,expires=…,amount=…`). @default customrecord_psgraph_purchase_order:job=custrecord_psgraph_po_job,number=custrecord_psgraph_po_number,expires=custrecord_psgraph_po_expires,amount=custrecord_psgraph_po_amount (PSGRAPH_NETSUITE_PURCHASE_ORDERS) */
  readonly purchaseOrders?: RecordMapping<PurchaseOrderField>;
}

/** What delivery postings read of the account, each setting given or its default (settings built in code may leave them out). */
export function postingsMapping(
  config: NetSuiteConfig,
): Required<Pick<NetSuiteConfig, 'closedProjectStatuses' | 'periodLocks' | 'contractRates' | 'purchaseOrders'>> {
  return {
    closedProjectStatuses: config.closedProjectStatuses ?? [1],
    periodLocks: config.periodLocks ?? ['closed', 'alllocked'],
    contractRates: config.contractRates ?? DEFAULT_CONTRACT_RATES,
    purchaseOrders: config.purchaseOrders ?? DEFAULT_PURCHASE_ORDERS,
  };
}

export type PeriodLock = 'closed' | 'alllocked' | 'aplocked' | 'arlocked';
const PERIOD_LOCKS: readonly PeriodLock[] = ['closed', 'alllocked', 'aplocked', 'arlocked'];
export type ContractRateField = 'job' | 'role' | 'from' | 'to' | 'rate';
export type PurchaseOrderField = 'job' | 'number' | 'expires' | 'amount';

/** A firm's record for something psgraph reads (its SuiteQL table) and the field holding each value. */
export interface RecordMapping<Field extends string> {
  /** The record's ID (its SuiteQL table and REST record type); `job` for fields on the job itself. */
  readonly record: string;
  readonly fields: Readonly<Record<Field, string>>;
}

export const DEFAULT_CONTRACT_RATES: RecordMapping<ContractRateField> = {
  record: 'customrecord_psgraph_contract_rate',
  fields: {
    job: 'custrecord_psgraph_cr_job',
    role: 'custrecord_psgraph_cr_role',
    from: 'custrecord_psgraph_cr_effective_from',
    to: 'custrecord_psgraph_cr_effective_to',
    rate: 'custrecord_psgraph_cr_bill_rate',
  },
};

export const DEFAULT_PURCHASE_ORDERS: RecordMapping<PurchaseOrderField> = {
  record: 'customrecord_psgraph_purchase_order',
  fields: {
    job: 'custrecord_psgraph_po_job',
    number: 'custrecord_psgraph_po_number',
    expires: 'custrecord_psgraph_po_expires',
    amount: 'custrecord_psgraph_po_amount',
  },
};

/** A record or field ID as NetSuite issues them (`customrecord_…`, `custrecord_…`, `custentity_…`): it goes into SuiteQL as it is. */
const SCRIPT_ID = /^[a-z][a-z0-9_]*$/;

/** `<record>:<name>=<field>,…` over the defaults; `job` as the record puts the fields on the job (no job field then). */
function readRecordMapping<Field extends string>(env: NodeJS.ProcessEnv, variable: string, defaults: RecordMapping<Field>): RecordMapping<Field> {
  const raw = env[variable]?.trim();
  if (!raw) return defaults;
  const example = `${defaults.record}:${Object.entries(defaults.fields)
    .map(([name, field]) => `${name}=${String(field)}`)
    .join(',')}`;
  const [record = '', assignments = ''] = raw.split(':', 2);
  if (!SCRIPT_ID.test(record)) throw new ConfigError(`${variable}=${raw}: '${record}' is not a record ID; expected e.g. ${example}.`);
  const fields: Record<string, string> = { ...defaults.fields };
  for (const assignment of assignments.split(',').filter((part) => part.trim() !== '')) {
    const [name = '', field = ''] = assignment.split('=').map((part) => part.trim());
    if (!(name in defaults.fields) || !SCRIPT_ID.test(field))
      throw new ConfigError(`${variable}=${raw}: '${assignment}' is not <name>=<field ID> with a name of ${Object.keys(defaults.fields).join(', ')}.`);
    fields[name] = field;
  }
  return { record, fields: fields as Record<Field, string> };
}

function readList(env: NodeJS.ProcessEnv, variable: string, fallback: readonly string[]): string[] {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return [...fallback];
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

function readClosedStatuses(env: NodeJS.ProcessEnv): number[] {
  const variable = 'PSGRAPH_NETSUITE_CLOSED_PROJECT_STATUSES';
  const ids = readList(env, variable, ['1']).map(Number);
  if (ids.length === 0 || ids.some((id) => !Number.isSafeInteger(id) || id < 1))
    throw new ConfigError(`${variable}=${env[variable]} is not a list of internal IDs: expected e.g. 1 or 1,7.`);
  return ids;
}

function readPeriodLocks(env: NodeJS.ProcessEnv): PeriodLock[] {
  const variable = 'PSGRAPH_NETSUITE_PERIOD_LOCKS';
  const locks = readList(env, variable, ['closed', 'alllocked']).map((lock) => lock.toLowerCase());
  if (locks.length === 0 || locks.some((lock) => !(PERIOD_LOCKS as readonly string[]).includes(lock)))
    throw new ConfigError(`${variable}=${env[variable]} is not a list of period flags: expected some of ${PERIOD_LOCKS.join(', ')}.`);
  return locks as PeriodLock[];
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
    closedProjectStatuses: readClosedStatuses(env),
    periodLocks: readPeriodLocks(env),
    contractRates: readRecordMapping(env, 'PSGRAPH_NETSUITE_CONTRACT_RATES', DEFAULT_CONTRACT_RATES),
    purchaseOrders: readRecordMapping(env, 'PSGRAPH_NETSUITE_PURCHASE_ORDERS', DEFAULT_PURCHASE_ORDERS),
  };
}
