/**
 * `npm run keys -- <folder>`: makes the signing keys a production deployment needs for principal tokens — one
 * private key for the gateway (kid `gateway`) and one for the activation process (kid `activation`), each for
 * that process's PSGRAPH_SIGNING_KEY_FILE, and the public key set every subgraph verifies with
 * (PSGRAPH_PRINCIPAL_KEYS_FILE). Ed25519; the private files are written readable by their owner only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type JSONWebKeySet, type JWK, exportJWK, generateKeyPair } from 'jose';

export interface PrincipalKeys {
  readonly gateway: JWK;
  readonly activation: JWK;
  /** The public halves, for the subgraphs. */
  readonly publicKeys: JSONWebKeySet;
}

export async function generatePrincipalKeys(): Promise<PrincipalKeys> {
  const pair = async (kid: string) => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    return {
      privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' },
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' },
    };
  };
  const gateway = await pair('gateway');
  const activation = await pair('activation');
  return { gateway: gateway.privateJwk, activation: activation.privateJwk, publicKeys: { keys: [gateway.publicJwk, activation.publicJwk] } };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const folder = resolve(process.argv[2] ?? 'keys');
  mkdirSync(folder, { recursive: true });
  const keys = await generatePrincipalKeys();
  writeFileSync(join(folder, 'gateway.private.jwk.json'), JSON.stringify(keys.gateway), { mode: 0o600 });
  writeFileSync(join(folder, 'activation.private.jwk.json'), JSON.stringify(keys.activation), { mode: 0o600 });
  writeFileSync(join(folder, 'principal-keys.jwks.json'), JSON.stringify(keys.publicKeys, null, 2));
  console.log(
    `Wrote ${folder}/gateway.private.jwk.json, activation.private.jwk.json (PSGRAPH_SIGNING_KEY_FILE of each) and principal-keys.jwks.json (PSGRAPH_PRINCIPAL_KEYS_FILE of every subgraph).`,
  );
}
