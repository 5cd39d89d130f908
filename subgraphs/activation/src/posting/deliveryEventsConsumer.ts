/**
 * Posting to ERP as approvals happen: consumes the PSA's approvals (`timesheet.approved`, `expense.approved`,
 * `milestone.approved_for_billing`: post them) and their corrections (`timesheet.unapproved`, `expense.unapproved`,
 * `milestone.billing_approval_withdrawn`: reverse what that version posted) in the `posting` consumer group, at
 * least once.
 * Duplicates are harmless: lines are keyed by entry and version, postings by line. An event that does not match
 * its contract is recorded as a dead letter with the reason and acknowledged, never acted on. A failure to reach
 * ERP is thrown, so the bus delivers the event again later.
 */
import type { BusEvent, Consumer, EventBus } from '../../../platform/src/events/index.js';
import { type EventContracts, contractChecked } from '../events/eventContracts.js';
import type { DeadLetters } from '../store/deadLetters.js';
import { APPROVAL_EVENT_TYPES, CORRECTION_EVENT_TYPES, type DeliveryPoster } from './deliveryPoster.js';
import type { Logger } from '../../../platform/src/logging/index.js';

export const POSTING_CONSUMER_GROUP = 'posting';
export const POSTING_EVENT_TYPES = [...APPROVAL_EVENT_TYPES, ...CORRECTION_EVENT_TYPES];

export interface DeliveryEventsConsumerOptions {
  readonly bus: EventBus;
  readonly poster: DeliveryPoster;
  readonly deadLetters: DeadLetters;
  readonly contracts: EventContracts;
  /** This process's name in the group. */
  readonly consumer: string;
  readonly log?: Logger;
}

export function consumeDeliveryEvents(options: DeliveryEventsConsumerOptions): Consumer {
  const { poster, contracts } = options;
  const handle = contractChecked({ contracts, deadLetters: options.deadLetters, log: options.log, name: 'posting' }, async (event: BusEvent) => {
    if (APPROVAL_EVENT_TYPES.includes(event.type)) await poster.approved(event);
    else await poster.unapproved(event);
  });
  return options.bus.consume({ group: POSTING_CONSUMER_GROUP, consumer: options.consumer, types: POSTING_EVENT_TYPES, handler: handle });
}
