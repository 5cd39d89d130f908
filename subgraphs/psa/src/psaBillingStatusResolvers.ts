/**
 * What billing reported back, in the PSA subgraph: the process layer's two writes (a project's billing status,
 * a milestone's invoice), and where they are read — `Project.billingStatus` and `Milestone.invoice`. Arguments are
 * checked here; the newer-asOf-wins rule is the port's.
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { existing, inputError, isCanonicalProjectId, isNumericId, money, parseMinor, requireIdFormat, requireStaff } from '../../platform/src/index.js';
import type { Resolvers } from './generated/resolverTypes.js';

const projectId = (argument: string, id: string) =>
  requireIdFormat(argument, id, isCanonicalProjectId, 'a canonical project ID (prj_ followed by a 26-character ULID)');
const milestoneId = (argument: string, id: string) => requireIdFormat(argument, id, isNumericId, 'a numeric PSA milestone ID');

/** An amount of at least 0 with at most two decimals, in minor units. */
function amountOf(argument: string, amount: string): number {
  const minor = /^\d+(\.\d{1,2})?$/.test(amount) ? parseMinor(amount) : -1;
  if (minor < 0) throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "${argument}" must be an amount of at least 0 with at most 2 decimals.`, { argument });
  return minor;
}

const blankToNull = (value: string | null | undefined): string | null => value?.trim() || null;

export const psaBillingStatusResolvers: Resolvers = {
  Mutation: {
    recordProjectBillingStatus: async (_, { input }, { billingStatus, loaders }) => {
      const id = projectId('input.projectId', input.projectId);
      const lastInvoiceId = blankToNull(input.lastInvoiceId);
      const lastInvoiceStatus = input.lastInvoiceStatus ?? null;
      if ((lastInvoiceId === null) !== (lastInvoiceStatus === null))
        throw inputError(ErrorCode.BAD_USER_INPUT, 'Arguments "input.lastInvoiceId" and "input.lastInvoiceStatus" go together: give both or neither.', {
          argument: 'input.lastInvoiceStatus',
        });
      const lastInvoiceNumber = blankToNull(input.lastInvoiceNumber);
      if (lastInvoiceId === null && lastInvoiceNumber !== null)
        throw inputError(ErrorCode.BAD_USER_INPUT, 'Argument "input.lastInvoiceNumber" needs the invoice it numbers (input.lastInvoiceId).', {
          argument: 'input.lastInvoiceNumber',
        });
      const { applied } = await billingStatus.recordProjectBillingStatus({
        projectId: id,
        asOf: new Date(input.asOf).toISOString(),
        currency: input.currency,
        billedMinor: amountOf('input.billed', input.billed),
        unbilledMinor: amountOf('input.unbilled', input.unbilled),
        lastInvoiceId,
        lastInvoiceNumber,
        lastInvoiceStatus,
      });
      return { applied, billingStatus: await existing(loaders.billingStatusByProjectId.load(id), `Billing status of project ${id}`) };
    },
    recordMilestoneInvoice: async (_, { input }, { billingStatus, loaders }) => {
      const id = milestoneId('input.milestoneId', input.milestoneId);
      const { applied } = await billingStatus.recordMilestoneInvoice({
        milestoneId: id,
        asOf: new Date(input.asOf).toISOString(),
        invoiceId: input.invoiceId,
        invoiceNumber: blankToNull(input.invoiceNumber),
        invoiceStatus: input.invoiceStatus,
      });
      return { applied, invoice: await existing(loaders.invoiceByMilestoneId.load(id), `Invoice of milestone ${id}`) };
    },
  },

  Project: {
    billingStatus: (project, _, { loaders }) => loaders.billingStatusByProjectId.load(project.id),
  },

  Milestone: {
    invoice: (milestone, _, { loaders }) => loaders.invoiceByMilestoneId.load(milestone.id),
  },

  ProjectBillingStatus: {
    billed: (status) => money(status.billedMinor, status.currency),
    // Work in progress not yet invoiced is the firm's own figure (the schema asks staff for it too).
    unbilled: (status, _, { caller }) => {
      requireStaff(caller, 'Unbilled work in progress');
      return money(status.unbilledMinor, status.currency);
    },
  },

  MilestoneInvoice: {
    invoice: (milestoneInvoice) => ({ id: milestoneInvoice.invoiceId }),
  },
};
