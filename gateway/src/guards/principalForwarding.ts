/**
 * How the gateway tells each subgraph who a request acts for: the `psgraph-principal` header, a short-lived JWT
 * signed with the gateway's own key (`PSGRAPH_SIGNING_KEY`), which the subgraphs verify and enforce row-level
 * access by (`subgraphs/platform/src/security/`). Without a signing key (development), a restricted principal is
 * stated unsigned — subgraphs accept that only where nothing is signed, and it can only narrow — and the
 * developer principal is not stated at all.
 *
 * Tokens are reused per principal while valid, so two requests of one principal send identical subgraph requests
 * (and may share them in flight), and two principals never do.
 */
import {
  PRINCIPAL_HEADER,
  type PrincipalSigner,
  type PrincipalStatement,
  unsignedPrincipal,
} from '../../../subgraphs/platform/src/security/principalTokens.js';
import type { Principal } from './identity.js';

export { PRINCIPAL_HEADER };

export class PrincipalForwarding {
  private readonly unsigned = new WeakMap<Principal, string>();

  constructor(private readonly signer: PrincipalSigner | undefined) {}

  /**
   * The header value for a request of `principal` (or a subscription's upstream connection, made afresh at each
   * connection), or undefined when nothing is to be stated.
   */
  async forRequest(principal: Principal | undefined): Promise<string | undefined> {
    if (!principal) return undefined;
    const statement: PrincipalStatement = {
      subject: principal.subject,
      scopes: principal.scopes,
      roles: principal.roles,
      accountIds: principal.accountIds,
    };
    if (this.signer) return this.signer.sign(statement, principal.expiresAt);
    if (principal.unrestricted) return undefined;
    let token = this.unsigned.get(principal);
    if (!token) this.unsigned.set(principal, (token = unsignedPrincipal(statement)));
    return token;
  }
}
