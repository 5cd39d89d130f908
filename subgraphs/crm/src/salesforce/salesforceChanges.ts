/**
 * The CRM's business events from Salesforce, found by polling: opportunities changed since a SystemModstamp
 * high-water mark, compared with the won flag psgraph last saw of each. IsWon turning true is
 * `opportunity.closed_won`; turning false is `opportunity.reopened` — the events the sandbox emits, with the same
 * data, so activation works unchanged. (Change Data Capture would push the same facts; polling needs no add-on, no
 * streaming client, and survives a restart by its mark alone.)
 *
 * The first poll reads every opportunity's won flag as it stands and emits nothing: deals won before psgraph was
 * switched on are not activated by surprise.
 */
import { type BusEvent, newEvent } from '../../../platform/src/events/index.js';
import { money } from '../../../platform/src/index.js';
import type { SqliteStore } from '../../../platform/src/storage/sqliteStore.js';
import type { ChangePage } from '../../../platform/src/vendor/changeFeed.js';
import type { CrmOpportunity } from '../crmPort.js';
import { type SalesforceClient, soqlString } from './salesforceClient.js';
import { OPPORTUNITY_FIELDS, type OpportunityRecord, select, toOpportunity } from './salesforceRecords.js';

/** Opportunities read per poll. */
const PAGE_SIZE = 200;

const SEEN_DDL = `
CREATE TABLE IF NOT EXISTS salesforce_opportunity_seen (
  id TEXT PRIMARY KEY,
  is_won INTEGER NOT NULL,
  stage_name TEXT NOT NULL);`;

type ChangedRecord = OpportunityRecord & { readonly SystemModstamp: string };

/** `2026-11-01T00:00:00.000+0000` (Salesforce's datetime) as ISO in UTC, comparable as text. */
const isoStamp = (stamp: string) => new Date(stamp.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')).toISOString();

/** The mark: the last SystemModstamp read and the ID read last at it (two records may share a stamp). */
function parseMark(mark: string): { stamp: string; id: string } {
  const [stamp, id] = mark.split('|');
  return { stamp: stamp!, id: id ?? '' };
}

export function salesforceOpportunityChanges(salesforce: SalesforceClient, store: SqliteStore): (mark: string | null) => Promise<ChangePage> {
  store.exec(SEEN_DDL);
  const seen = store.prepareBackground<{ is_won: number; stage_name: string }>('SELECT is_won, stage_name FROM salesforce_opportunity_seen WHERE id = ?');
  const remember = store.prepareBackground(
    `INSERT INTO salesforce_opportunity_seen (id, is_won, stage_name) VALUES (?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET is_won = excluded.is_won, stage_name = excluded.stage_name`,
  );
  const fields = [...OPPORTUNITY_FIELDS, 'SystemModstamp'];

  const baseline = async (): Promise<ChangePage> => {
    const records = await salesforce.query<ChangedRecord>('changes', `${select(fields, 'Opportunity')} ORDER BY SystemModstamp, Id`);
    const last = records.at(-1);
    return {
      events: [],
      mark: last ? `${isoStamp(last.SystemModstamp)}|${String(last.Id)}` : `${new Date(0).toISOString()}|`,
      more: false,
      record: () => {
        for (const record of records) remember.run([String(record.Id), record.IsWon === true ? 1 : 0, String(record.StageName)]);
      },
    };
  };

  return async (mark) => {
    if (mark === null) return baseline();
    const after = parseMark(mark);
    // Keyset paging on (SystemModstamp, Id): records that share a stamp are neither skipped nor read twice.
    const records = await salesforce.query<ChangedRecord>(
      'changes',
      `${select(fields, 'Opportunity')} WHERE SystemModstamp > ${after.stamp} OR (SystemModstamp = ${after.stamp} AND Id > ${soqlString(after.id)}) ` +
        `ORDER BY SystemModstamp, Id LIMIT ${PAGE_SIZE + 1}`,
    );
    const page = records.slice(0, PAGE_SIZE);
    const events: BusEvent[] = [];
    for (const record of page) {
      const opportunity = toOpportunity(record);
      const before = seen.get([opportunity.id]);
      const occurredAt = new Date(isoStamp(record.SystemModstamp));
      if (opportunity.isWon && (!before || before.is_won === 0)) events.push(opportunityEvent('opportunity.closed_won', opportunity, occurredAt, {}));
      if (!opportunity.isWon && before?.is_won === 1)
        events.push(opportunityEvent('opportunity.reopened', opportunity, occurredAt, { previousStage: before.stage_name }));
    }
    const last = page.at(-1);
    return {
      events,
      mark: last ? `${isoStamp(last.SystemModstamp)}|${String(last.Id)}` : mark,
      more: records.length > PAGE_SIZE,
      record: () => {
        for (const record of page) remember.run([String(record.Id), record.IsWon === true ? 1 : 0, String(record.StageName)]);
      },
    };
  };
}

/** The event as the sandbox emits it (contracts/events/opportunity.*.v1), at the change's SystemModstamp. */
function opportunityEvent(type: string, opportunity: CrmOpportunity, occurredAt: Date, extra: Record<string, unknown>): BusEvent {
  return newEvent(type, {
    source: 'crm',
    subject: opportunity.id,
    occurredAt,
    data: {
      opportunityId: opportunity.id,
      accountId: opportunity.accountId,
      isWon: opportunity.isWon,
      amount: money(opportunity.amountMinor, opportunity.currency),
      deliveryRegion: opportunity.deliveryRegion,
      stage: opportunity.stageName,
      ...extra,
    },
  });
}
