/**
 * How a subgraph learns, in a form it verifies, who a request acts for. The gateway (and the process layer, for
 * its own calls) sends a short-lived JWT in the `psgraph-principal` header, signed with its own key (EdDSA or
 * ES256; `kid` names the signer); each subgraph verifies it against the signers' public keys. The principal's
 * subject, scopes, roles and client accounts travel in it; whether the caller is the process layer comes from
 * which key signed it (`PSGRAPH_PROCESS_SIGNERS`), never from a claim.
 *
 * In production (or with `PSGRAPH_REQUIRE_PRINCIPAL=true`) a subgraph refuses a request without a valid token, so a
 * reachable subgraph port is no way around the gateway. Without signing keys (development, the embedded default)
 * a request without a token acts with every right, as the gateway's developer principal does; a principal then
 * travels unsigned, which can only narrow what a request may see, never widen it, and is refused as soon as keys
 * are configured.
 */
import { readFileSync } from 'node:fs';
import {
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  SignJWT,
  UnsecuredJWT,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
} from 'jose';
import { ConfigError } from '../configError.js';
import { type Secret, readSecret } from '../vendor/secrets.js';
import { type Caller, DEVELOPMENT_CALLER } from './caller.js';

export const PRINCIPAL_HEADER = 'psgraph-principal';
const AUDIENCE = 'psgraph-subgraphs';
/** How long a signed principal is valid: long enough for one request's fetches, short enough to be useless stolen. */
const LIFETIME_SECONDS = 60;
/** A cached token is reused while it has at least this long left. */
const RENEW_BEFORE_SECONDS = 20;

/** What a token states about the caller. */
export interface PrincipalStatement {
  readonly subject: string;
  readonly scopes: Iterable<string>;
  readonly roles: Iterable<string>;
  /** The CRM accounts of a client user; null for staff and processes. */
  readonly accountIds: readonly string[] | null;
}

function claimsOf(statement: PrincipalStatement): JWTPayload {
  return {
    sub: statement.subject,
    scope: [...statement.scopes].join(' '),
    roles: [...statement.roles],
    ...(statement.accountIds === null ? {} : { accounts: [...statement.accountIds] }),
  };
}

function statementKey(statement: PrincipalStatement): string {
  return JSON.stringify([statement.subject, [...statement.scopes].sort(), [...statement.roles].sort(), statement.accountIds]);
}

/** The signing key of the gateway and of the activation process, which state principals to the subgraphs. */
export interface SigningSettings {
  /**
   * This process's private key (a JWK with its `kid`: `gateway` or `activation`, from `npm run keys`), or
   * PSGRAPH_SIGNING_KEY_FILE. None: development, principals travel unsigned. @default none (PSGRAPH_SIGNING_KEY)
   */
  readonly signingKey?: Secret;
}

export function loadSigningSettings(env: NodeJS.ProcessEnv = process.env): SigningSettings {
  const signingKey = readSecret(env, 'PSGRAPH_SIGNING_KEY');
  return signingKey ? { signingKey } : {};
}

/** Signs principals with this process's own key (`PSGRAPH_SIGNING_KEY`, a private JWK with a `kid`). */
export class PrincipalSigner {
  /** Tokens by statement, as promises: the parallel fetches of one request wait for one signature, not one each. */
  private readonly cache = new Map<string, { token: Promise<string>; expiresAt: number }>();

  private constructor(
    readonly kid: string,
    private readonly algorithm: string,
    private readonly key: Awaited<ReturnType<typeof importJWK>>,
  ) {}

  static async fromJwk(jwk: JWK): Promise<PrincipalSigner> {
    if (!jwk.kid) throw new ConfigError('The signing key has no "kid": the subgraphs tell signers apart by it.');
    const algorithm = jwk.alg ?? (jwk.kty === 'OKP' ? 'EdDSA' : jwk.kty === 'EC' ? 'ES256' : undefined);
    if (!algorithm || /^(none|HS\d+)$/i.test(algorithm)) throw new ConfigError('The signing key must be an EdDSA (OKP) or ES256 (EC) private key.');
    if (!jwk.d) throw new ConfigError('The signing key is a public key: give the private JWK (with "d").');
    return new PrincipalSigner(jwk.kid, algorithm, await importJWK(jwk, algorithm));
  }

