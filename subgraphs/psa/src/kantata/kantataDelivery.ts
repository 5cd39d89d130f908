/**
 * Delivery (timesheets, expenses, milestone billing approvals) over Kantata: not taken through psgraph yet. Kantata's
 * wire format for it is known (timesheet and expense report submissions approved, rejected and cancelled by PUT, a
 * milestone completed by its story's state: docs/vendors/kantata.md), but psgraph's replica does not yet keep
 * submissions with their consultant, project and week, which both the reads and the events need. Until it does,
 * every call answers SYSTEM_OPERATION_UNSUPPORTED naming Kantata — never an empty list that would read as "none".
 */
import { unsupportedOperations } from '../../../platform/src/vendor/unsupportedOperations.js';
import { DELIVERY_OPERATIONS, type PsaDelivery } from '../psaDeliveryPort.js';

export const kantataDelivery: PsaDelivery = unsupportedOperations<PsaDelivery>('Kantata', DELIVERY_OPERATIONS);
