/**
 * Project to cash, end to end through the gateway, as issue 12's "done means" reads: a user approves a timesheet
 * and watches it post, raise an exception, get fixed at its source, be invoiced and paid, and sees the status
 * arrive in CRM, the PSA and a subscription. One story over the real stack (signed principals, a staff user's JWT,
 * graphql-ws through the gateway), counted afterwards in every sandbox store: one invoice, each posting billed
 * once, every event published matching its contract.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentityOptions } from '../../gateway/src/guards/identity.js';
import { EventContracts } from '../../subgraphs/activation/src/events/eventContracts.js';
import type { ErpSubgraph } from '../../subgraphs/erp/src/erpSubgraph.js';
import type { SandboxErp } from '../../subgraphs/erp/src/sandbox/sandboxErp.js';
import type { BusEvent } from '../../subgraphs/platform/src/events/index.js';
import { eventually } from '../../subgraphs/platform/test/testSupport.js';
import type { PsaSubgraph } from '../../subgraphs/psa/src/psaSubgraph.js';
import { IdentityProvider, type PersonaClaims } from '../support/identityProvider.js';
import { type Stack, startStack } from '../support/stack.js';
import { type CollectedSubscription, collect, wsClient } from '../support/subscriptions.js';

/** A staff user who approves time, runs the exception queue and billing, and sees the firm's figures. */
const OPERATOR: PersonaClaims = { sub: 'staff-pat', scope: 'psa:write integration:operate billing:write finance:read', roles: ['finance'] };

/** The submitted timesheet the story follows, and what it runs into. */
interface Sheet {
  readonly id: string;
  readonly projectId: string;
  readonly accountId: string;
  readonly jobId: number;
  readonly currency: string;
  readonly entryIds: readonly number[];
  /** The accounting periods (`YYYY-MM`) its work falls in. */
  readonly periods: readonly string[];
}

const minor = (amount: string) => Math.round(Number(amount) * 100);

/** What a subscriber has had of `field`, each event once (subscriptions deliver at least once: deduplicate on eventId). */
function distinct(subscription: CollectedSubscription, field: string): any[] {
  const seen = new Map<string, unknown>();
  for (const result of subscription.results) {
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    const change = result.data[field] as { eventId: string };
    if (!seen.has(change.eventId)) seen.set(change.eventId, change);
  }
  return [...seen.values()];
}

/** Waits until a subscriber has had `count` distinct events of `field`, and returns them. */
async function received(subscription: CollectedSubscription, field: string, count: number): Promise<any[]> {
  await eventually(() => expect(distinct(subscription, field)).toHaveLength(count));
  return distinct(subscription, field);
}

