/**
 * The ERP subgraph's Mutation resolvers: NetSuite-style `eid:` upserts of customers, jobs and billing schedules,
 * and the deletes activation compensates with. Arguments are checked here; the ERP's rules (a parent customer
 * must exist, a job's customer must trade with its subsidiary, no delete under dependent records) are the
 * sandbox's, as they would be NetSuite's.
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { inputError, isCanonicalProjectId, isNumericId, isSalesforceId, parseMinor, requireIdFormat } from '../../platform/src/index.js';
import type { Resolvers } from './generated/resolverTypes.js';

const ACCOUNT_ID = 'an 18-character Salesforce Account ID (prefix 001)';
const PROJECT_ID = 'a canonical project ID (prj_ followed by a 26-character ULID)';
const accountId = (argument: string, id: string) => requireIdFormat(argument, id, (v) => isSalesforceId(v, 'Account'), ACCOUNT_ID);
export const projectId = (argument: string, id: string) => requireIdFormat(argument, id, isCanonicalProjectId, PROJECT_ID);
const legalEntityId = (argument: string, id: string) => Number(requireIdFormat(argument, id, isNumericId, 'a numeric NetSuite subsidiary ID'));

/** A non-negative decimal amount argument, in minor units. */
export function amount(argument: string, value: string): number {
  try {
    const minor = parseMinor(value);
    if (minor < 0) throw new Error('negative');
    return minor;
  } catch {
    throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "${argument}" must be a non-negative decimal amount, got "${value}".`, { argument });
  }
}

export const erpMutationResolvers: Resolvers = {
  Mutation: {
    upsertErpCustomer: async (_, { input }, { writes }) => {
      if (!Number.isInteger(input.paymentTermsDays) || input.paymentTermsDays < 0 || input.paymentTermsDays > 365) {
        throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "input.paymentTermsDays" must be a whole number of days from 0 to 365.`, {
          argument: 'input.paymentTermsDays',
        });
      }
      const { record, created } = await writes.upsertCustomer({
        externalId: accountId('input.accountId', input.accountId),
        companyName: input.companyName,
        parentExternalId: input.parentAccountId == null ? null : accountId('input.parentAccountId', input.parentAccountId),
        subsidiaryId: legalEntityId('input.legalEntityId', input.legalEntityId),
        additionalSubsidiaryIds: (input.additionalLegalEntityIds ?? []).map((id) => legalEntityId('input.additionalLegalEntityIds', id)),
        currency: input.currency,
        taxId: input.taxId ?? null,
        paymentTermsDays: input.paymentTermsDays,
      });
      return { erpCustomerId: String(record.id), customerNumber: record.entityId, created };
    },
    upsertErpProject: async (_, { input }, { writes }) => {
      if (input.startDate > input.endDate) {
        throw inputError(ErrorCode.INVALID_DATE_RANGE, `Argument "input" is inverted: startDate (${input.startDate}) is after endDate (${input.endDate}).`, {
          argument: 'input',
        });
      }
      const { record, created } = await writes.upsertJob({
        externalId: projectId('input.projectId', input.projectId),
        name: input.name,
        customerExternalId: accountId('input.accountId', input.accountId),
        subsidiaryId: legalEntityId('input.legalEntityId', input.legalEntityId),
        contractType: input.contractType,
        currency: input.currency,
        valueMinor: amount('input.value', input.value),
        poRequired: input.poRequired,
        poNumber: input.poNumber ?? null,
        startDate: input.startDate,
        endDate: input.endDate,
        ...(input.contractRates
          ? {
              contractRates: input.contractRates.map((rate, i) => ({
                role: rate.role,
                billRateMinor: amount(`input.contractRates[${i}].billRate`, rate.billRate),
              })),
            }
          : {}),
      });
      return { erpProjectId: String(record.id), code: record.entityId, created };
    },
    upsertErpBillingSchedule: async (_, { input }, { writes }) => {
      if (input.frequency !== 'MONTHLY' && input.frequency !== 'MILESTONE') {
        throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "input.frequency" must be MONTHLY or MILESTONE, got "${input.frequency}".`, {
          argument: 'input.frequency',
        });
      }
      const timeAndMaterials = input.type === 'TIME_AND_MATERIALS';
      const lines = input.lines.map((line, i) => {
        if ((line.amount == null) !== timeAndMaterials) {
          throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "input.lines[${i}].amount" must be null exactly on time-and-materials schedules.`, {
            argument: `input.lines[${i}].amount`,
          });
        }
        return { date: line.date, description: line.description, amountMinor: line.amount == null ? null : amount(`input.lines[${i}].amount`, line.amount) };
      });
      const { record, created } = await writes.upsertBillingSchedule({
        projectExternalId: projectId('input.projectId', input.projectId),
        scheduleType: input.type,
        frequency: input.frequency,
        inArrears: input.inArrears,
        lines,
      });
      return { billingSchedule: record, created };
    },
    deleteErpBillingSchedule: (_, args, { writes }) => writes.deleteBillingSchedule(projectId('projectId', args.projectId)),
    deleteErpProject: (_, args, { writes }) => writes.deleteJob(projectId('projectId', args.projectId)),
  },
};
