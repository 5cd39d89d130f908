/**
 * The ID formats of the systems psgraph stands in for. Each sandbox issues IDs in its vendor's own format, so
 * that an adapter swap (sandbox → Salesforce, NetSuite, Kantata, Stripe) changes no ID handling anywhere.
 */
import { type Prng } from './prng.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SALESFORCE_CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** Salesforce key prefixes of the objects the CRM sandbox holds. */
export const SalesforcePrefix = {
  Account: '001',
  Opportunity: '006',
  OpportunityLineItem: '00k',
  User: '005',
} as const;
export type SalesforceObject = keyof typeof SalesforcePrefix;

function base62(value: number, width: number): string {
  let out = '';
  let rest = Math.floor(value);
  for (let i = 0; i < width; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

/**
 * The three-character suffix that turns a case-sensitive 15-character Salesforce ID into the case-insensitive
 * 18-character form: one character per 5-character chunk, encoding which of its letters are upper case.
 */
function salesforceChecksum(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const char = id15.charCodeAt(chunk * 5 + i);
      if (char >= 65 && char <= 90) bits |= 1 << i;
    }
    suffix += SALESFORCE_CHECKSUM_ALPHABET[bits];
  }
  return suffix;
}

/** The `sequence`-th 18-character Salesforce ID of an object type (pod `5g`, as in a real org). */
export function salesforceId(object: SalesforceObject, sequence: number): string {
  const id15 = `${SalesforcePrefix[object]}5g0${base62(sequence + 1_000_000, 9)}`;
  return id15 + salesforceChecksum(id15);
}

/** True when `id` is an 18-character Salesforce ID of `object`, checksum included. */
export function isSalesforceId(id: string, object: SalesforceObject): boolean {
  if (!/^[a-zA-Z0-9]{18}$/.test(id) || !id.startsWith(SalesforcePrefix[object])) return false;
  return salesforceChecksum(id.slice(0, 15)) === id.slice(15).toUpperCase();
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A canonical project ID: `prj_` and a ULID (48-bit millisecond time + 80 random bits, Crockford base 32).
 * Minted by activation and written into every system's external-ID field.
 */
export function canonicalProjectId(timeMs: number, random: Prng | (() => number)): string {
  const next = typeof random === 'function' ? random : () => random.next();
  let time = '';
  let rest = Math.floor(timeMs);
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[rest % 32] + time;
    rest = Math.floor(rest / 32);
  }
  let entropy = '';
  for (let i = 0; i < 16; i++) entropy += CROCKFORD[Math.floor(next() * 32)];
  return `prj_${time}${entropy}`;
}

export function isCanonicalProjectId(id: string): boolean {
  return /^prj_[0-9A-HJKMNP-TV-Z]{26}$/.test(id);
}

/** A Stripe-style object ID: `in_…`, `cus_…`, `py_…` followed by 24 base-62 characters. */
export function stripeId(prefix: 'in' | 'cus' | 'py' | 'ii' | 'cn', random: Prng | (() => number)): string {
  const next = typeof random === 'function' ? random : () => random.next();
  let body = '';
  for (let i = 0; i < 24; i++) body += BASE62[Math.floor(next() * 62)];
  return `${prefix}_${body}`;
}

export function isStripeId(id: string, prefix: 'in' | 'cus' | 'py' | 'ii' | 'cn'): boolean {
  return new RegExp(`^${prefix}_[0-9A-Za-z]{24}$`).test(id);
}

/** NetSuite and Kantata internal IDs: positive integers, carried as strings on the wire. */
export function isNumericId(id: string): boolean {
  return /^[1-9][0-9]{0,15}$/.test(id);
}
