/**
 * The invoicing process's API: invoice runs (and their preview), the invoices each planned and where each stands,
 * and how far an invoice's billing statuses have travelled back to ERP, CRM and the PSA. Staff only (the process
 * API's guard); running invoicing needs `billing:write`.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { inputError, isCanonicalProjectId, isStripeId, money, requireIdFormat } from '../../../platform/src/index.js';
import { latencyFigures } from '../figures.js';
import type { CurrencyCode, Resolvers } from '../generated/resolverTypes.js';
import { figuresWindow, reconciliationView, stuckArguments } from '../posting/postingResolvers.js';
import type { PlannedInvoice, RunInvoiceRecord } from './invoicingStore.js';

const MAX_PROJECTS = 500;
const MAX_RUNS = 100;
const RUN_ID = /^ivr_[0-9A-HJKMNP-TV-Z]{26}$/;

type InvoiceLike = RunInvoiceRecord | (PlannedInvoice & { readonly totalMinor: number });

const runInvoice = (invoice: InvoiceLike) => {
  const record = 'status' in invoice ? invoice : null;
  return {
    key: invoice.key,
    project: { id: invoice.projectId },
    status: record?.status ?? ('PLANNED' as const),
    invoice: record?.invoiceId ? { id: record.invoiceId } : null,
    invoiceNumber: record?.invoiceNumber ?? null,
    description: invoice.description,
    servicePeriodStart: invoice.servicePeriodStart,
    servicePeriodEnd: invoice.servicePeriodEnd,
    total: money(invoice.totalMinor, invoice.currency),
    lines: invoice.lines.map((line) => ({ sourceKey: line.sourceKey, description: line.description, amount: money(line.amountMinor, invoice.currency) })),
    errorCode: record?.errorCode ?? null,
    error: record?.error ?? null,
  };
};

export const invoicingResolvers: Resolvers = {
  Query: {
    projectToCashFigures: async (_, args, { store, invoicer }) => {
      const window = figuresWindow(args.filter ? { from: args.filter.from ?? null, to: args.filter.to ?? null } : null);
      return {
        approvalToInvoice: latencyFigures(store.cashFigures.approvalToInvoice(window)),
        invoiceToPayment: latencyFigures(store.cashFigures.invoiceToPayment(window)),
        unbilledWip: (await invoicer.unbilledWip()).map((wip) => ({
          ...wip,
          unbilled: { amount: wip.unbilled.amount, currency: wip.unbilled.currency as CurrencyCode },
        })),
        syncLag: store.cashFigures.syncLag(new Date()),
        staffingLeadTime: latencyFigures(store.cashFigures.staffingLeadTimes(window)),
      };
    },
    stuckTransactions: (_, args, { store }) => {
      const { before, limit } = stuckArguments(args.olderThanMinutes, args.first, 50);
      return store.cashFigures.stuck(before, limit).map((stuck) => ({ ...stuck, project: stuck.projectId ? { id: stuck.projectId } : null }));
    },
    latestReconciliation: (_, __, { reconciliations }) => {
      const latest = reconciliations.latest();
      return latest ? { ...latest, findings: latest.findings.map(reconciliationView) } : null;
    },
    invoiceRuns: (_, args, { store }) => {
      const first = args.first ?? 20;
      if (first < 0 || first > MAX_RUNS)
        throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "first" must be between 0 and ${MAX_RUNS}, got ${first}.`, { argument: 'first' });
      return store.invoicing.runs(first);
    },
    invoiceRun: (_, args, { store }) =>
      store.invoicing.run(requireIdFormat('id', args.id, (value) => RUN_ID.test(value), 'an invoice run ID (ivr_ and a ULID)')),
    invoiceStatusSync: (_, args, { store }) =>
      store.invoicing
        .syncOf(requireIdFormat('invoiceId', args.invoiceId, (value) => isStripeId(value, 'in'), 'a billing invoice ID (in_ and 24 letters and digits)'))
        .map((sync) => ({ ...sync, invoice: { id: sync.invoiceId } })),
  },
  InvoiceRun: {
    invoices: (run, _, { store }) => store.invoicing.invoicesOfRun(run.id).map(runInvoice),
  },
  Mutation: {
    runInvoicing: async (_, { input }, { invoicer, caller }) => {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(input.periodEnd))
        throw inputError(ErrorCode.BAD_USER_INPUT, 'Argument "input.periodEnd" must be a date, YYYY-MM-DD.', { argument: 'input.periodEnd' });
      if (input.projectIds && input.projectIds.length > MAX_PROJECTS)
        throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "input.projectIds" holds ${input.projectIds.length} projects; at most ${MAX_PROJECTS}.`, {
          argument: 'input.projectIds',
        });
      const projectIds =
        input.projectIds?.map((id, i) => requireIdFormat(`input.projectIds[${i}]`, id, isCanonicalProjectId, 'a canonical project ID (prj_ and a ULID)')) ??
        null;
      const request = { periodEnd: input.periodEnd, projectIds, requestedBy: caller.subject };
      const outcome = input.preview ? await invoicer.preview(request) : await invoicer.run(request);
      return { run: outcome.run, invoices: outcome.invoices.map(runInvoice) };
    },
    resumeInvoicing: (_, __, { invoicer }) => invoicer.resume(),
    runReconciliation: async (_, __, { reconciliations }) => {
      const run = await reconciliations.runOnce();
      return { ...run, findings: run.findings.map(reconciliationView) };
    },
  },
};
