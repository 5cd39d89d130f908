/**
 * Delivery (timesheets, expenses, milestone billing approvals) over Kantata: not taken through psgraph yet. Kantata's
 * wire format for it is known (timesheet and expense report submissions approved, rejected and cancelled by PUT, a
 * milestone completed by its story's state: docs/vendors/kantata.md), but psgraph's replica does not yet keep
 * submissions with their consultant, project and week, which both the reads and the events need. Until it does,
 * every call answers SYSTEM_OPERATION_UNSUPPORTED naming Kantata — never an empty list that would read as "none".
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { inputError } from '../../../platform/src/index.js';
import { DELIVERY_OPERATIONS, type PsaDelivery } from '../psaDeliveryPort.js';

const unsupported = (what: string) => () =>
  Promise.reject(
    inputError(ErrorCode.SYSTEM_OPERATION_UNSUPPORTED, `${what} over Kantata is not supported by psgraph yet: do it in Kantata itself.`, {
      system: 'Kantata',
    }),
  );

export const kantataDelivery = Object.fromEntries(
  Object.entries(DELIVERY_OPERATIONS).map(([name, what]) => [name, unsupported(what)]),
) as unknown as PsaDelivery;