  /**
   * The signer configured by `PSGRAPH_SIGNING_KEY` (or `_FILE`), if any. Where the subgraphs require signed
   * principals (production), a signer without its key would be refused on every call: it stops here instead.
   */
  static async fromEnv(env: NodeJS.ProcessEnv = process.env): Promise<PrincipalSigner | undefined> {
    const secret = loadSigningSettings(env).signingKey;
    if (!secret) {
      if (principalRequired(env)) {
        throw new ConfigError('The subgraphs require a signed principal (production), but PSGRAPH_SIGNING_KEY is not set (npm run keys writes it).');
      }
      return undefined;
    }
    let jwk: JWK;
    try {
      jwk = JSON.parse(secret.reveal()) as JWK;
    } catch {
      throw new ConfigError('PSGRAPH_SIGNING_KEY is not a JSON Web Key (a private key, e.g. from `npm run keys`).');
    }
    return PrincipalSigner.fromJwk(jwk);
  }

  /**
   * A token for `statement`, reused while it has time left (so identical requests stay identical), never valid
   * past `notAfter` (the credentials it was made from).
   */
  async sign(statement: PrincipalStatement, notAfter: number | null = null): Promise<string> {
    const key = statementKey(statement);
    const now = Date.now();
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt - now > RENEW_BEFORE_SECONDS * 1000) return cached.token;
    const expiresAt = Math.min(now + LIFETIME_SECONDS * 1000, notAfter ?? Number.POSITIVE_INFINITY);
    const token = new SignJWT(claimsOf(statement))
      .setProtectedHeader({ alg: this.algorithm, kid: this.kid })
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .sign(this.key);
    if (this.cache.size >= 10_000) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { token, expiresAt });
    // A failed signature is not kept: the next request signs again.
    token.catch(() => this.cache.get(key)?.token === token && this.cache.delete(key));
    return token;
  }
}

/** A principal stated without a signature (development only: it narrows, it never grants). */
export function unsignedPrincipal(statement: PrincipalStatement): string {
  return new UnsecuredJWT(claimsOf(statement)).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('1h').encode();
}

export interface PrincipalVerificationOptions {
  /** The public keys of the gateway and the process layer, a JSON Web Key Set (or PSGRAPH_PRINCIPAL_KEYS_FILE). @default none (PSGRAPH_PRINCIPAL_KEYS) */
  readonly keys?: JSONWebKeySet;
  /** Refuse every request without a valid principal token (401). @default true in production, else false (PSGRAPH_REQUIRE_PRINCIPAL) */
  readonly required: boolean;
  /** The signers (`kid`s) whose tokens are the process layer's own. @default activation (PSGRAPH_PROCESS_SIGNERS, comma-separated) */
  readonly processSigners: readonly string[];
}

