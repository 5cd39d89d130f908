/**
 * psgraph's milestones over Kantata, in the replica (kantataReplica.ts): stories of type milestone. Where a
 * milestone is comes from the story itself (kantataRecords.ts `milestoneStatus`): its task status "Approved for
 * Billing" is APPROVED_FOR_BILLING, its state `completed` COMPLETED, anything else PLANNED; its actual date is the
 * "Completed On" custom field, and why its billing approval was last withdrawn the "Billing Approval Note" one.
 *
 * Kantata keeps no count of billing approvals: the billing version is counted here, one for each time a story is
 * seen turning "Approved for Billing" (a story first seen already approved counts one, as the sandbox seeds it).
 * Its events come from those changes, in the transaction that records them, whoever made the change (psgraph's
 * write or someone in Kantata) and whichever sees it first: `milestone.completed`, `.approved_for_billing` and
 * `.billing_approval_withdrawn`.
 */
import { type BusEvent, newEvent } from '../../../platform/src/events/index.js';
import { type SqliteStore, isNumericId, jsonList } from '../../../platform/src/index.js';
import type { PsaBillingMilestone } from '../psaDeliveryPort.js';
import type { PsaMilestone } from '../psaPort.js';
import { APPROVED_FOR_BILLING_STATUS, milestoneStatus } from './kantataRecords.js';
import { type MilestoneRow, upsert } from './kantataReplicaRows.js';

/** Columns a replica made before milestone approvals were kept lacks. */
const MILESTONE_COLUMNS = [
  ['billing_note', 'TEXT'],
  ['billing_version', 'INTEGER NOT NULL DEFAULT 0'],
] as const;

type MilestoneQueryRow = MilestoneRow & { project_id: string; currency: string; billing_version: number };

const SELECT = `SELECT m.*, w.project_id, w.currency FROM kantata_milestone m JOIN kantata_workspace w ON w.id = m.workspace_id
  WHERE w.project_id IS NOT NULL`;

export const toMilestone = (row: MilestoneQueryRow): PsaMilestone => ({
  id: row.id,
  projectId: row.project_id,
  name: row.title,
  targetDate: row.due_date ?? '',
  actualDate: row.completed_on,
  status: milestoneStatus(row),
  billable: row.billable === 1,
  amountMinor: row.billable === 1 ? (row.budget_in_cents ?? 0) : null,
  currency: row.currency,
});

const toBillingMilestone = (row: MilestoneQueryRow): PsaBillingMilestone => ({ ...toMilestone(row), billingVersion: row.billing_version });

/** A milestone with what psgraph needs to act on it in Kantata. */
export interface MilestoneState {
  readonly milestone: PsaBillingMilestone;
  readonly workspaceId: string;
}

export class KantataMilestoneReplica {
  private readonly statements;

  constructor(private readonly store: SqliteStore) {
    const columns = new Set(
      store
        .prepareBackground<{ name: string }>("SELECT name FROM pragma_table_info('kantata_milestone')")
        .all()
        .map((c) => c.name),
    );
    for (const [column, type] of MILESTONE_COLUMNS) if (!columns.has(column)) store.exec(`ALTER TABLE kantata_milestone ADD COLUMN ${column} ${type}`);
    // Approvals standing when the count began count one, as a first listing counts them.
    if (!columns.has('billing_version'))
      store.prepareBackground('UPDATE kantata_milestone SET billing_version = 1 WHERE status = ?').run([APPROVED_FOR_BILLING_STATUS]);
    const prepare = <Row>(sql: string) => store.prepareBackground<Row>(sql);
    this.statements = {
      upsert: prepare(
        upsert('kantata_milestone', [
          'id',
          'workspace_id',
          'title',
          'due_date',
          'completed_on',
          'state',
          'status',
          'billable',
          'budget_in_cents',
          'position',
          'billing_note',
          'updated_at',
        ]),
      ),
      row: prepare<MilestoneRow & { billing_version: number }>('SELECT * FROM kantata_milestone WHERE id = ?'),
      approved: prepare('UPDATE kantata_milestone SET billing_version = billing_version + 1 WHERE id = ?'),
      full: prepare<MilestoneQueryRow>(`${SELECT} AND m.id = ?`),
    };
  }

  /** Records a milestone story; its change of status is the milestone's event (none during the baseline: `events` null). */
  apply(row: MilestoneRow, events: BusEvent[] | null): void {
    const before = this.statements.row.get([row.id]);
    this.statements.upsert.run({ ...row });
    const after = this.statements.row.get([row.id])!;
    const was = before ? milestoneStatus(before) : null;
    const now = milestoneStatus(after);
    if (was === now) return;
    if (now === 'APPROVED_FOR_BILLING') this.statements.approved.run([row.id]);
    // A milestone first seen is where it stands: nothing happened to it that psgraph should announce.
    if (events === null || was === null) return;
    const state = this.state(row.id);
    if (!state) return;
    const { milestone } = state;
    const occurredAt = new Date(after.updated_at);
    const emit = (type: string, data: Record<string, unknown>) =>
      events.push(newEvent(type, { source: 'psa', subject: milestone.id, occurredAt, data: { milestoneId: milestone.id, ...data } }));
    if (was === 'PLANNED') emit('milestone.completed', { projectId: milestone.projectId, actualDate: milestone.actualDate ?? after.updated_at.slice(0, 10) });
    if (now === 'APPROVED_FOR_BILLING') {
      emit('milestone.approved_for_billing', {
        version: milestone.billingVersion,
        projectId: milestone.projectId,
        name: milestone.name,
        actualDate: milestone.actualDate ?? after.updated_at.slice(0, 10),
        amountMinor: milestone.amountMinor ?? 0,
        currency: milestone.currency,
      });
    } else if (was === 'APPROVED_FOR_BILLING') {
      emit('milestone.billing_approval_withdrawn', {
        version: milestone.billingVersion,
        projectId: milestone.projectId,
        reason: after.billing_note?.trim() || 'Withdrawn in Kantata',
      });
    }
  }

  state(id: string): MilestoneState | undefined {
    if (!isNumericId(id)) return undefined;
    const row = this.statements.full.get([id]);
    return row ? { milestone: toBillingMilestone(row), workspaceId: row.workspace_id } : undefined;
  }

  byId(ids: readonly string[]): Map<string, PsaBillingMilestone> {
    const rows = this.store
      .prepareBackground<MilestoneQueryRow>(`${SELECT} AND m.id IN (SELECT value FROM json_each(?))`)
      .all([jsonList(ids.filter(isNumericId))]);
    return new Map(rows.map((row) => [row.id, toBillingMilestone(row)]));
  }

  byProjectId(projectIds: readonly string[]): MilestoneQueryRow[] {
    return this.store
      .prepareBackground<MilestoneQueryRow>(`${SELECT} AND w.project_id IN (SELECT value FROM json_each(?)) ORDER BY w.project_id, m.position, m.id`)
      .all([jsonList(projectIds)]);
  }
}
