/**
 * The ERP subgraph's billing resolvers, for the process layer alone (`erpPostingsFor`): what is due to be
 * invoiced, invoices recorded from billing's events, billing positions and unbilled work. Arguments are checked
 * here; the rule that nothing is billed twice is the system's.
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { inputError, isStripeId, money, requireIdFormat } from '../../platform/src/index.js';
import { amount, projectId } from './erpMutations.js';
import { EXTERNAL_ID } from './erpPostingResolvers.js';
import type { CurrencyCode, Resolvers } from './generated/resolverTypes.js';

/** A posting (`time:<entry>:v<version>`, …) or a schedule line (`schedule:<projectId>:<sequence>`). */
const SCHEDULE_LINE_KEY = /^schedule:prj_[0-9A-HJKMNP-TV-Z]{26}:[1-9][0-9]{0,5}$/;
const isSourceKey = (key: string) => EXTERNAL_ID.test(key) || SCHEDULE_LINE_KEY.test(key);
const MAX_PROJECTS = 500;
/** Stripe's limit on an invoice's lines. */
const MAX_SOURCES = 250;

function projectIds(argument: string, ids: readonly string[]): string[] {
  if (ids.length > MAX_PROJECTS)
    throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "${argument}" holds ${ids.length} projects; at most ${MAX_PROJECTS} per call.`, { argument });
  return ids.map((id, i) => projectId(`${argument}[${i}]`, id));
}

export const erpBillingResolvers: Resolvers = {
  Query: {
    erpBillables: async (_, args, { postings }) => {
      const billables = await postings.billablesByProjectId(args.upTo, args.projectIds == null ? null : projectIds('projectIds', args.projectIds));
      return billables.map((project) => ({
        projectId: project.projectId,
        contractType: project.contractType,
        currency: project.currency as CurrencyCode,
        postings: project.postings.map((posting) => ({
          externalId: posting.externalId,
          kind: posting.kind,
          date: posting.date,
          item: posting.item,
          minutes: posting.minutes,
          rate: posting.rateMinor === null ? null : money(posting.rateMinor, posting.currency),
          billableAmount: money(posting.billableMinor, posting.currency),
          memo: posting.memo,
        })),
        scheduleLines: project.scheduleLines.map((line) => ({ ...line, amount: money(line.amountMinor, project.currency) })),
      }));
    },
    erpInvoices: async (_, args, { postings }) => {
      const id = projectId('projectId', args.projectId);
      return ((await postings.invoicesByProjectId([id])).get(id) ?? []).map((invoice) => ({
        ...invoice,
        total: money(invoice.totalMinor, invoice.currency),
        amountPaid: money(invoice.amountPaidMinor, invoice.currency),
        credited: money(invoice.creditedMinor, invoice.currency),
        sourceKeys: [...invoice.sourceKeys],
      }));
    },
    erpBillingPositions: async (_, args, { postings }) =>
      [...(await postings.billingPositionsByProjectId(projectIds('projectIds', args.projectIds))).values()].map((position) => ({
        projectId: position.projectId,
        unbilled: money(position.unbilledMinor, position.currency),
        unbilledPostings: position.unbilledPostings,
        billed: money(position.billedMinor, position.currency),
        paid: money(position.paidMinor, position.currency),
        receivable: money(position.receivableMinor, position.currency),
        writtenOff: money(position.writtenOffMinor, position.currency),
      })),
    erpUnbilledWip: async (_, __, { postings }) =>
      (await postings.unbilledWip()).map((wip) => ({ unbilled: money(wip.unbilledMinor, wip.currency), postings: wip.postings, projects: wip.projects })),
  },

  Mutation: {
    recordErpCreditNote: async (_, { input }, { postings }) => {
      const creditNoteId = requireIdFormat('input.creditNoteId', input.creditNoteId, (v) => isStripeId(v, 'cn'), 'a billing credit note ID (cn_…)');
      const sourceKeys = input.sourceKeys.map((key, i) =>
        requireIdFormat(`input.sourceKeys[${i}]`, key, isSourceKey, 'a posting key (time:<entry>:v<version>, …) or schedule:<projectId>:<sequence>'),
      );
      const totalMinor = amount('input.total', input.total);
      if (totalMinor === 0) throw inputError(ErrorCode.BAD_USER_INPUT, 'Argument "input.total" must be more than 0.', { argument: 'input.total' });
      const { applied } = await postings.recordCreditNote({
        creditNoteId,
        invoiceId: requireIdFormat('input.invoiceId', input.invoiceId, (v) => isStripeId(v, 'in'), 'a billing invoice ID (in_…)'),
        projectId: projectId('input.projectId', input.projectId),
        date: input.date,
        currency: input.currency,
        totalMinor,
        sourceKeys,
      });
      return { creditNoteId, applied };
    },
    recordErpInvoiceStatus: async (_, { input }, { postings }) => {
      const invoiceId = requireIdFormat('input.invoiceId', input.invoiceId, (v) => isStripeId(v, 'in'), 'a billing invoice ID (in_…)');
      if (input.sourceKeys.length > MAX_SOURCES)
        throw inputError(
          ErrorCode.BAD_USER_INPUT,
          `Argument "input.sourceKeys" holds ${input.sourceKeys.length} keys; an invoice has at most ${MAX_SOURCES} lines.`,
          {
            argument: 'input.sourceKeys',
          },
        );
      const sourceKeys = input.sourceKeys.map((key, i) =>
        requireIdFormat(`input.sourceKeys[${i}]`, key, isSourceKey, 'a posting key (time:<entry>:v<version>, …) or schedule:<projectId>:<sequence>'),
      );
      const totalMinor = amount('input.total', input.total);
      const amountPaidMinor = amount('input.amountPaid', input.amountPaid);
      if (amountPaidMinor > totalMinor)
        throw inputError(ErrorCode.BAD_USER_INPUT, 'Argument "input.amountPaid" exceeds the invoice\'s total.', { argument: 'input.amountPaid' });
      const { applied } = await postings.recordInvoiceStatus({
        invoiceId,
        number: input.number ?? null,
        projectId: projectId('input.projectId', input.projectId),
        status: input.status,
        date: input.date,
        asOf: input.asOf,
        currency: input.currency,
        totalMinor,
        amountPaidMinor,
        sourceKeys,
      });
      return { invoiceId, applied };
    },
  },
};
