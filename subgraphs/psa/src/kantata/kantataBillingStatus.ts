/**
 * Billing status (a project's billed and unbilled amounts, each milestone's invoice) over Kantata: not taken through
 * psgraph yet. Kantata could hold it (custom fields on the workspace and on the milestone's story, written by PUT),
 * but the account's custom field set must be created first and psgraph's replica does not keep those fields, which
 * the reads need. Until it does, every call answers SYSTEM_OPERATION_UNSUPPORTED naming Kantata — never an empty
 * answer that would read as "never billed".
 */
import { unsupportedOperations } from '../../../platform/src/vendor/unsupportedOperations.js';
import { BILLING_STATUS_OPERATIONS, type PsaBillingStatus } from '../psaBillingStatusPort.js';

export const kantataBillingStatus: PsaBillingStatus = unsupportedOperations<PsaBillingStatus>('Kantata', BILLING_STATUS_OPERATIONS);
