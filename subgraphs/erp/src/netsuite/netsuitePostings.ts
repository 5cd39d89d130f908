/**
 * Delivery postings over NetSuite: not taken through psgraph yet. NetSuite's records for them are known (`timeBill`
 * with employee, customer:project, service item, rate and `isbillable`; `expenseReport` lines; billing schedule
 * lines: docs/vendors/netsuite.md), but the contract rates, purchase orders and accounting periods the checks
 * read are custom records and SuiteQL tables each firm names differently, and psgraph does not map them yet.
 * Until it does, every call answers SYSTEM_OPERATION_UNSUPPORTED naming NetSuite — never an empty answer that
 * would read as "no terms".
 */
import { unsupportedOperations } from '../../../platform/src/vendor/unsupportedOperations.js';
import { POSTINGS_OPERATIONS, type ErpPostings } from '../erpPostingsPort.js';

export const netsuitePostings: ErpPostings = unsupportedOperations<ErpPostings>('NetSuite', POSTINGS_OPERATIONS);
