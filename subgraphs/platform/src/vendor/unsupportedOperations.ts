/**
 * A port a vendor adapter does not implement yet, as a port whose every call answers
 * SYSTEM_OPERATION_UNSUPPORTED naming the vendor — never an empty answer that would read as "none" — so that the
 * subgraph keeps serving everything else over that vendor.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { inputError } from '../subgraph/errors.js';

/** `operations` names each call of the port by what it does ("Approving a timesheet"). */
export function unsupportedOperations<Port>(system: string, operations: Readonly<Record<keyof Port, string>>): Port {
  const refuse = (what: string) => () =>
    Promise.reject(
      inputError(ErrorCode.SYSTEM_OPERATION_UNSUPPORTED, `${what} over ${system} is not supported by psgraph yet: do it in ${system} itself.`, { system }),
    );
  return Object.fromEntries(Object.entries(operations).map(([name, what]) => [name, refuse(what as string)])) as Port;
}
