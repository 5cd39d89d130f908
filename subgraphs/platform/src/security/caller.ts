/**
 * Who a subgraph request acts for, as the subgraph verified it (`principalTokens.ts`), and the checks made where
 * the data lives: a client user reads only the records of the CRM accounts it belongs to; only staff reach what is
 * for staff; only the process layer's own identity calls the system writes the activation saga uses.
 *
 * The checks are enforced by each subgraph in its port (a scoped view of the system) and its resolvers, not only
 * at the gateway: a subgraph port reached directly is no way around them.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../../../contracts/errorCodes.js';

export interface Caller {
  readonly subject: string;
  readonly scopes: ReadonlySet<string>;
  readonly roles: ReadonlySet<string>;
  /** The CRM accounts a client user belongs to; null for staff, processes and development, who are not limited. */
  readonly accountIds: ReadonlySet<string> | null;
  /** The process layer itself (its token is signed by a process signer): it may call the saga's system writes. */
  readonly process: boolean;
}

/**
 * The caller of a request that carries no principal where none is required (development, the embedded default):
 * every right, as the gateway's developer principal has.
 */
export const DEVELOPMENT_CALLER: Caller = Object.freeze({
  subject: 'development',
  scopes: new Set<string>(),
  roles: new Set<string>(),
  accountIds: null,
  process: true,
});

/** A client user: limited to its accounts. */
export function isClient(caller: Caller): boolean {
  return caller.accountIds !== null;
}

/** Whether the caller may read a record of this CRM account. */
export function mayReadAccount(caller: Caller, accountId: string | null | undefined): boolean {
  return caller.accountIds === null || (accountId != null && caller.accountIds.has(accountId));
}

/**
 * The accounts a search may return for this caller: undefined when not limited; otherwise the caller's accounts,
 * narrowed to the one the search asks for (empty when it asks for another's).
 */
export function accountsInScope(caller: Caller, asked?: string | null): readonly string[] | undefined {
  if (caller.accountIds === null) return undefined;
  if (asked != null) return caller.accountIds.has(asked) ? [asked] : [];
  return [...caller.accountIds];
}

/** Keeps the entries of a batch lookup the caller may read. */
export function readable<K, V>(caller: Caller, found: Map<K, V>, accountOf: (value: V) => string | null | undefined): Map<K, V> {
  if (caller.accountIds === null) return found;
  const kept = new Map<K, V>();
  for (const [key, value] of found) if (mayReadAccount(caller, accountOf(value))) kept.set(key, value);
  return kept;
}

/** Keeps, in each list of a batch lookup, the items the caller may read. */
export function readableLists<K, V>(caller: Caller, found: Map<K, V[]>, accountOf: (value: V) => string | null | undefined): Map<K, V[]> {
  if (caller.accountIds === null) return found;
  const kept = new Map<K, V[]>();
  for (const [key, values] of found)
    kept.set(
      key,
      values.filter((value) => mayReadAccount(caller, accountOf(value))),
    );
  return kept;
}

export function forbidden(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.FORBIDDEN, http: { status: 403 } } });
}

/** Refuses client users: `what` is for the firm's staff. */
export function requireStaff(caller: Caller, what: string): void {
  if (isClient(caller)) throw forbidden(`${what} is for the firm's staff only.`);
}

/** Refuses anyone but the process layer: `what` is a write the activation saga makes. */
export function requireProcess(caller: Caller, what: string): void {
  if (!caller.process) throw forbidden(`${what} is a write of the activation process; only its own identity may call it.`);
}
