/**
 * What billing reports back to the PSA, so that a project manager sees billing in the PSA: the project's billed
 * and unbilled amounts with its last invoice, and the invoice each billable milestone went out on. The process
 * layer pushes both on each invoice event (`invoice.posted`, `.paid`, `.voided`, `.marked_uncollectible`).
 *
 * Each record carries the instant of the billing event it reflects (`asOf`), and the newer one wins: a record
 * whose stored `asOf` is the same or later is left as it is (`applied: false`, nothing written), so events that
 * arrive out of order never move a status back and a replay is a no-op. Instants are kept and answered in UTC
 * (`2026-11-02T09:30:00.000Z`).
 */

/** An invoice's status as billing reports it (Stripe's invoice statuses). */
export type InvoiceStatus = 'DRAFT' | 'OPEN' | 'PAID' | 'VOID' | 'UNCOLLECTIBLE';

export interface ProjectBillingStatusUpdate {
  /** Canonical project ID (`prj_…`). */
  readonly projectId: string;
  readonly asOf: string;
  readonly currency: string;
  /** What billing has invoiced, in minor units. */
  readonly billedMinor: number;
  /** Work in progress ERP holds that is not invoiced yet, in minor units. */
  readonly unbilledMinor: number;
  readonly lastInvoiceId: string | null;
  readonly lastInvoiceNumber: string | null;
  readonly lastInvoiceStatus: InvoiceStatus | null;
}

export interface ProjectBillingStatus extends ProjectBillingStatusUpdate {
  /** When the PSA last took an update (its own clock). */
  readonly updatedAt: string;
}

/**
 * The invoice a milestone was billed on. A VOID invoice's status is recorded too: the milestone then shows it was
 * invoiced on a voided invoice, so it is billable again.
 */
export interface MilestoneInvoiceUpdate {
  /** The PSA's milestone ID (as `PsaMilestone.id`). */
  readonly milestoneId: string;
  readonly asOf: string;
  readonly invoiceId: string;
  readonly invoiceNumber: string | null;
  readonly invoiceStatus: InvoiceStatus;
}

export interface MilestoneInvoice extends MilestoneInvoiceUpdate {
  readonly updatedAt: string;
}

export interface PsaBillingStatus {
  /** Projects billing never reported on are absent. */
  projectBillingStatusByProjectId(projectIds: readonly string[]): Promise<Map<string, ProjectBillingStatus>>;
  /** Milestones never invoiced are absent. */
  milestoneInvoiceByMilestoneId(milestoneIds: readonly string[]): Promise<Map<string, MilestoneInvoice>>;
  /** Newer `asOf` wins (see above); NOT_FOUND for an unknown project. */
  recordProjectBillingStatus(update: ProjectBillingStatusUpdate): Promise<{ readonly applied: boolean }>;
  /** Newer `asOf` wins (see above); NOT_FOUND for an unknown milestone. */
  recordMilestoneInvoice(update: MilestoneInvoiceUpdate): Promise<{ readonly applied: boolean }>;
}

/** Every call of the billing status port, by what it does (as a refusal names it). */
export const BILLING_STATUS_OPERATIONS: Record<keyof PsaBillingStatus, string> = {
  projectBillingStatusByProjectId: 'Reading a project’s billing status',
  milestoneInvoiceByMilestoneId: 'Reading a milestone’s invoice',
  recordProjectBillingStatus: 'Recording a project’s billing status',
  recordMilestoneInvoice: 'Recording a milestone’s invoice',
};
