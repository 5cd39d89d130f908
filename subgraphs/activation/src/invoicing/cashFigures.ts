/**
 * Project-to-cash health from the flows' own timestamps, and the stuck lists: what an operations console shows.
 *
 * - approval to invoice: each billed line, from the PSA's approval event to the finalization of the invoice that
 *   bills it; invoice to payment: each invoice, from its `invoice.posted` event to its `invoice.paid` event;
 * - sync lag per flow: the age of the oldest item each flow of the process layer has taken in and not finished
 *   (the bus's own backlog per consumer group is a metric of the event bus, not a business figure);
 * - staffing lead time: each resource request, from `resource_request.created` to its `assignment.confirmed`,
 *   kept by the `staffing-figures` consumer group.
 * Unbilled WIP is ERP's, live (read by the resolver).
 */
import type { BusEvent, Consumer, EventBus } from '../../../platform/src/events/index.js';
import type { SqliteStore } from '../../../platform/src/index.js';
import { type EventContracts, contractChecked } from '../events/eventContracts.js';
import { sqlList } from '../store/activationSchema.js';
import type { DeadLetters } from '../store/deadLetters.js';
import { RUN_STATUSES } from '../saga/activationStates.js';
import type { Logger } from '../../../platform/src/logging/index.js';

export const STAFFING_DDL = `
CREATE TABLE IF NOT EXISTS staffing_request (
  request_id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  requested_at TEXT,
  confirmed_at TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS staffing_request_confirmed ON staffing_request(confirmed_at);
`;

/** Runs that have not ended as activated or let go: a won deal without its project yet. */
const OPEN_RUN_STATUSES = RUN_STATUSES.filter((status) => !['ACTIVE', 'CANCELLED', 'COMPENSATED'].includes(status));

export type StuckKind = 'APPROVED_NOT_POSTED' | 'MILESTONE_NOT_INVOICED' | 'INVOICE_NOT_FINALIZED' | 'STATUS_NOT_SYNCED' | 'WON_DEAL_WITHOUT_PROJECT';

export interface StuckTransaction {
  readonly kind: StuckKind;
  /** The stuck record: a posting key, an invoice key, an invoice and status, a deal. */
  readonly reference: string;
  readonly projectId: string | null;
  readonly since: string;
  readonly cause: string;
  readonly owner: string;
  readonly fix: string;
}

export interface Window {
  readonly from: string | null;
  readonly to: string | null;
}

const seconds = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;

export class CashFigures {
  constructor(private readonly sqlite: SqliteStore) {
    sqlite.exec(STAFFING_DDL);
  }

  /** Per billed delivery line: approval to its invoice's finalization, for invoices finalized in the window. */
  approvalToInvoice(window: Window): number[] {
    return this.sqlite
      .prepare<{ approved_at: string; finalized_at: string }>(
        `SELECT d.approved_at, r.finalized_at FROM billed_source b JOIN run_invoice r ON r.key = b.invoice_key JOIN delivery_line d ON d.source_key = b.source_key
         WHERE r.finalized_at IS NOT NULL AND r.finalized_at >= COALESCE(?, '') AND r.finalized_at <= COALESCE(?, '9999')`,
      )
      .all([window.from, window.to])
      .map((row) => Math.max(0, seconds(row.approved_at, row.finalized_at)));
  }

  /** Per invoice paid in the window: its posted event to its paid event. */
  invoiceToPayment(window: Window): number[] {
    return this.sqlite
      .prepare<{ posted: string; paid: string }>(
        `SELECT o.occurred_at AS posted, p.occurred_at AS paid FROM invoice_sync p JOIN invoice_sync o ON o.invoice_id = p.invoice_id AND o.status = 'OPEN'
         WHERE p.status = 'PAID' AND p.occurred_at >= COALESCE(?, '') AND p.occurred_at <= COALESCE(?, '9999')`,
      )
      .all([window.from, window.to])
      .map((row) => Math.max(0, seconds(row.posted, row.paid)));
  }

