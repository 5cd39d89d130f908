import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/configError.js';
import { generatePrincipalKeys } from '../../src/security/generatePrincipalKeys.js';
import { PrincipalSigner, loadPrincipalVerificationOptions } from '../../src/security/principalTokens.js';

describe('principal token configuration', () => {
  it('stops a production gateway without its signing key instead of sending unsigned requests', async () => {
    await expect(PrincipalSigner.fromEnv({ NODE_ENV: 'production' })).rejects.toThrow(ConfigError);
    await expect(PrincipalSigner.fromEnv({ NODE_ENV: 'production' })).rejects.toThrow(/PSGRAPH_SIGNING_KEY/);
    await expect(PrincipalSigner.fromEnv({ PSGRAPH_REQUIRE_PRINCIPAL: 'true' })).rejects.toThrow(/PSGRAPH_SIGNING_KEY/);
  });

  it('lets development, or a deployment whose subgraphs take unsigned requests, run without a key', async () => {
    expect(await PrincipalSigner.fromEnv({})).toBeUndefined();
    expect(await PrincipalSigner.fromEnv({ NODE_ENV: 'production', PSGRAPH_REQUIRE_PRINCIPAL: 'false' })).toBeUndefined();
  });

  it('signs with a configured key, and refuses a malformed PSGRAPH_REQUIRE_PRINCIPAL', async () => {
    const keys = await generatePrincipalKeys();
    const signer = await PrincipalSigner.fromEnv({ NODE_ENV: 'production', PSGRAPH_SIGNING_KEY: JSON.stringify(keys.gateway) });
    expect(signer).toBeInstanceOf(PrincipalSigner);
    expect(() => loadPrincipalVerificationOptions({ PSGRAPH_REQUIRE_PRINCIPAL: 'yes' })).toThrow(/expected true or false/);
    expect(() => loadPrincipalVerificationOptions({ NODE_ENV: 'production' })).toThrow(/PSGRAPH_PRINCIPAL_KEYS/);
  });
});
