/**
 * Automatic activation: consumes CRM's `opportunity.closed_won` (start, or find, the deal's run) and
 * `opportunity.reopened` (cancel the run still in flight, which compensates) in the `activation` consumer group,
 * at least once. Duplicates are harmless: the run table admits one run per deal, and the event ID is the
 * request's idempotency key. An event that does not match its contract is recorded as a dead letter with the
 * reason and acknowledged — acting on it could be wrong, and retrying it would fail the same way.
 */
import type { BusEvent, Consumer, EventBus } from '../../../platform/src/events/index.js';
import type { ActivationRunner } from '../saga/activationRunner.js';
import type { ActivationStore } from '../store/activationStore.js';
import { type EventContracts, contractChecked } from './eventContracts.js';
import type { Logger } from '../../../platform/src/logging/index.js';

export const ACTIVATION_CONSUMER_GROUP = 'activation';
export const CONSUMED_EVENT_TYPES = ['opportunity.closed_won', 'opportunity.reopened'] as const;

export interface OpportunityEventsConsumerOptions {
  readonly bus: EventBus;
  readonly store: ActivationStore;
  readonly runner: ActivationRunner;
  readonly contracts: EventContracts;
  /** This process's name in the group. */
  readonly consumer: string;
  readonly log?: Logger;
}

export function consumeOpportunityEvents(options: OpportunityEventsConsumerOptions): Consumer {
  const { store, runner, contracts } = options;
  const handle = contractChecked(
    { contracts, deadLetters: store.deadLetters, log: options.log, name: 'activation' },
    async (event: BusEvent): Promise<void> => {
      const opportunityId = (event.data as { opportunityId: string }).opportunityId;
      if (event.type === 'opportunity.closed_won') {
        store.runs.recordClosedWon(opportunityId, event.id, event.occurredAt);
        runner.activate(opportunityId, `event:${event.id}`, 'EVENT');
        return;
      }
      // Reopened: a run still holding the deal stops and undoes what it did; an active project stays (CRM refuses
      // to reopen a deal once its project is linked). Only a run requested before the reopening is about the deal
      // that was reopened: events arrive late, and a run started afterwards answers a newer request.
      const holding = store.runs.searchRuns(
        { opportunityId, statuses: ['REQUESTED', 'VALIDATING', 'EXCEPTION_OPEN', 'ERP_PROVISIONING', 'PSA_PROVISIONING', 'LINKING'] },
        { limit: 1, offset: 0 },
      );
      const run = holding.rows[0];
      if (run && run.requestedAt <= event.occurredAt)
        runner.cancelRun(run.id, `opportunity reopened in CRM (stage "${(event.data as { stage: string }).stage}")`);
    },
  );
  return options.bus.consume({ group: ACTIVATION_CONSUMER_GROUP, consumer: options.consumer, types: [...CONSUMED_EVENT_TYPES], handler: handle });
}
