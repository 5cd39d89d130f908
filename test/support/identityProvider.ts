/**
 * A local identity provider for tests: an ES256 key pair whose public half is served as a JWKS over real HTTP
 * (as an IdP's `jwks_uri`), and tokens minted for psgraph's personas — a client-portal user, a finance user, a
 * reporting tool, a delivery manager, an integration engineer. Also forges the tokens an attacker would try.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type JWK, type JWTPayload, SignJWT, exportJWK, generateKeyPair } from 'jose';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export const ISSUER = 'https://idp.psgraph.test/';
export const AUDIENCE = 'psgraph';

/** Claims of a persona, as psgraph reads them by default (`scope`, `roles`, `psgraph_accounts`). */
export interface PersonaClaims {
  readonly sub: string;
  readonly scope?: string;
  readonly roles?: readonly string[];
  /** The CRM accounts a client user belongs to; absent for staff. */
  readonly psgraph_accounts?: readonly string[];
}

export const PERSONAS = {
  /** A delivery manager: staff, may change deals and staffing, sees no costs, margins or rates. */
  deliveryManager: { sub: 'staff-dana', scope: 'crm:write psa:write projects:activate', roles: ['delivery'] },
  /** Finance: staff with the finance scope — costs, margins and rates. */
  finance: { sub: 'finance-frank', scope: 'finance:read billing:write', roles: ['finance'] },
  /** A reporting tool: a service principal with the finance scope and the reporting role. */
  reporting: { sub: 'svc-reporting', scope: 'finance:read', roles: ['reporting'] },
  /** An integration engineer: runs the exception queue. */
  integrationEngineer: { sub: 'ops-iris', scope: 'integration:operate projects:activate', roles: ['integration'] },
} satisfies Record<string, PersonaClaims>;

/** A client-portal user of the given accounts (optionally with scopes a careless IdP might grant). */
export function clientUser(accountIds: readonly string[], scope = ''): PersonaClaims {
  return { sub: `client-${accountIds.join('-').slice(0, 24)}`, scope, roles: ['client'], psgraph_accounts: accountIds };
}

export class IdentityProvider {
  private constructor(
    private readonly privateKey: PrivateKey,
    readonly jwk: JWK,
    private readonly server: Server,
    /** Requests for the key set, so tests can see how often psgraph fetched it. */
    readonly jwksFetches: { count: number },
  ) {}

  static async start(): Promise<IdentityProvider> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key-1', alg: 'ES256', use: 'sig' };
    const fetches = { count: 0 };
    const server = createServer((request, response) => {
      if (request.url !== '/.well-known/jwks.json') {
        response.writeHead(404).end();
        return;
      }
      fetches.count++;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new IdentityProvider(privateKey, jwk, server, fetches);
  }

  get jwksUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  /** The gateway's identity settings for this provider. */
  get gatewayEnv(): Record<string, string> {
    return { PSGRAPH_JWT_JWKS_URL: this.jwksUrl, PSGRAPH_JWT_ISSUER: ISSUER, PSGRAPH_JWT_AUDIENCE: AUDIENCE };
  }

  /** A valid token for `claims`, expiring in `expiresInSeconds`. */
  async token(claims: PersonaClaims, options: { expiresInSeconds?: number; audience?: string; issuer?: string; kid?: string } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...claims } as JWTPayload)
      .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? 'test-key-1' })
      .setIssuer(options.issuer ?? ISSUER)
      .setAudience(options.audience ?? AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expiresInSeconds ?? 600))
      .sign(this.privateKey);
  }

  /** `Authorization` header value for `claims`. */
  async bearer(claims: PersonaClaims, options?: Parameters<IdentityProvider['token']>[1]): Promise<string> {
    return `Bearer ${await this.token(claims, options)}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Tokens an attacker would try: unsigned, signed by another key, HMAC with the public key as secret. */
export async function forgedTokens(provider: IdentityProvider, claims: PersonaClaims): Promise<Record<string, string>> {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const payload = { ...claims, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600 };
  const stranger = await generateKeyPair('ES256');
  const hmacWithPublicKey = await new SignJWT(payload as JWTPayload)
    .setProtectedHeader({ alg: 'HS256', kid: 'test-key-1' })
    .sign(new TextEncoder().encode(JSON.stringify(provider.jwk)));
  return {
    algNone: `${encode({ alg: 'none', typ: 'JWT' })}.${encode(payload)}.`,
    wrongKey: await new SignJWT(payload as JWTPayload).setProtectedHeader({ alg: 'ES256', kid: 'test-key-1' }).sign(stranger.privateKey),
    unknownKid: await new SignJWT(payload as JWTPayload).setProtectedHeader({ alg: 'ES256', kid: 'rotated-away' }).sign(stranger.privateKey),
    hmacWithPublicKey,
    expired: await provider.token(claims, { expiresInSeconds: -3600 }),
    wrongAudience: await provider.token(claims, { audience: 'another-api' }),
    wrongIssuer: await provider.token(claims, { issuer: 'https://evil.example/' }),
    tampered: (await provider.token(claims)).replace(
      /\.([^.]+)\./,
      (_match, body: string) => `.${encode({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), scope: 'finance:read' })}.`,
    ),
  };
}