describe('project to cash through the gateway', () => {
  let idp: IdentityProvider;
  let stack: Stack;
  /** The PSA's store with ERP's and billing's attached, read directly (this stack's private copies). */
  let stores: Database.Database;
  let headers: Record<string, string>;
  const published: BusEvent[] = [];

  beforeAll(async () => {
    idp = await IdentityProvider.start();
    stack = await startStack({
      privateData: true,
      signedPrincipals: true,
      gateway: { identity: loadIdentityOptions(idp.gatewayEnv), clientUsersOnGraphql: true },
    });
    stack.bus.subscribe('*', (event) => void published.push(event));
    stores = new Database(join(stack.dataDir, 'psa.db'), { readonly: true });
    stores.exec(`ATTACH '${join(stack.dataDir, 'erp.db')}' AS erp; ATTACH '${join(stack.dataDir, 'billing.db')}' AS billing`);
    headers = { authorization: await idp.bearer(OPERATOR) };
  });
  afterAll(async () => {
    stores?.close();
    await stack?.stop();
    await idp?.stop();
  });

  const erpDb = () => (stack.subgraphs.erp.service as unknown as ErpSubgraph & { erp: SandboxErp }).erp.store.db;
  const flushPsa = () => (stack.subgraphs.psa.service as unknown as PsaSubgraph).flushEvents();

  /** POSTs to the gateway as the operator; fails on any error. */
  const graph = async <T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const { status, body } = await stack.query<T>(query, variables, headers);
    expect(body.errors, `${query}\n${JSON.stringify(body.errors)}`).toBeUndefined();
    expect(status).toBe(200);
    return body.data!;
  };

  /**
   * A submitted timesheet on an open T&M project without a PO, all billable, by active ERP employees at the
   * contract's rates — so that the period it is worked in, closed below, is the one thing standing between it and
   * ERP. Several entries (several exceptions, postings and invoice lines to count), then the project with the
   * fewest finalized invoices.
   */
  const pickSheet = (): Sheet => {
    const row = stores
      .prepare(
        `SELECT t.id, t.project_id AS projectId, p.account_id AS accountId, j.id AS jobId, j.currency,
                json_group_array(e.id) AS entryIds, json_group_array(DISTINCT substr(e.work_date, 1, 7)) AS periods
         FROM timesheet t
         JOIN project p ON p.id = t.project_id
         JOIN erp.job j ON j.external_id = p.id
         JOIN time_entry e ON e.timesheet_id = t.id
         JOIN assignment a ON a.id = e.assignment_id
         WHERE t.status = 'SUBMITTED' AND p.status = 'ACTIVE' AND p.contract_type = 'TIME_AND_MATERIALS'
           AND j.status = 'IN_PROGRESS' AND j.po_required = 0 AND j.currency = p.currency
         GROUP BY t.id
         HAVING SUM(e.billable = 0) = 0
            AND SUM(NOT EXISTS (SELECT 1 FROM erp.employee m WHERE m.external_id = a.resource_id AND m.inactive = 0)) = 0
            AND SUM(NOT EXISTS (SELECT 1 FROM erp.contract_rate r WHERE r.job_id = j.id AND r.role = a.role
                  AND r.effective_from <= e.work_date AND (r.effective_to IS NULL OR e.work_date <= r.effective_to)
                  AND r.bill_rate_minor = e.bill_rate_minor)) = 0
         ORDER BY COUNT(e.id) >= 2 DESC,
                  (SELECT COUNT(*) FROM billing.invoice i WHERE i.project_id = t.project_id AND i.status NOT IN ('DRAFT', 'VOID')),
                  COUNT(e.id) DESC, t.id
         LIMIT 1`,
      )
      .get() as { id: number; projectId: string; accountId: string; jobId: number; currency: string; entryIds: string; periods: string } | undefined;
    if (!row) throw new Error('the seeded world has no submitted timesheet on an open T&M project without a PO');
    return { ...row, id: String(row.id), entryIds: JSON.parse(row.entryIds) as number[], periods: JSON.parse(row.periods) as string[] };
  };

  it('approves a timesheet, holds it on a closed period, posts it once reopened, invoices it once and follows the payment into CRM and the PSA', async () => {
    const sheet = pickSheet();
    const invoicesBefore = stores.prepare('SELECT id FROM billing.invoice WHERE project_id = ?').pluck().all(sheet.projectId) as string[];
    const before = await graph(`query ($p: ID!) { project(id: $p) { name account { id } invoiceSummary { billed { amount currency } } } }`, {
      p: sheet.projectId,
    });
    expect(before.project.account.id).toBe(sheet.accountId);
    const billedBefore = minor(before.project.invoiceSummary.billed.amount);

    // Finance has closed the month the work was done in.
    const setClosed = erpDb().prepare('UPDATE accounting_period SET closed = ? WHERE period = ?');
    for (const period of sheet.periods) expect(setClosed.run(1, period).changes).toBe(1);

    const client = wsClient(stack.gatewayUrl, headers);
    try {
      const exceptionChanges = collect(
        client,
        `subscription ($p: ID) { billingExceptionChanged(projectId: $p) { eventId change exception { id type status ownerSystem ownerTeam resolution sourceKey project { id name } } } }`,
        { p: sheet.projectId },
      );
      const progress = collect(
        client,
        `subscription ($p: ID) { postingProgress(projectId: $p) { eventId kind recordId version postedLines latencySeconds project { id name } } }`,
        { p: sheet.projectId },
      );
      const invoiceChanges = collect(
        client,
        `subscription ($p: ID) { invoiceStatusChanged(projectId: $p) { eventId previousStatus status invoice { id number total { amount } } } }`,
        { p: sheet.projectId },
      );
      await eventually(() => {
        expect(stack.activation.service.activeSubscriptions()).toBe(2);
        expect(stack.subgraphs.billing.service.activeSubscriptions()).toBe(1);
      }, 5_000);

      // 1. Approve, as the IDE does: a mutation to the gateway with the staff user's token.
      const approved = await graph(`mutation ($id: ID!) { approveTimesheet(id: $id) { id status version project { id } entries { id } } }`, {
        id: sheet.id,
      });
      expect(approved.approveTimesheet).toMatchObject({ id: sheet.id, status: 'APPROVED', project: { id: sheet.projectId } });
      expect(approved.approveTimesheet.entries.map((entry: { id: string }) => Number(entry.id)).sort()).toEqual([...sheet.entryIds].sort());
      const version = approved.approveTimesheet.version as number;
      const sourceKeys = sheet.entryIds.map((entry) => `time:${entry}:v${version}`).sort();
      await flushPsa();

      // 2. Each entry is held back on the closed period, with its owner and the fix, live and in the queue.
      const raisedChanges = await received(exceptionChanges, 'billingExceptionChanged', sourceKeys.length);
      expect(raisedChanges.every((change: { change: string }) => change.change === 'RAISED')).toBe(true);
      expect(raisedChanges.map((change: { exception: { sourceKey: string } }) => change.exception.sourceKey).sort()).toEqual(sourceKeys);
      for (const { exception } of raisedChanges)
        expect(exception).toEqual({
          id: expect.stringMatching(/^bex_/),
          type: 'CLOSED_PERIOD',
          status: 'OPEN',
          ownerSystem: 'ERP',
          ownerTeam: 'Finance (accounting close)',
          resolution: expect.stringMatching(
            new RegExp(`^Reopen (${sheet.periods.join('|')}) in ERP for late postings, or correct the date at the source, then retry\\.$`),
          ),
          sourceKey: exception.sourceKey,
          project: { id: sheet.projectId, name: before.project.name },
        });

      const queue = await graph(
        `query ($p: ID!) { billingExceptions(filter: { projectId: $p, status: [OPEN] }, first: 100) { totalCount nodes { id type status ownerSystem ownerTeam resolution sourceKey project { id name } } } }`,
        { p: sheet.projectId },
      );
      expect(queue.billingExceptions.totalCount).toBe(sourceKeys.length);
      const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
      expect([...queue.billingExceptions.nodes].sort(byId)).toEqual(raisedChanges.map((change: { exception: { id: string } }) => change.exception).sort(byId));
      expect(stores.prepare('SELECT COUNT(*) FROM erp.delivery_posting WHERE job_id = ?').pluck().get(sheet.jobId)).toBe(0);
      expect(distinct(progress, 'postingProgress')).toEqual([]);

      // 3. Fixed at the source: finance reopens the period in ERP, and operations retries each exception.
      for (const period of sheet.periods) expect(setClosed.run(0, period).changes).toBe(1);
      for (const change of raisedChanges) {
        const retried = await graph(`mutation ($id: ID!) { retryBillingException(id: $id) { id status resolvedAt } }`, { id: change.exception.id });
        expect(retried.retryBillingException).toEqual({ id: change.exception.id, status: 'RESOLVED', resolvedAt: expect.any(String) });
      }
      const resolved = (await received(exceptionChanges, 'billingExceptionChanged', 2 * sourceKeys.length)).slice(sourceKeys.length);
      expect(resolved.map((change: { change: string; exception: { id: string; status: string } }) => [change.change, change.exception.status])).toEqual(
        raisedChanges.map(() => ['RESOLVED', 'RESOLVED']),
      );
      expect(resolved.map((change: { exception: { id: string } }) => change.exception.id).sort()).toEqual(
        raisedChanges.map((change: { exception: { id: string } }) => change.exception.id).sort(),
      );
      const stillOpen = await graph(`query ($p: ID!) { billingExceptions(filter: { projectId: $p, status: [OPEN] }) { totalCount } }`, { p: sheet.projectId });
      expect(stillOpen.billingExceptions.totalCount).toBe(0);
      const postedLines = () => distinct(progress, 'postingProgress').reduce((sum, posted) => sum + (posted.postedLines as number), 0);
      await eventually(() => expect(postedLines()).toBe(sourceKeys.length));
      for (const posted of distinct(progress, 'postingProgress')) {
        expect(posted).toMatchObject({ kind: 'TIME', recordId: sheet.id, version, project: { id: sheet.projectId, name: before.project.name } });
        expect(posted.latencySeconds).toBeGreaterThanOrEqual(0);
      }
      const lines = await graph(`query ($id: ID!, $v: Int!) { timesheetPosting(timesheetId: $id, version: $v) { sourceKey status openExceptions { id } } }`, {
        id: sheet.id,
        v: version,
      });
      expect([...lines.timesheetPosting].sort((a, b) => a.sourceKey.localeCompare(b.sourceKey))).toEqual(
        sourceKeys.map((sourceKey) => ({ sourceKey, status: 'POSTED', openExceptions: [] })),
      );
      const postings = stores
        .prepare("SELECT external_id AS key, billable_minor AS billable FROM erp.delivery_posting WHERE job_id = ? AND status = 'POSTED' ORDER BY external_id")
        .all(sheet.jobId) as Array<{ key: string; billable: number }>;
      expect(postings.map((posting) => posting.key)).toEqual(sourceKeys);
      const postedMinor = postings.reduce((sum, posting) => sum + posting.billable, 0);
      expect(postedMinor).toBeGreaterThan(0);

      // 4. Invoiced by a run: one finalized invoice, one line per posting; the subscriber sees it open.
      const outcome = await graph(
        `mutation ($input: RunInvoicingInput!) { runInvoicing(input: $input) {
          run { id status periodEnd }
          invoices { status invoice { id } invoiceNumber total { amount currency } lines { sourceKey amount { amount } } errorCode }
        } }`,
        { input: { periodEnd: '2026-11-30', projectIds: [sheet.projectId] } },
      );
      expect(outcome.runInvoicing.run).toMatchObject({ id: expect.any(String), status: 'COMPLETED', periodEnd: '2026-11-30' });
      expect(outcome.runInvoicing.invoices).toHaveLength(1);
      const [planned] = outcome.runInvoicing.invoices;
      expect(planned).toMatchObject({ status: 'FINALIZED', invoiceNumber: expect.any(String), errorCode: null, total: { currency: sheet.currency } });
      expect(planned.lines.map((line: { sourceKey: string }) => line.sourceKey).sort()).toEqual(sourceKeys);
      const invoiceId = planned.invoice.id as string;

      const [opened] = await received(invoiceChanges, 'invoiceStatusChanged', 1);
      expect(opened).toEqual({
        eventId: expect.any(String),
        previousStatus: 'DRAFT',
        status: 'OPEN',
        invoice: { id: invoiceId, number: planned.invoiceNumber, total: { amount: planned.total.amount } },
      });
      const { invoice } = await graph(
        `query ($id: ID!) { invoice(id: $id) { number status subtotal { amount } total { amount currency } lines { description amount { amount } sourceKey } } }`,
        { id: invoiceId },
      );
      expect(invoice).toMatchObject({ number: planned.invoiceNumber, status: 'OPEN', total: { amount: planned.total.amount, currency: sheet.currency } });
      expect(minor(invoice.subtotal.amount)).toBe(postedMinor);
      expect(invoice.lines.map((line: { sourceKey: string }) => line.sourceKey).sort()).toEqual(sourceKeys);
      expect(invoice.lines.reduce((sum: number, line: { amount: { amount: string } }) => sum + minor(line.amount.amount), 0)).toBe(postedMinor);
      for (const line of invoice.lines) expect(line.description).toEqual(expect.any(String));
      const totalMinor = minor(invoice.total.amount);

      // The status travels back to ERP, CRM and the PSA.
      const statusSync = async () =>
        (await graph(`query ($id: ID!) { invoiceStatusSync(invoiceId: $id) { status erpAt crmAt psaAt skipped invoice { id } } }`, { id: invoiceId }))
          .invoiceStatusSync as Array<{ status: string; erpAt: string | null; crmAt: string | null; psaAt: string | null; skipped: string | null }>;
      const synced = (status: string) => ({
        status,
        erpAt: expect.any(String),
        crmAt: expect.any(String),
        psaAt: expect.any(String),
        skipped: null,
        invoice: { id: invoiceId },
      });
      await eventually(async () => expect(await statusSync()).toEqual([synced('OPEN')]));
      const ACCOUNT = `query ($a: ID!) { account(id: $a) { receivables { currency outstanding { amount } } billingStatus { lastInvoiceNumber lastInvoiceStatus receivables { outstanding { amount currency } } } } }`;
      const outstanding = (receivables: Array<{ outstanding: { amount: string; currency: string } }> | null) =>
        minor(receivables?.find((receivable) => receivable.outstanding.currency === sheet.currency)?.outstanding.amount ?? '0');
      const whenOpen = (await graph(ACCOUNT, { a: sheet.accountId })).account;
      expect(whenOpen.billingStatus).toMatchObject({ lastInvoiceNumber: planned.invoiceNumber, lastInvoiceStatus: 'OPEN' });
      const owedWhenOpen = outstanding(whenOpen.billingStatus.receivables);
      expect(owedWhenOpen).toBeGreaterThanOrEqual(totalMinor);

      // 5. Paid in billing: the subscriber sees it paid; CRM, the PSA and the process layer follow.
      const paid = await graph(`mutation ($id: ID!) { recordPayment(invoiceId: $id) { id status amountRemaining { amount } } }`, { id: invoiceId });
      expect(paid.recordPayment).toEqual({ id: invoiceId, status: 'PAID', amountRemaining: { amount: '0.00' } });
      const [, settled] = await received(invoiceChanges, 'invoiceStatusChanged', 2);
      expect(settled).toMatchObject({ previousStatus: 'OPEN', status: 'PAID', invoice: { id: invoiceId } });

      await eventually(async () => {
        const { account } = await graph(ACCOUNT, { a: sheet.accountId });
        expect(account.billingStatus).toMatchObject({ lastInvoiceNumber: planned.invoiceNumber, lastInvoiceStatus: 'PAID' });
        expect(outstanding(account.billingStatus.receivables)).toBe(owedWhenOpen - totalMinor);
        // CRM holds what billing itself says the account owes.
        expect(outstanding(account.billingStatus.receivables)).toBe(
          minor(account.receivables?.find((receivable: { currency: string }) => receivable.currency === sheet.currency)?.outstanding.amount ?? '0'),
        );
      });
      await eventually(async () => {
        const { project } = await graph(
          `query ($p: ID!) { project(id: $p) { invoiceSummary { billed { amount } } billingStatus { lastInvoiceNumber lastInvoiceStatus billed { amount currency } unbilled { amount } } } }`,
          { p: sheet.projectId },
        );
        expect(project.billingStatus).toEqual({
          lastInvoiceNumber: planned.invoiceNumber,
          lastInvoiceStatus: 'PAID',
          billed: { amount: project.invoiceSummary.billed.amount, currency: sheet.currency },
          unbilled: { amount: '0.00' },
        });
        expect(minor(project.billingStatus.billed.amount)).toBe(billedBefore + totalMinor);
        if (billedBefore === 0) expect(project.billingStatus.billed.amount).toBe(invoice.total.amount);
      });
      await eventually(async () => expect(await statusSync()).toEqual([synced('OPEN'), synced('PAID')]));

      // 6. Counted in the stores: one invoice made, each posting billed once by it, in billing and in ERP.
      const invoicesAfter = stores.prepare('SELECT id FROM billing.invoice WHERE project_id = ?').pluck().all(sheet.projectId) as string[];
      expect(invoicesAfter.filter((id) => !invoicesBefore.includes(id))).toEqual([invoiceId]);
      expect(
        stores
          .prepare(
            'SELECT l.source_key AS key, l.invoice_id AS invoice FROM billing.invoice_line l WHERE l.source_key IN (SELECT value FROM json_each(?)) ORDER BY l.source_key',
          )
          .all(JSON.stringify(sourceKeys)),
      ).toEqual(sourceKeys.map((key) => ({ key, invoice: invoiceId })));
      expect(
        stores
          .prepare('SELECT external_id AS key, billed_invoice_id AS invoice FROM erp.delivery_posting WHERE job_id = ? ORDER BY external_id')
          .all(sheet.jobId),
      ).toEqual(sourceKeys.map((key) => ({ key, invoice: invoiceId })));
      expect(stores.prepare('SELECT invoice_id, status, total_minor, amount_paid_minor FROM erp.erp_invoice WHERE job_id = ?').all(sheet.jobId)).toEqual([
        { invoice_id: invoiceId, status: 'PAID', total_minor: totalMinor, amount_paid_minor: totalMinor },
      ]);
      expect(stores.prepare('SELECT source_key FROM erp.erp_invoice_source WHERE invoice_id = ? ORDER BY source_key').pluck().all(invoiceId)).toEqual(
        sourceKeys,
      );

      // Nothing of the story is left stuck anywhere between approval and cash.
      const { stuckTransactions } = await graph(`{ stuckTransactions(olderThanMinutes: 0, first: 100) { kind reference project { id } } }`);
      expect(stuckTransactions.length).toBeLessThan(100);
      expect(stuckTransactions.filter((item: { project: { id: string } | null }) => item.project?.id === sheet.projectId)).toEqual([]);

      // A second run finds nothing left to bill.
      const again = await graph(`mutation ($input: RunInvoicingInput!) { runInvoicing(input: $input) { invoices { key } } }`, {
        input: { periodEnd: '2026-11-30', projectIds: [sheet.projectId] },
      });
      expect(again.runInvoicing.invoices).toEqual([]);
      expect(stores.prepare('SELECT COUNT(*) FROM billing.invoice WHERE project_id = ?').pluck().get(sheet.projectId)).toBe(invoicesBefore.length + 1);
      expect(distinct(invoiceChanges, 'invoiceStatusChanged')).toHaveLength(2);
    } finally {
      await client.dispose();
    }

    // Every business event the story published matched its contract.
    const contracts = new EventContracts();
    const types = new Set(published.map((event) => event.type));
    for (const type of [
      'timesheet.approved',
      'billing_exception.raised',
      'billing_exception.resolved',
      'delivery.posted_to_erp',
      'invoice.posted',
      'invoice.paid',
    ])
      expect(types).toContain(type);
    expect(
      published.flatMap((event) => {
        const check = contracts.check(event);
        return check.valid ? [] : [`${event.type} ${event.id}: ${check.reason}`];
      }),
    ).toEqual([]);
  }, 90_000);
});
