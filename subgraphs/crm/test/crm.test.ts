import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSalesforceId, isCanonicalProjectId } from '../../platform/src/index.js';
import { buildWorld } from '../../sandboxes/src/world/world.js';
import { execute, temporaryDataDir } from '../../platform/test/testSupport.js';
import { type CrmSubgraph, createCrmSubgraph } from '../src/crmSubgraph.js';
import type { SandboxCrm } from '../src/sandbox/sandboxCrm.js';

const world = { scale: 1, seed: 7, asOf: '2026-11-01' };

describe('CRM sandbox at the default seed volume', () => {
  const data = temporaryDataDir('crm');
  let crm: CrmSubgraph;
  beforeAll(() => {
    crm = createCrmSubgraph({ dataDir: data.dir, world, production: false });
  });
  afterAll(async () => {
    await crm.stop();
    data.remove();
  });

  const db = () => (crm.crm as SandboxCrm).store.db;
  const count = (sql: string) => db().prepare(sql).pluck().get() as number;

  it('holds at least 500 accounts with parent hierarchies and 3,000 opportunities across every stage', () => {
    expect(count('SELECT COUNT(*) FROM account')).toBeGreaterThanOrEqual(500);
    expect(count('SELECT COUNT(*) FROM account WHERE parent_id IS NOT NULL')).toBeGreaterThan(50);
    expect(count('SELECT COUNT(*) FROM opportunity')).toBeGreaterThanOrEqual(3000);
    expect(count('SELECT COUNT(DISTINCT stage_name) FROM opportunity')).toBe(10);
  });

  it('issues only 18-character Salesforce IDs with a valid checksum', () => {
    expect(count("SELECT COUNT(*) FROM account WHERE length(id) <> 18 OR id NOT LIKE '001%'")).toBe(0);
    const world1 = buildWorld(world);
    for (const account of world1.accounts.slice(0, 50)) expect(isSalesforceId(account.crmId, 'Account')).toBe(true);
    for (const opportunity of world1.opportunities.slice(0, 50)) expect(isSalesforceId(opportunity.crmId, 'Opportunity')).toBe(true);
    expect(isSalesforceId('0015g0000004CGIAA3', 'Account')).toBe(false);
  });

  it('keeps every amount equal to the sum of its line items', () => {
    expect(
      count(`SELECT COUNT(*) FROM opportunity o WHERE amount_minor <>
        (SELECT SUM(CAST(ROUND(hours * unit_price_minor) AS INTEGER)) FROM opportunity_line_item WHERE opportunity_id = o.id)`),
    ).toBe(0);
  });

  it('recomputes the amount when a line item changes and ignores a direct update of the amount', () => {
    const line = db().prepare('SELECT id, opportunity_id, hours, unit_price_minor FROM opportunity_line_item LIMIT 1').get() as {
      id: string;
      opportunity_id: string;
      hours: number;
      unit_price_minor: number;
    };
    const amount = () => db().prepare('SELECT amount_minor FROM opportunity WHERE id = ?').pluck().get(line.opportunity_id) as number;
    const before = amount();
    db().prepare('UPDATE opportunity_line_item SET hours = hours + 10 WHERE id = ?').run(line.id);
    expect(amount()).toBe(before + 10 * line.unit_price_minor);
    db().prepare('UPDATE opportunity SET amount_minor = 1 WHERE id = ?').run(line.opportunity_id);
    expect(amount()).toBe(before + 10 * line.unit_price_minor);
    db().prepare('UPDATE opportunity_line_item SET hours = hours - 10 WHERE id = ?').run(line.id);
    expect(amount()).toBe(before);
  });

  it('links every activated deal to a canonical project ID, and only won deals', () => {
    expect(count('SELECT COUNT(*) FROM opportunity WHERE project_id IS NOT NULL')).toBeGreaterThanOrEqual(1200);
    expect(count('SELECT COUNT(*) FROM opportunity o JOIN opportunity_stage s ON s.name = o.stage_name WHERE project_id IS NOT NULL AND s.is_won = 0')).toBe(0);
    const ids = db().prepare('SELECT project_id FROM opportunity WHERE project_id IS NOT NULL LIMIT 100').pluck().all() as string[];
    expect(ids.every(isCanonicalProjectId)).toBe(true);
  });

  it('resolves a Project reference to the opportunity it was activated from', async () => {
    const project = buildWorld(world).projects[3]!;
    const result = await execute(
      crm,
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Project { id opportunity { id isWon account { id } } } } }`,
      {
        r: [{ __typename: 'Project', id: project.id }],
      },
    );
    expect(result.errors).toBeUndefined();
    const opportunity = buildWorld(world).opportunities[project.opportunityIndex]!;
    expect(result.data!['_entities']).toEqual([
      { id: project.id, opportunity: { id: opportunity.crmId, isWon: true, account: { id: buildWorld(world).accounts[opportunity.accountIndex]!.crmId } } },
    ]);
  });

  it('rejects an account ID that is not a Salesforce Account ID with INVALID_ID', async () => {
    const result = await execute(crm, '{ account(id: "0065g0000004CthAAE") { id } }');
    expect(result.errors?.[0]?.extensions?.['code']).toBe('INVALID_ID');
    expect(result.errors?.[0]?.message).toBe(
      'Argument "id" has an invalid ID "0065g0000004CthAAE": expected an 18-character Salesforce Account ID (prefix 001).',
    );
  });

  it('rejects a page size over the maximum with PAGE_SIZE_OUT_OF_RANGE', async () => {
    const result = await execute(crm, '{ opportunities(first: 101) { totalCount } }');
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'PAGE_SIZE_OUT_OF_RANGE', maximum: 100 });
  });

  it('rejects an inverted close date range with INVALID_DATE_RANGE', async () => {
    const result = await execute(crm, '{ opportunities(filter: { closeDate: { from: "2026-05-01", to: "2026-01-01" } }) { totalCount } }');
    expect(result.errors?.[0]?.extensions?.['code']).toBe('INVALID_DATE_RANGE');
  });

  it('pages opportunities with stable cursors and a total count', async () => {
    const query = `query ($after: String) { opportunities(first: 3, after: $after, filter: { isWon: true }) { totalCount pageInfo { hasNextPage endCursor } nodes { id isWon } } }`;
    const first = await execute(crm, query);
    const page1 = first.data!['opportunities'];
    expect(page1.nodes).toHaveLength(3);
    expect(page1.nodes.every((o: { isWon: boolean }) => o.isWon)).toBe(true);
    const second = await execute(crm, query, { after: page1.pageInfo.endCursor });
    const page2 = second.data!['opportunities'];
    expect(page2.totalCount).toBe(page1.totalCount);
    expect(page2.nodes.map((o: { id: string }) => o.id)).not.toContain(page1.nodes[0].id);
    const forged = await execute(crm, query, { after: Buffer.from('accounts:1').toString('base64url') });
    expect(forged.errors?.[0]?.extensions?.['code']).toBe('INVALID_CURSOR');
  });

  it('reads won and closed from the stage metadata, not the stage label', async () => {
    const result = await execute(crm, '{ opportunities(first: 100, filter: { stage: ["Closed Lost"] }) { nodes { isWon isClosed } } }');
    expect(result.data!['opportunities'].nodes.every((o: { isWon: boolean; isClosed: boolean }) => !o.isWon && o.isClosed)).toBe(true);
  });
});