  /** Per request confirmed in the window: its creation to its confirmation. */
  staffingLeadTimes(window: Window): number[] {
    return this.sqlite
      .prepare<{ requested_at: string; confirmed_at: string }>(
        `SELECT requested_at, confirmed_at FROM staffing_request
         WHERE requested_at IS NOT NULL AND confirmed_at IS NOT NULL AND confirmed_at >= COALESCE(?, '') AND confirmed_at <= COALESCE(?, '9999')`,
      )
      .all([window.from, window.to])
      .map((row) => Math.max(0, seconds(row.requested_at, row.confirmed_at)));
  }

  /** The oldest unfinished item and how many there are, per flow. */
  syncLag(now: Date): Array<{ flow: string; pending: number; oldestSince: string | null; ageSeconds: number | null }> {
    const flows: Array<[string, string]> = [
      ['activation', `SELECT COUNT(*) AS pending, MIN(requested_at) AS oldest FROM activation_run WHERE status IN ${sqlList(OPEN_RUN_STATUSES)}`],
      ['posting', "SELECT COUNT(*) AS pending, MIN(approved_at) AS oldest FROM delivery_line WHERE status IN ('PENDING', 'EXCEPTION')"],
      ['invoicing', "SELECT COUNT(*) AS pending, MIN(planned_at) AS oldest FROM run_invoice WHERE status IN ('PLANNED', 'CREATED')"],
      ['billing-status', 'SELECT COUNT(*) AS pending, MIN(occurred_at) AS oldest FROM invoice_sync WHERE erp_at IS NULL OR crm_at IS NULL OR psa_at IS NULL'],
    ];
    return flows.map(([flow, sql]) => {
      const row = this.sqlite.prepare<{ pending: number; oldest: string | null }>(sql).get([])!;
      return { flow, pending: row.pending, oldestSince: row.oldest, ageSeconds: row.oldest ? Math.max(0, seconds(row.oldest, now.toISOString())) : null };
    });
  }

