/**
 * Milestones completed and approved for billing over Kantata (kantataMilestoneReplica.ts says what a milestone is
 * there): read from the replica, and moved with `PUT /stories/:id` — completing sets the task status "Completed"
 * and the "Completed On" custom field; approving for billing sets the status "Approved for Billing" (a status of
 * the account's task status set in the completed category: Kantata has no billing approval of its own);
 * withdrawing the approval sets "Completed" again with the reason in the "Billing Approval Note" custom field.
 * Each write first reads the story as Kantata holds it now, so it is refused for the sandbox's reasons with the
 * sandbox's codes and messages; what it changes goes into the replica with its event, in one local transaction.
 * Each write sets values (no counter, no create), so sending it twice leaves the same story: retried like a read.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { inputError } from '../../../platform/src/index.js';
import type { PsaBillingMilestone } from '../psaDeliveryPort.js';
import { CustomValues, type KantataCatalog, customFieldParam } from './kantataCatalog.js';
import { type Envelope, type KantataClient, resultsOf } from './kantataClient.js';
import type { KantataPsaOptions } from './kantataReads.js';
import { APPROVED_FOR_BILLING_STATUS } from './kantataRecords.js';
import type { KantataReplica } from './kantataReplica.js';
import { MILESTONE_PARAMS, milestoneRow } from './kantataSync.js';
import { refuse } from './kantataWrites.js';

const COMPLETED_STATUS = 'Completed';

export class KantataMilestones {
  constructor(
    private readonly kantata: KantataClient,
    private readonly catalog: KantataCatalog,
    private readonly replica: KantataReplica,
    private readonly options: Pick<KantataPsaOptions, 'replicaReady' | 'commit'>,
  ) {}

  async milestonesById(ids: readonly string[]): Promise<Map<string, PsaBillingMilestone>> {
    await this.options.replicaReady();
    return this.replica.milestones.byId(ids);
  }

  async completeMilestone(id: string, actualDate: string): Promise<PsaBillingMilestone> {
    const milestone = await this.current(id);
    if (milestone.status !== 'PLANNED') return milestone;
    const completedOn = customFieldParam(await this.catalog.field('completedOn'), actualDate);
    return this.update(id, { status: COMPLETED_STATUS, custom_fields: [completedOn] });
  }

  async approveMilestoneForBilling(id: string): Promise<PsaBillingMilestone> {
    const milestone = await this.current(id);
    if (milestone.status === 'APPROVED_FOR_BILLING') return milestone;
    if (milestone.status !== 'COMPLETED') throw refuse(`Milestone ${id} is planned: complete it before approving it for billing.`);
    if (!milestone.billable) throw refuse(`Milestone ${id} is not billable; only billable milestones are approved for billing.`);
    return this.update(id, { status: APPROVED_FOR_BILLING_STATUS });
  }

  async withdrawMilestoneBillingApproval(id: string, reason: string): Promise<PsaBillingMilestone> {
    const milestone = await this.current(id);
    if (milestone.status === 'COMPLETED') return milestone;
    if (milestone.status !== 'APPROVED_FOR_BILLING') throw refuse(`Milestone ${id} is planned; it has no billing approval to withdraw.`);
    const note = customFieldParam(await this.catalog.field('billingNote'), reason);
    return this.update(id, { status: COMPLETED_STATUS, custom_fields: [note] });
  }

  /** `PUT /stories/:id`; the story it answers goes into the replica with the event its change means. */
  private async update(id: string, story: Record<string, unknown>): Promise<PsaBillingMilestone> {
    const envelope = await this.kantata.send('updateMilestone', true, 'PUT', `/stories/${id}`, { story }, MILESTONE_PARAMS);
    await this.apply(envelope);
    return this.replica.milestones.state(id)!.milestone;
  }

  /** The milestone as Kantata holds it now, applied with the event of any change someone made in Kantata since the last poll. */
  private async current(id: string): Promise<PsaBillingMilestone> {
    await this.options.replicaReady();
    if (!this.replica.milestones.state(id)) throw inputError(ErrorCode.NOT_FOUND, `Milestone ${id} does not exist in the PSA.`);
    await this.apply(await this.kantata.get('readMilestone', `/stories/${id}`, MILESTONE_PARAMS));
    return this.replica.milestones.state(id)!.milestone;
  }

  private async apply(envelope: Envelope): Promise<void> {
    const fields = await this.catalog.all();
    const values = CustomValues.of(envelope);
    this.options.commit((events) => {
      for (const record of resultsOf(envelope, 'stories')) this.replica.applyMilestone(milestoneRow(record, values, fields), events);
    });
  }
}
