/**
 * NetSuite's token-based authentication as its REST web services check it, written from RFC 5849 (OAuth 1.0a)
 * and NetSuite's TBA rules, independently of the client library psgraph signs with: the realm names the account,
 * HMAC-SHA256 is the only signature method, the signature covers the method, the URL and its query parameters
 * (not a JSON body), the key is the consumer secret and the token secret, the timestamp must be close to the
 * server's clock and a nonce is accepted once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TbaCredentials {
  readonly realm: string;
  readonly consumerKey: string;
  readonly consumerSecret: string;
  /** Token ID → token secret, for the tokens not revoked. */
  readonly tokens: ReadonlyMap<string, string>;
}

/** How far a request's timestamp may be from the server's clock. */
export const TIMESTAMP_TOLERANCE_SECONDS = 300;

export type TbaVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** RFC 3986 percent-encoding, as OAuth 1.0a's signature base string uses it. */
export function oauthEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The parameters of an `OAuth …` Authorization header (values percent-decoded), or null when it is none. */
export function parseAuthorization(header: string | undefined): Map<string, string> | null {
  const match = /^OAuth\s+(.*)$/s.exec(header ?? '');
  if (!match) return null;
  const params = new Map<string, string>();
  for (const part of match[1]!.split(',')) {
    const pair = /^\s*([A-Za-z0-9_]+)="([^"]*)"\s*$/.exec(part);
    if (!pair) return null;
    try {
      params.set(pair[1]!, decodeURIComponent(pair[2]!));
    } catch {
      return null;
    }
  }
  return params;
}

export class TbaVerifier {
  /** Nonces seen within the tolerance window, with their timestamps. */
  private readonly nonces = new Map<string, number>();

  constructor(
    private readonly credentials: () => TbaCredentials,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** Checks one request: `url` is the URL the client addressed (scheme, host and port as it sent them). */
  verify(method: string, url: URL, authorization: string | undefined): TbaVerdict {
    const params = parseAuthorization(authorization);
    if (!params) return { ok: false, reason: 'no OAuth Authorization header' };
    const credentials = this.credentials();
    if (params.get('realm') !== credentials.realm) return { ok: false, reason: `realm ${params.get('realm') ?? '(none)'} is not this account` };
    if (params.get('oauth_signature_method') !== 'HMAC-SHA256') return { ok: false, reason: 'signature method is not HMAC-SHA256' };
    if ((params.get('oauth_version') ?? '1.0') !== '1.0') return { ok: false, reason: 'OAuth version is not 1.0' };
    if (params.get('oauth_consumer_key') !== credentials.consumerKey) return { ok: false, reason: 'unknown consumer key' };
    const tokenSecret = credentials.tokens.get(params.get('oauth_token') ?? '');
    if (tokenSecret === undefined) return { ok: false, reason: 'unknown or revoked token' };
    const timestamp = Number(params.get('oauth_timestamp'));
    const now = this.nowSeconds();
    if (!Number.isInteger(timestamp) || Math.abs(now - timestamp) > TIMESTAMP_TOLERANCE_SECONDS)
      return { ok: false, reason: 'timestamp outside the tolerance' };
    const nonce = params.get('oauth_nonce') ?? '';
    if (nonce.length < 6) return { ok: false, reason: 'nonce shorter than 6 characters' };
    const signature = params.get('oauth_signature') ?? '';
    const expected = signatureOf(method, url, params, credentials.consumerSecret, tokenSecret);
    const given = Buffer.from(signature);
    const wanted = Buffer.from(expected);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return { ok: false, reason: 'signature does not match' };
    // Checked last, so that only a genuine request uses its nonce up.
    this.forgetOldNonces(now);
    if (this.nonces.has(nonce)) return { ok: false, reason: 'nonce already used' };
    this.nonces.set(nonce, timestamp);
    return { ok: true };
  }

  private forgetOldNonces(now: number): void {
    for (const [nonce, timestamp] of this.nonces) if (now - timestamp > 2 * TIMESTAMP_TOLERANCE_SECONDS) this.nonces.delete(nonce);
  }
}

/** The HMAC-SHA256 signature (base64) of a request, per RFC 5849 section 3.4. */
export function signatureOf(method: string, url: URL, oauth: ReadonlyMap<string, string>, consumerSecret: string, tokenSecret: string): string {
  const parameters: Array<[string, string]> = [];
  for (const [name, value] of oauth) if (name !== 'realm' && name !== 'oauth_signature') parameters.push([name, value]);
  for (const [name, value] of url.searchParams) parameters.push([name, value]);
  const normalized = parameters
    .map(([name, value]) => [oauthEncode(name), oauthEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const baseUrl = `${url.protocol}//${url.host}${url.pathname}`.replace(/^[a-z]+:\/\/[^/]+/i, (origin) => origin.toLowerCase());
  const base = [method.toUpperCase(), oauthEncode(baseUrl), oauthEncode(normalized)].join('&');
  return createHmac('sha256', `${oauthEncode(consumerSecret)}&${oauthEncode(tokenSecret)}`)
    .update(base)
    .digest('base64');
}
