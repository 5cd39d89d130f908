/**
 * Reconciliation of one project across the PSA, the posting process and ERP, for the delivery the process has
 * taken in: every approval the PSA holds (since posting began) is in the process's lines, every posted line is in
 * ERP once with the same amounts, nothing ERP holds is posted without a line, and no line stays posted at a
 * version the PSA no longer approves. Each difference names the record in each system and what each says.
 */
import { formatMinor, parseMinor } from '../../../platform/src/index.js';
import type { CallSite } from '../systems/faults.js';
import type { SystemClient } from '../systems/systemClient.js';
import { type BillingTotals, reconcileBilling } from '../invoicing/billingReconciliation.js';
import type { LineRecord, PostingStore } from './postingStore.js';

export type DifferenceType =
  | 'APPROVAL_NOT_TAKEN_IN'
  | 'MISSING_IN_ERP'
  | 'UNEXPECTED_IN_ERP'
  | 'AMOUNT_DIFFERS'
  | 'CORRECTION_NOT_APPLIED'
  | 'INVOICE_STATUS_NOT_IN_ERP'
  | 'BILLED_AMOUNT_DIFFERS'
  | 'BILLED_TWICE'
  | 'BILLED_TOTAL_DIFFERS';

export interface Difference {
  readonly type: DifferenceType;
  readonly sourceKey: string | null;
  /** The PSA record: a timesheet, expense or milestone. */
  readonly psaRecord: string;
  readonly psa: string | null;
  readonly process: string | null;
  readonly erp: string | null;
  /** What billing says, for the billing differences. */
  readonly billing?: string | null;
  readonly detail: string;
}

export interface Reconciliation {
  readonly projectId: string;
  readonly checkedAt: string;
  readonly lines: number;
  readonly erpPostings: number;
  /** Billing's invoices of the project that psgraph made, and the billed totals billing and ERP each hold. */
  readonly billing: BillingTotals;
  readonly differences: readonly Difference[];
}

interface ErpPostingAnswer {
  erpDeliveryPostings: Array<{ externalId: string; status: 'POSTED' | 'REVERSED'; billableAmount: { amount: string }; cost: { amount: string } }>;
}

interface TimesheetsAnswer {
  timesheets: {
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    nodes: Array<{ id: string; status: string; version: number; approvedOn: string | null }>;
  };
}

const site = (system: CallSite['system'], operationName: string): CallSite => ({ system, operationName, step: null, phase: 'read', runId: null });