export function loadPrincipalVerificationOptions(env: NodeJS.ProcessEnv = process.env): PrincipalVerificationOptions {
  const raw = env['PSGRAPH_PRINCIPAL_KEYS'] || (env['PSGRAPH_PRINCIPAL_KEYS_FILE'] ? readKeyFile(env['PSGRAPH_PRINCIPAL_KEYS_FILE']) : undefined);
  let keys: JSONWebKeySet | undefined;
  if (raw) {
    try {
      keys = JSON.parse(raw) as JSONWebKeySet;
      if (!Array.isArray(keys.keys)) throw new Error();
    } catch {
      throw new ConfigError('PSGRAPH_PRINCIPAL_KEYS is not a JSON Web Key Set ({"keys": [...]}).');
    }
    if (keys.keys.some((key) => key.d !== undefined)) throw new ConfigError('PSGRAPH_PRINCIPAL_KEYS holds a private key: give the subgraphs public keys only.');
  }
  const isRequired = principalRequired(env);
  if (isRequired && !keys) throw new ConfigError("A principal is required (production) but PSGRAPH_PRINCIPAL_KEYS is not set: give the signers' public keys.");
  return {
    ...(keys ? { keys } : {}),
    required: isRequired,
    processSigners: (env['PSGRAPH_PROCESS_SIGNERS'] || 'activation')
      .split(',')
      .map((kid) => kid.trim())
      .filter(Boolean),
  };
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`PSGRAPH_PRINCIPAL_KEYS_FILE=${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
}

export type CallerIdentification = { readonly caller: Caller } | { readonly refused: string };

/** Verifies `psgraph-principal` headers into callers, caching each token's outcome until it expires. */
export class PrincipalVerifier {
  private readonly keys: JWTVerifyGetKey | undefined;
  /** Outcomes by token, as promises: the concurrent requests of one principal wait for one verification. */
  private readonly verified = new Map<string, { outcome: Promise<CallerIdentification>; expiresAt: number }>();

  constructor(private readonly options: PrincipalVerificationOptions) {
    this.keys = options.keys ? createLocalJWKSet(options.keys) : undefined;
  }

  async identify(header: string | string[] | undefined): Promise<CallerIdentification> {
    const token = Array.isArray(header) ? header[0] : header;
    if (!token) return this.options.required ? { refused: 'A verified principal is required: call through the gateway.' } : { caller: DEVELOPMENT_CALLER };
    const cached = this.verified.get(token);
    if (cached && cached.expiresAt > Date.now()) return cached.outcome;
    const outcome = this.verify(token);
    // Kept until the token's expiry once verified (a refusal is not kept: it costs its sender, not others).
    if (this.verified.size >= 10_000) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { outcome, expiresAt: Date.now() + 5_000 });
    const settled = await outcome;
    if ('caller' in settled) this.verified.set(token, { outcome, expiresAt: expiryOf(token) });
    else this.verified.delete(token);
    return settled;
  }

  private async verify(token: string): Promise<CallerIdentification> {
    let algorithm: string | undefined;
    try {
      algorithm = decodeProtectedHeader(token).alg;
    } catch {
      return { refused: 'The principal token is malformed.' };
    }
    if (algorithm === 'none') {
      // Unsigned: a development narrowing, accepted only where nothing is signed at all.
      if (this.keys || this.options.required) return { refused: 'The principal token is not signed.' };
      try {
        const { payload } = UnsecuredJWT.decode(token, { audience: AUDIENCE });
        return { caller: callerOf(payload, false) };
      } catch {
        return { refused: 'The principal token is not valid.' };
      }
    }
    if (!this.keys) return { refused: 'A signed principal token was sent, but this subgraph has no keys to verify it (set PSGRAPH_PRINCIPAL_KEYS).' };
    try {
      const { payload, protectedHeader } = await jwtVerify(token, this.keys, {
        audience: AUDIENCE,
        algorithms: ['EdDSA', 'ES256'],
        requiredClaims: ['exp', 'sub'],
      });
      return { caller: callerOf(payload, this.options.processSigners.includes(protectedHeader.kid ?? '')) };
    } catch {
      return { refused: 'The principal token is not valid (signature, signer, audience or expiry).' };
    }
  }
}

/** PSGRAPH_REQUIRE_PRINCIPAL: true in production unless set. */
function principalRequired(env: NodeJS.ProcessEnv): boolean {
  const required = env['PSGRAPH_REQUIRE_PRINCIPAL'];
  if (required !== undefined && required !== '' && required !== 'true' && required !== 'false') {
    throw new ConfigError(`PSGRAPH_REQUIRE_PRINCIPAL=${required}: expected true or false.`);
  }
  return required === 'true' || ((required === undefined || required === '') && env['NODE_ENV'] === 'production');
}

/** When a token (already verified) expires, in ms. */
function expiryOf(token: string): number {
  try {
    const exp = decodeJwt(token).exp;
    return typeof exp === 'number' ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}

function callerOf(payload: JWTPayload, process: boolean): Caller {
  const accounts = payload['accounts'];
  return {
    subject: String(payload.sub ?? 'unknown'),
    scopes: new Set(typeof payload['scope'] === 'string' ? payload['scope'].split(' ').filter(Boolean) : []),
    roles: new Set(Array.isArray(payload['roles']) ? payload['roles'].map(String) : []),
    accountIds: Array.isArray(accounts) ? new Set(accounts.map(String)) : null,
    process,
  };
}