  /**
   * Everything stuck between a won deal and cash for longer than up to `before`, oldest first, each with its cause,
   * who owns the fix, and the fix.
   */
  stuck(before: string, limit: number): StuckTransaction[] {
    const rows: StuckTransaction[] = [];
    const add = (sql: string, map: (row: Record<string, string | null>) => StuckTransaction) =>
      rows.push(...this.sqlite.prepare<Record<string, string | null>>(sql).all([before, limit]).map(map));
    add(
      `SELECT d.source_key, d.kind, d.project_id, d.approved_at, d.status,
         (SELECT group_concat(e.type || ': ' || e.message, ' | ') FROM billing_exception e WHERE e.source_key = d.source_key AND e.status = 'OPEN') AS problems,
         (SELECT e.owner_team FROM billing_exception e WHERE e.source_key = d.source_key AND e.status = 'OPEN' ORDER BY e.detected_at LIMIT 1) AS owner,
         (SELECT e.resolution FROM billing_exception e WHERE e.source_key = d.source_key AND e.status = 'OPEN' ORDER BY e.detected_at LIMIT 1) AS fix
       FROM delivery_line d WHERE d.status IN ('PENDING', 'EXCEPTION') AND d.approved_at < ? ORDER BY d.approved_at LIMIT ?`,
      (row) => ({
        kind: 'APPROVED_NOT_POSTED',
        reference: row['source_key']!,
        projectId: row['project_id'] ?? null,
        since: row['approved_at']!,
        cause: row['problems'] ?? 'Approved and taken in, not yet posted to ERP (the posting process has not checked it yet).',
        owner: row['owner'] ?? 'Integration engineering',
        fix: row['fix'] ?? 'Check that the posting process is running and ERP answers (see the posting flow’s sync lag).',
      }),
    );
    add(
      `SELECT d.source_key, d.record_id, d.project_id, d.posted_at FROM delivery_line d
       WHERE d.kind = 'MILESTONE' AND d.status = 'POSTED' AND d.posted_at < ?
         AND NOT EXISTS (SELECT 1 FROM billed_source b WHERE b.source_key = d.source_key) ORDER BY d.posted_at LIMIT ?`,
      (row) => ({
        kind: 'MILESTONE_NOT_INVOICED',
        reference: row['source_key']!,
        projectId: row['project_id'] ?? null,
        since: row['posted_at']!,
        cause: `Milestone ${row['record_id']} was approved for billing and posted to ERP, and no invoice bills it yet.`,
        owner: 'Billing operations',
        fix: 'Run invoicing for the project (runInvoicing), or find why its invoice failed in the invoice runs.',
      }),
    );
    add(
      `SELECT key, project_id, planned_at, status, error FROM run_invoice WHERE status IN ('PLANNED', 'CREATED') AND planned_at < ? ORDER BY planned_at LIMIT ?`,
      (row) => ({
        kind: 'INVOICE_NOT_FINALIZED',
        reference: row['key']!,
        projectId: row['project_id'] ?? null,
        since: row['planned_at']!,
        cause: `Planned by an invoice run and ${row['status'] === 'CREATED' ? 'created as a draft' : 'not yet created'} in billing: billing did not answer.`,
        owner: 'Integration engineering',
        fix: 'Once billing answers, resumeInvoicing carries it on (it is also resumed at start-up and before every run).',
      }),
    );
    add(
      `SELECT invoice_id, status, project_id, occurred_at, erp_at, crm_at, psa_at FROM invoice_sync
       WHERE (erp_at IS NULL OR crm_at IS NULL OR psa_at IS NULL) AND occurred_at < ? ORDER BY occurred_at LIMIT ?`,
      (row) => ({
        kind: 'STATUS_NOT_SYNCED',
        reference: `${row['invoice_id']}:${row['status']}`,
        projectId: row['project_id'] ?? null,
        since: row['occurred_at']!,
        cause: `Invoice ${row['invoice_id']} is ${row['status']} in billing and not yet in ${(['erp', 'crm', 'psa'] as const)
          .filter((system) => row[`${system}_at`] === null)
          .map((system) => system.toUpperCase())
          .join(', ')}.`,
        owner: 'Integration engineering',
        fix: 'The billing-status consumer retries while a system is unreachable; a refusal is a dead letter with its reason — fix it and replay.',
      }),
    );
    add(
      `SELECT id, opportunity_id, project_id, status, cause, COALESCE(closed_won_at, requested_at) AS since FROM activation_run
       WHERE status IN ${sqlList(OPEN_RUN_STATUSES)} AND COALESCE(closed_won_at, requested_at) < ? ORDER BY since LIMIT ?`,
      (row) => ({
        kind: 'WON_DEAL_WITHOUT_PROJECT',
        reference: row['opportunity_id']!,
        projectId: row['project_id'] ?? null,
        since: row['since']!,
        cause: `Deal ${row['opportunity_id']} was won and its activation run ${row['id']} is ${row['status']}${row['cause'] ? `: ${row['cause']}` : ''}.`,
        owner: row['status'] === 'EXCEPTION_OPEN' || row['status'] === 'VALIDATION_FAILED' ? 'Sales operations' : 'Integration engineering',
        fix: 'Resolve the run’s integration exception (the data at its source), then retryActivation.',
      }),
    );
    return rows.sort((a, b) => a.since.localeCompare(b.since)).slice(0, limit);
  }

  /** Records a staffing event's instant (a replay keeps the first). */
  staffingEvent(event: BusEvent): void {
    const data = event.data as { resourceRequestId: string; projectId: string };
    const column = event.type === 'resource_request.created' ? 'requested_at' : 'confirmed_at';
    this.sqlite
      .prepare(
        `INSERT INTO staffing_request (request_id, project_id, ${column}) VALUES (?, ?, ?)
         ON CONFLICT (request_id) DO UPDATE SET ${column} = COALESCE(staffing_request.${column}, excluded.${column})`,
      )
      .run([data.resourceRequestId, data.projectId, event.occurredAt]);
  }
}

export const STAFFING_EVENT_TYPES = ['resource_request.created', 'assignment.confirmed'];

/** Keeps the staffing events' instants for the lead time, in group `staffing-figures`; an event off its contract is a dead letter. */
export function consumeStaffingEvents(options: {
  bus: EventBus;
  figures: CashFigures;
  deadLetters: DeadLetters;
  contracts: EventContracts;
  consumer: string;
  log?: Logger;
}): Consumer {
  const handle = contractChecked(
    { contracts: options.contracts, deadLetters: options.deadLetters, log: options.log, name: 'staffing-figures' },
    async (event) => options.figures.staffingEvent(event),
  );
  return options.bus.consume({ group: 'staffing-figures', consumer: options.consumer, types: STAFFING_EVENT_TYPES, handler: handle });
}