export async function reconcileProject(projectId: string, store: PostingStore, client: SystemClient): Promise<Reconciliation> {
  const records = store.linesOfProject(projectId);
  const [erpAnswer, sheets, billing] = await Promise.all([
    client.request<ErpPostingAnswer>({
      site: site('erp', 'ReconcileErpPostings'),
      query: `query ReconcileErpPostings($p: ID!) { erpDeliveryPostings(projectId: $p) { externalId status billableAmount { amount } cost { amount } } }`,
      variables: { p: projectId },
    }),
    timesheetsOf(projectId, client),
    reconcileBilling(projectId, client),
  ]);
  const erp = new Map(erpAnswer.erpDeliveryPostings.map((posting) => [posting.externalId, posting]));
  const byKey = new Map(records.map((record) => [record.line.sourceKey, record]));
  const differences: Difference[] = [];
  const psaRecordOf = (record: LineRecord) =>
    `${record.line.kind === 'TIME' ? 'timesheet' : record.line.kind.toLowerCase()} ${record.line.parentId ?? record.line.recordId}`;

  for (const record of records) {
    const { line } = record;
    const posting = erp.get(line.sourceKey);
    if (record.status === 'POSTED') {
      if (!posting || posting.status !== 'POSTED') {
        differences.push({
          type: 'MISSING_IN_ERP',
          sourceKey: line.sourceKey,
          psaRecord: psaRecordOf(record),
          psa: `approved v${line.version}`,
          process: 'POSTED',
          erp: posting ? posting.status : null,
          detail: `Posted by the process but ${posting ? 'reversed' : 'absent'} in ERP.`,
        });
        continue;
      }
      const billable = parseMinor(posting.billableAmount.amount);
      const cost = parseMinor(posting.cost.amount);
      // ERP bills the line's amount, or nothing where the contract does not bill it by the line (time on fixed fee).
      if (cost !== line.costMinor || (billable !== 0 && billable !== line.amountMinor)) {
        differences.push({
          type: 'AMOUNT_DIFFERS',
          sourceKey: line.sourceKey,
          psaRecord: psaRecordOf(record),
          psa: `value ${formatMinor(line.amountMinor)}, cost ${formatMinor(line.costMinor)}`,
          process: 'POSTED',
          erp: `billable ${formatMinor(billable)}, cost ${formatMinor(cost)}`,
          detail: 'ERP holds other amounts than were approved.',
        });
      }
    } else if (posting?.status === 'POSTED' && record.status !== 'PENDING') {
      // A pending line posted in ERP is in flight (ERP answered, the process has not recorded it yet): not a difference.
      differences.push({
        type: 'UNEXPECTED_IN_ERP',
        sourceKey: line.sourceKey,
        psaRecord: psaRecordOf(record),
        psa: `approved v${line.version}`,
        process: record.status,
        erp: 'POSTED',
        detail: `Posted in ERP while the process has it ${record.status.toLowerCase()}${record.status === 'REVERSED' || record.status === 'WITHDRAWN' ? ': its reversal did not reach ERP' : ''}.`,
      });
    }
  }
  for (const [externalId, posting] of erp) {
    if (posting.status === 'POSTED' && !byKey.has(externalId)) {
      differences.push({
        type: 'UNEXPECTED_IN_ERP',
        sourceKey: externalId,
        psaRecord: externalId.split(':').slice(0, 2).join(' '),
        psa: null,
        process: null,
        erp: 'POSTED',
        detail: 'Posted in ERP under a key the posting process never took in.',
      });
    }
  }

  // The PSA's approvals since posting began: each current approval taken in, and nothing posted at a version it withdrew.
  const since = store.firstApprovalDate();
  const linesByApproval = new Map<string, LineRecord[]>();
  for (const record of records.filter((candidate) => candidate.line.kind === 'TIME')) {
    const key = `${record.line.parentId}|${record.line.version}`;
    linesByApproval.set(key, [...(linesByApproval.get(key) ?? []), record]);
  }
  for (const sheet of sheets) {
    const current = sheet.status === 'APPROVED' ? linesByApproval.get(`${sheet.id}|${sheet.version}`) : undefined;
    if (sheet.status === 'APPROVED' && !current && since !== null && sheet.approvedOn !== null && sheet.approvedOn >= since) {
      differences.push({
        type: 'APPROVAL_NOT_TAKEN_IN',
        sourceKey: null,
        psaRecord: `timesheet ${sheet.id}`,
        psa: `approved v${sheet.version} on ${sheet.approvedOn}`,
        process: null,
        erp: null,
        detail: 'Approved in the PSA, but its approval never reached the posting process (a lost event): re-send it, or reopen and approve it again.',
      });
    }
    for (const [key, group] of linesByApproval) {
      const [sheetId, version] = key.split('|');
      if (sheetId !== sheet.id || Number(version) === (sheet.status === 'APPROVED' ? sheet.version : -1)) continue;
      for (const record of group.filter((candidate) => candidate.status === 'POSTED')) {
        differences.push({
          type: 'CORRECTION_NOT_APPLIED',
          sourceKey: record.line.sourceKey,
          psaRecord: `timesheet ${sheet.id}`,
          psa: `${sheet.status.toLowerCase()} v${sheet.version}`,
          process: `POSTED v${record.line.version}`,
          erp: erp.get(record.line.sourceKey)?.status ?? null,
          detail: 'Still posted at a version the PSA no longer approves: its un-approval never reached the posting process.',
        });
      }
    }
  }
  differences.push(...billing.differences);
  return { projectId, checkedAt: new Date().toISOString(), lines: records.length, erpPostings: erp.size, billing: billing.totals, differences };
}

async function timesheetsOf(projectId: string, client: SystemClient): Promise<TimesheetsAnswer['timesheets']['nodes']> {
  const nodes: TimesheetsAnswer['timesheets']['nodes'] = [];
  let after: string | null = null;
  for (;;) {
    const answer: TimesheetsAnswer = await client.request<TimesheetsAnswer>({
      site: site('psa', 'ReconcileTimesheets'),
      query: `query ReconcileTimesheets($p: ID!, $after: String) {
        timesheets(filter: { projectId: $p }, first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { id status version approvedOn } }
      }`,
      variables: { p: projectId, after },
    });
    nodes.push(...answer.timesheets.nodes);
    if (!answer.timesheets.pageInfo.hasNextPage) return nodes;
    after = answer.timesheets.pageInfo.endCursor;
  }
}
