/**
 * The CRM subgraph's Mutation resolvers: the writes activation makes (the project link and its compensation),
 * the billing status the process layer pushes on each invoice event, and the corrections people make in the CRM
 * (stage, PO number, tax ID). IDs are checked at the entry point; the
 * sandbox (or a Salesforce adapter) enforces the CRM's own rules.
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { existing, inputError, isCanonicalProjectId, isNumericId, isSalesforceId, parseMinor, requireIdFormat } from '../../platform/src/index.js';
import type { AccountReceivable } from './crmPort.js';
import type { AccountReceivableInput, Resolvers } from './generated/resolverTypes.js';

const opportunityId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (v) => isSalesforceId(v, 'Opportunity'), 'an 18-character Salesforce Opportunity ID (prefix 006)');
const accountId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (v) => isSalesforceId(v, 'Account'), 'an 18-character Salesforce Account ID (prefix 001)');
const projectId = (argument: string, id: string) =>
  requireIdFormat(argument, id, isCanonicalProjectId, 'a canonical project ID (prj_ followed by a 26-character ULID)');
const numericId = (argument: string, id: string) => requireIdFormat(argument, id, isNumericId, 'a numeric internal ID');

export const crmMutationResolvers: Resolvers = {
  Mutation: {
    setOpportunityStage: async (_, args, { writes }) => (await writes.setOpportunityStage(opportunityId('id', args.id), args.stage)).opportunity,
    updateOpportunity: async (_, args, { writes, loaders }) => {
      const id = opportunityId('id', args.id);
      // An omitted field is left as it is: only a key present in the input (even as null) is written.
      if ('poNumber' in args.input) return writes.setOpportunityPoNumber(id, blankToNull(args.input.poNumber));
      return existing(loaders.opportunityById.load(id), `Opportunity ${id}`);
    },
    updateAccount: async (_, args, { writes, loaders }) => {
      const id = accountId('id', args.id);
      if ('taxId' in args.input) return writes.setAccountTaxId(id, blankToNull(args.input.taxId));
      return existing(loaders.accountById.load(id), `Account ${id}`);
    },
    linkOpportunityToProject: (_, args, { writes }) =>
      writes.linkProject({
        opportunityId: opportunityId('input.opportunityId', args.input.opportunityId),
        projectId: projectId('input.projectId', args.input.projectId),
        erpProjectId: numericId('input.erpProjectId', args.input.erpProjectId),
        psaProjectId: numericId('input.psaProjectId', args.input.psaProjectId),
        erpCustomerId: numericId('input.erpCustomerId', args.input.erpCustomerId),
      }),
    unlinkOpportunityFromProject: (_, args, { writes }) =>
      writes.unlinkProject(opportunityId('opportunityId', args.opportunityId), projectId('projectId', args.projectId)),
    recordAccountBillingStatus: async (_, { input }, { writes, loaders }) => {
      const id = accountId('input.accountId', input.accountId);
      const { applied } = await writes.recordAccountBillingStatus({
        accountId: id,
        asOf: new Date(input.asOf).toISOString(),
        receivables: receivablesOf(input.receivables),
        lastInvoiceId: input.lastInvoiceId,
        lastInvoiceNumber: blankToNull(input.lastInvoiceNumber),
        lastInvoiceStatus: input.lastInvoiceStatus,
      });
      return { applied, billingStatus: await existing(loaders.billingStatusByAccountId.load(id), `Billing status of account ${id}`) };
    },
  },
};

/** One entry per currency, each a non-negative amount in cents with no more overdue than outstanding. */
function receivablesOf(receivables: readonly AccountReceivableInput[]): AccountReceivable[] {
  const seen = new Set<string>();
  return receivables.map((receivable, i) => {
    const argument = `input.receivables[${i}]`;
    if (seen.has(receivable.currency))
      throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "${argument}.currency" repeats ${receivable.currency}: give one entry per currency.`, { argument });
    seen.add(receivable.currency);
    const outstandingMinor = amountOf(`${argument}.outstanding`, receivable.outstanding);
    const overdueMinor = amountOf(`${argument}.overdue`, receivable.overdue);
    if (overdueMinor > outstandingMinor)
      throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "${argument}.overdue" is more than its outstanding amount.`, { argument: `${argument}.overdue` });
    return { currency: receivable.currency, outstandingMinor, overdueMinor };
  });
}

function amountOf(argument: string, amount: string): number {
  const minor = /^\d+(\.\d{1,2})?$/.test(amount) ? parseMinor(amount) : -1;
  if (minor < 0) throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "${argument}" must be an amount of at least 0 with at most 2 decimals.`, { argument });
  return minor;
}

function blankToNull(value: string | null | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}
