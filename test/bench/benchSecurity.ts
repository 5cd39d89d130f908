/**
 * What the bench needs to measure psgraph with its guards on, as a firm would run it: a local identity provider
 * (an ES256 key whose public half is a JWKS file) minting the clients' JWTs, and the principal keys the gateway
 * signs with and psgraph's subgraphs verify. psgraph's subgraphs verify signed principals but do not require one
 * (PSGRAPH_REQUIRE_PRINCIPAL=false), so every contender can call them; the secured contender's every request
 * carries one.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { generatePrincipalKeys } from '../../subgraphs/platform/src/security/generatePrincipalKeys.js';

const ISSUER = 'https://idp.bench.psgraph.test/';
const AUDIENCE = 'psgraph';
/** Distinct clients on the unique-authorization workload, each with its own token (cycled). */
const DISTINCT_CLIENTS = 2_000;

export interface BenchSecurity {
  /** Environment of psgraph's subgraphs: verify signed principals, require none. */
  readonly subgraphEnv: NodeJS.ProcessEnv;
  /** Environment of the secured psgraph gateway: JWT identity and its signing key. */
  readonly gatewayEnv: NodeJS.ProcessEnv;
  /** The `authorization` header of request number `sequence`: one finance user, or a distinct one per request. */
  authorization(unique: boolean): (sequence: number) => string;
}

export async function createBenchSecurity(): Promise<BenchSecurity> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwksPath = join(tmpdir(), `psgraph-bench-jwks-${process.pid}.json`);
  writeFileSync(jwksPath, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench-idp', alg: 'ES256', use: 'sig' }] }));
  const principalKeys = await generatePrincipalKeys();
  // Finance sees every field, so its responses equal the reference gateway's and are checked as everyone's are.
  const mint = (subject: string) =>
    new SignJWT({ scope: 'finance:read', roles: ['finance'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'bench-idp' })
      .setSubject(subject)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(privateKey);
  const shared = `Bearer ${await mint('bench-finance')}`;
  const distinct = await Promise.all(Array.from({ length: DISTINCT_CLIENTS }, async (_, i) => `Bearer ${await mint(`bench-client-${i}`)}`));
  return {
    subgraphEnv: { PSGRAPH_PRINCIPAL_KEYS: JSON.stringify(principalKeys.publicKeys), PSGRAPH_REQUIRE_PRINCIPAL: 'false' },
    gatewayEnv: {
      PSGRAPH_JWT_JWKS_FILE: jwksPath,
      PSGRAPH_JWT_ISSUER: ISSUER,
      PSGRAPH_JWT_AUDIENCE: AUDIENCE,
      PSGRAPH_JWT_ALGORITHMS: 'ES256',
      PSGRAPH_SIGNING_KEY: JSON.stringify(principalKeys.gateway),
    },
    authorization: (unique) => (unique ? (sequence) => distinct[sequence % distinct.length]! : () => shared),
  };
}
