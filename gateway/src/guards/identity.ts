/**
 * Who is calling: the principal of a request, from its bearer token. A JWT is verified with jose against a key
 * set — a JWKS URL (cached; refetched when a token names an unknown `kid`, at most once per cooldown) or a local
 * one — with the issuer, audience, expiry, not-before (with a clock skew) and an algorithm allow-list that never
 * admits `none` nor an HMAC algorithm (a public key is never used as an HMAC secret). The principal's scopes,
 * roles and the CRM accounts a client user belongs to come from configurable claims.
 *
 * The shared-token list (`PSGRAPH_AUTH_TOKENS`) stays for development: each token is a principal with every
 * right. With no identity configured at all (the embedded default), every request is that developer principal.
 *
 * Stage: HTTP, before the body is read (a request without valid credentials costs nothing more); WebSocket,
 * at `connection_init`.
 */
import { readFileSync } from 'node:fs';
import { type JWTPayload, type JWTVerifyGetKey, createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import { ConfigError, readNumber } from '../../../subgraphs/platform/src/config.js';

/** Whoever a request acts for. */
export interface Principal {
  /** The token's subject (`sub`), or `developer` / `token:<n>` without a JWT. */
  readonly subject: string;
  readonly scopes: ReadonlySet<string>;
  readonly roles: ReadonlySet<string>;
  /** The CRM accounts a client user may see; `null` for staff, who are not limited to accounts. */
  readonly accountIds: readonly string[] | null;
  /** Every right (a development principal): no field or row is withheld. */
  readonly unrestricted: boolean;
  /** When the credentials stop being valid (ms since epoch), if they expire. */
  readonly expiresAt: number | null;
}

export interface IdentityOptions {
  /** A JWKS endpoint of the identity provider. (PSGRAPH_JWT_JWKS_URL) */
  readonly jwksUrl?: string;
  /** A local JSON Web Key Set file instead of a URL. (PSGRAPH_JWT_JWKS_FILE) */
  readonly jwksFile?: string;
  /** The `iss` a token must carry. (PSGRAPH_JWT_ISSUER) */
  readonly issuer?: string;
  /** The `aud` a token must carry. (PSGRAPH_JWT_AUDIENCE) */
  readonly audience?: string;
  /** Signature algorithms accepted; `none` and HMAC are refused. @default RS256,PS256,ES256,EdDSA (PSGRAPH_JWT_ALGORITHMS) */
  readonly algorithms: readonly string[];
  /** Leeway on expiry and not-before, in seconds. @default 30 (PSGRAPH_JWT_CLOCK_SKEW_S) */
  readonly clockSkewSeconds: number;
  /** The claim holding the scopes (a space-separated string or an array). @default scope (PSGRAPH_JWT_SCOPES_CLAIM) */
  readonly scopesClaim: string;
  /** The claim holding the roles (an array or a space-separated string). @default roles (PSGRAPH_JWT_ROLES_CLAIM) */
  readonly rolesClaim: string;
  /** The claim listing the CRM accounts a client user belongs to; absent means staff. @default psgraph_accounts (PSGRAPH_JWT_ACCOUNTS_CLAIM) */
  readonly accountsClaim: string;
  /** Shared bearer tokens for development, each a principal with every right. @default none (PSGRAPH_AUTH_TOKENS, comma-separated) */
  readonly devTokens: readonly string[];
}

const REFUSED_ALGORITHMS = /^(none|HS\d+)$/i;

export function loadIdentityOptions(env: NodeJS.ProcessEnv = process.env): IdentityOptions {
  const algorithms = (env['PSGRAPH_JWT_ALGORITHMS'] || 'RS256,PS256,ES256,EdDSA')
    .split(',')
    .map((algorithm) => algorithm.trim())
    .filter(Boolean);
  const refused = algorithms.filter((algorithm) => REFUSED_ALGORITHMS.test(algorithm));
  if (refused.length > 0) throw new ConfigError(`PSGRAPH_JWT_ALGORITHMS names ${refused.join(', ')}: psgraph never accepts unsigned or HMAC-signed tokens.`);
  const jwksUrl = env['PSGRAPH_JWT_JWKS_URL'] || undefined;
  const jwksFile = env['PSGRAPH_JWT_JWKS_FILE'] || undefined;
  if (jwksUrl && jwksFile) throw new ConfigError('PSGRAPH_JWT_JWKS_URL and PSGRAPH_JWT_JWKS_FILE are both set: keep one.');
  if (jwksUrl) {
    try {
      const url = new URL(jwksUrl);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
    } catch {
      throw new ConfigError(`PSGRAPH_JWT_JWKS_URL=${jwksUrl} is not an http(s) URL.`);
    }
  }
  return {
    ...(jwksUrl ? { jwksUrl } : {}),
    ...(jwksFile ? { jwksFile } : {}),
    ...(env['PSGRAPH_JWT_ISSUER'] ? { issuer: env['PSGRAPH_JWT_ISSUER'] } : {}),
    ...(env['PSGRAPH_JWT_AUDIENCE'] ? { audience: env['PSGRAPH_JWT_AUDIENCE'] } : {}),
    algorithms,
    clockSkewSeconds: readNumber(env, 'PSGRAPH_JWT_CLOCK_SKEW_S', 30, 0, 600),
    scopesClaim: env['PSGRAPH_JWT_SCOPES_CLAIM'] || 'scope',
    rolesClaim: env['PSGRAPH_JWT_ROLES_CLAIM'] || 'roles',
    accountsClaim: env['PSGRAPH_JWT_ACCOUNTS_CLAIM'] || 'psgraph_accounts',
    devTokens: (env['PSGRAPH_AUTH_TOKENS'] ?? '')
      .split(',')
      .map((token) => token.trim())
      .filter(Boolean),
  };
}

/** A principal with every right: the developer of the embedded default, or a shared development token. */
export function unrestrictedPrincipal(subject: string): Principal {
  return { subject, scopes: new Set(), roles: new Set(), accountIds: null, unrestricted: true, expiresAt: null };
}

export type Identification = { readonly principal: Principal } | { readonly refused: string };

/** Resolves `Authorization` headers to principals. */
export class Identity {
  /** Whether credentials are required at all (a JWT key set or shared tokens are configured). */
  readonly required: boolean;
  private readonly keys: JWTVerifyGetKey | undefined;
  /**
   * Tokens verified lately, with their principal, until they expire: a client sends the same token on every
   * request, and verifying a signature costs more than the rest of the guards together. Bounded.
   */
  private readonly verified = new Map<string, Principal>();

  constructor(private readonly options: IdentityOptions) {
    this.required = Boolean(options.jwksUrl || options.jwksFile || options.devTokens.length > 0);
    if (options.jwksUrl) {
      // An unknown kid refetches the set, at most once per cooldown: a stream of forged kids cannot flood the IdP.
      this.keys = createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000 });
    } else if (options.jwksFile) {
      let keySet: unknown;
      try {
        keySet = JSON.parse(readFileSync(options.jwksFile, 'utf8'));
      } catch (error) {
        throw new ConfigError(`PSGRAPH_JWT_JWKS_FILE=${options.jwksFile} is not a readable JSON Web Key Set (${(error as Error).message}).`);
      }
      this.keys = createLocalJWKSet(keySet as Parameters<typeof createLocalJWKSet>[0]);
    }
  }

  async identify(authorization: string | undefined): Promise<Identification> {
    if (!this.required) return { principal: unrestrictedPrincipal('developer') };
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) return { refused: 'A valid "Authorization: Bearer <token>" header is required.' };
    const shared = this.options.devTokens.indexOf(token);
    if (shared >= 0) return { principal: unrestrictedPrincipal(`token:${shared + 1}`) };
    if (!this.keys) return { refused: 'The bearer token is not accepted.' };
    const cached = this.verified.get(token);
    if (cached && cached.expiresAt !== null && Date.now() < cached.expiresAt + this.options.clockSkewSeconds * 1000) return { principal: cached };
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        algorithms: [...this.options.algorithms],
        clockTolerance: this.options.clockSkewSeconds,
        requiredClaims: ['exp', 'sub'],
        ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
        ...(this.options.audience ? { audience: this.options.audience } : {}),
      });
      const principal = this.principalOf(payload);
      if (this.verified.size >= 10_000) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, principal);
      return { principal };
    } catch (error) {
      return { refused: refusal(error) };
    }
  }

  private principalOf(payload: JWTPayload): Principal {
    const accounts = payload[this.options.accountsClaim];
    return {
      subject: String(payload.sub),
      scopes: new Set(words(payload[this.options.scopesClaim])),
      roles: new Set(words(payload[this.options.rolesClaim])),
      accountIds: accounts === undefined ? null : words(accounts),
      unrestricted: false,
      expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : null,
    };
  }
}

/** A claim as a list of words: an array of strings, or one space-separated string (OAuth 2.0's `scope`). */
function words(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((item): item is string => typeof item === 'string');
  if (typeof claim === 'string') return claim.split(/\s+/).filter(Boolean);
  return [];
}

/** Why a token was refused, in words for the client; never the token, never the key. */
function refusal(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The bearer token has expired.';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `The bearer token's "${error.claim}" claim is not accepted.`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "The bearer token's signature algorithm is not accepted.";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'The bearer token is signed with a key psgraph does not know.';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "The bearer token's signature is not valid.";
  return 'The bearer token is not valid.';
}
