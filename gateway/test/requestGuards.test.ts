import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../contracts/errorCodes.js';
import { unrestrictedPrincipal, type Principal } from '../src/guards/identity.js';
import { RateLimits, loadRateLimitOptions } from '../src/guards/rateLimits.js';
import { TrustedDocuments, normalize } from '../src/guards/trustedDocuments.js';

const PORTFOLIO = 'query Portfolio { projects(first: 5) { nodes { id name } } }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const manifest = [{ id: sha256(PORTFOLIO), body: PORTFOLIO, name: 'Portfolio', type: 'query' }];
const byId = (id: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: id } } });

describe('trusted documents', () => {
  it('puts the document an ID stands for in its place, in every mode, and refuses an ID not in the list', () => {
    for (const mode of ['off', 'log_unknown', 'safelist', 'require_id'] as const) {
      const documents = new TrustedDocuments(mode, manifest);
      expect(documents.resolve({ ...byId(sha256(PORTFOLIO)), variables: { a: 1 } })).toEqual({
        body: { query: PORTFOLIO, variables: { a: 1 }, extensions: {} },
      });
      expect(documents.resolve({ documentId: sha256(PORTFOLIO) })).toEqual({ body: { query: PORTFOLIO, extensions: {} } });
      expect(documents.resolve(byId('0'.repeat(64)))).toMatchObject({ refused: { status: 400, code: ErrorCode.PERSISTED_QUERY_NOT_IN_LIST } });
    }
  });

  it('lets any document run when off, logs unknown ones in log_unknown mode', () => {
    const logged: string[] = [];
    expect(new TrustedDocuments('off', manifest).resolve({ query: '{ legalEntities { id } }' })).toEqual({ body: { query: '{ legalEntities { id } }' } });
    expect(new TrustedDocuments('log_unknown', manifest, (message) => logged.push(message)).resolve({ query: '{ legalEntities { id } }' })).toHaveProperty(
      'body',
    );
    expect(logged).toHaveLength(1);
  });

  it('runs a listed document sent in full in safelist mode, whitespace and definition order aside, but not one with reordered fields', () => {
    const documents = new TrustedDocuments('safelist', manifest);
    expect(documents.resolve({ query: `  query Portfolio {\n projects(first: 5) { nodes { id name } } } # comment` })).toHaveProperty('body');
    expect(documents.resolve({ query: 'query Portfolio { projects(first: 5) { nodes { name id } } }' })).toMatchObject({
      refused: { code: ErrorCode.QUERY_NOT_IN_SAFELIST },
    });
  });

  it('refuses any document sent in full in require_id mode', () => {
    expect(new TrustedDocuments('require_id', manifest).resolve({ query: PORTFOLIO })).toMatchObject({
      refused: { status: 400, code: ErrorCode.PERSISTED_QUERY_ID_REQUIRED },
    });
  });

  it('normalizes as Apollo does: operations then fragments, sorted by name, no ignored characters', () => {
    expect(normalize('fragment B on T { b } query Z { ...B } query A { a }')).toBe('query A{a}query Z{...B}fragment B on T{b}');
  });
});

describe('rate limits', () => {
  const principal = (subject: string): Principal => ({ ...unrestrictedPrincipal(subject), unrestricted: false });

  it('allows a burst, then the sustained rate, per principal, and says how long to wait', () => {
    let now = 0;
    const limits = new RateLimits(loadRateLimitOptions({ PSGRAPH_RATE_LIMIT_RPS: '2', PSGRAPH_RATE_LIMIT_BURST: '3' }), () => now);
    const alice = principal('alice');
    expect([1, 2, 3].map(() => limits.take(alice))).toEqual([undefined, undefined, undefined]);
    expect(limits.take(alice)).toBe(1);
    // One client's burst costs another nothing.
    expect(limits.take(principal('bob'))).toBeUndefined();
    now += 500;
    expect(limits.take(alice)).toBeUndefined();
    expect(limits.take(alice)).toBe(1);
  });

  it('limits nothing when off, nor the developer of the embedded default', () => {
    const off = new RateLimits(loadRateLimitOptions({}));
    for (let i = 0; i < 100; i++) expect(off.take(principal('alice'))).toBeUndefined();
    const on = new RateLimits(loadRateLimitOptions({ PSGRAPH_RATE_LIMIT_RPS: '1', PSGRAPH_RATE_LIMIT_BURST: '1' }));
    for (let i = 0; i < 10; i++) expect(on.take(unrestrictedPrincipal('developer'))).toBeUndefined();
  });
});
