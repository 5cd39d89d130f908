/**
 * The event bus's dead letters through the gateway: the billing-status consumer group (real handler, real
 * embedded bus) gives up on an `invoice.paid` naming an invoice billing does not know, after its maximum
 * deliveries; an operator lists it, sees the group's figures, refuses a bad edit, replays a corrected event
 * (handled by that group), and replays the rest in bulk after a preview — each replay audited with the operator's
 * identity from a real token; staff without `integration:operate` may list but not replay.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentityOptions } from '../../gateway/src/guards/identity.js';
import { EmbeddedEventBus, newEvent } from '../../subgraphs/platform/src/events/index.js';
import { temporaryDataDir } from '../../subgraphs/platform/test/testSupport.js';
import { IdentityProvider, PERSONAS } from '../support/identityProvider.js';
import { type Stack, startStack } from '../support/stack.js';

const GROUP = 'billing-status';
const LETTERS = `query ($status: [DeadLetterStatus!]) {
  eventDeadLetters(group: "${GROUP}", status: $status) { id group eventId type reason deliveries deadLetteredAt event status replayedAt replayedBy actions { action by at } }
}`;
const REPLAY = `mutation ($id: ID!, $event: String) { replayEventDeadLetter(id: $id, event: $event) { id status replayedAt replayedBy actions { action by } } }`;

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('event bus dead letters through the gateway', () => {
  const busDir = temporaryDataDir('dead-letters-bus');
  let bus: EmbeddedEventBus;
  let stack: Stack;
  let idp: IdentityProvider;
  /** An integration engineer: staff with integration:operate. */
  let operator: Record<string, string>;
  let paidInvoice: { id: string; project_id: string; customer_id: string; currency: string; total_minor: number };

  beforeAll(async () => {
    bus = new EmbeddedEventBus({ dataDir: busDir.dir, retryDelayMs: 10, maxRetryDelayMs: 40, log: () => {} });
    idp = await IdentityProvider.start();
    stack = await startStack({ privateData: true, bus, signedPrincipals: true, gateway: { identity: loadIdentityOptions(idp.gatewayEnv) } });
    operator = { authorization: await idp.bearer(PERSONAS.integrationEngineer) };
    const billing = new Database(join(stack.dataDir, 'billing.db'), { readonly: true });
    paidInvoice = billing
      .prepare("SELECT id, project_id, customer_id, currency, total_minor FROM invoice WHERE status = 'PAID' AND project_id LIKE 'prj_%' ORDER BY id LIMIT 1")
      .get() as typeof paidInvoice;
    billing.close();
  });
  afterAll(async () => {
    await stack?.stop();
    await idp?.stop();
    await bus?.close();
    busDir.remove();
  });

  /** An `invoice.paid` that matches its contract; billing does not know `invoiceId` unless it is a real one. */
  const invoicePaid = (invoiceId: string) =>
    newEvent('invoice.paid', {
      source: 'billing',
      subject: invoiceId,
      data: {
        invoiceId,
        projectId: paidInvoice.project_id,
        crmAccountId: '001000000000000AAA',
        customerId: paidInvoice.customer_id,
        previousStatus: 'OPEN',
        status: 'PAID',
        changedAt: new Date().toISOString(),
        currency: paidInvoice.currency,
        totalMinor: paidInvoice.total_minor,
        amountPaidMinor: paidInvoice.total_minor,
      },
    });

  it('lists a dead letter with its group’s figures, refuses a bad edit, replays a correction to its group, audited', async () => {
    const poison = invoicePaid('in_NoSuchInvoice00000000001');
    await bus.publish(poison);
    const { body } = await eventually(
      () => stack.query(LETTERS, { status: ['OPEN'] }, operator),
      (response) => (response.body.data?.eventDeadLetters ?? []).some((letter: { eventId: string }) => letter.eventId === poison.id),
      'the poison event dead-lettered by billing-status',
    );
    expect(body.errors).toBeUndefined();
    const letter = body.data.eventDeadLetters.find((candidate: { eventId: string }) => candidate.eventId === poison.id);
    expect(letter).toEqual({
      id: expect.stringMatching(/^\d+$/),
      group: GROUP,
      eventId: poison.id,
      type: 'invoice.paid',
      reason: `billing does not know invoice in_NoSuchInvoice00000000001 named by event ${poison.id}`,
      deliveries: 5,
      deadLetteredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      event: JSON.stringify(poison),
      status: 'OPEN',
      replayedAt: null,
      replayedBy: null,
      actions: [],
    });

    const tooMany = await stack.query(`{ eventDeadLetters(first: 101) { id } }`, {}, operator);
    expect(tooMany.body.errors?.[0]?.extensions?.['code']).toBe('PAGE_SIZE_OUT_OF_RANGE');
    const groups = await stack.query(`{ eventConsumerGroups { name pending undelivered lagSeconds deadLetters } }`, {}, operator);
    expect(groups.body.errors).toBeUndefined();
    expect(groups.body.data.eventConsumerGroups).toContainEqual({ name: GROUP, pending: 0, undelivered: 0, lagSeconds: null, deadLetters: 1 });

    // An edit off its contract is refused, and changes nothing.
    const offContract = await stack.query(
      REPLAY,
      { id: letter.id, event: JSON.stringify({ ...poison, data: { ...poison.data, status: 'SETTLED' } }) },
      operator,
    );
    expect(offContract.body.errors?.[0]?.extensions?.code).toBe('EVENT_CONTRACT_VIOLATION');
    expect(offContract.body.errors?.[0]?.message).toMatch(/does not match its contract: does not match invoice\.paid v1: \/data\/status/);
    const notJson = await stack.query(REPLAY, { id: letter.id, event: '{"id":' }, operator);
    expect(notJson.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const anotherEvent = await stack.query(REPLAY, { id: letter.id, event: JSON.stringify({ ...invoicePaid(paidInvoice.id) }) }, operator);
    expect(anotherEvent.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unchanged = await stack.query(LETTERS, { status: ['OPEN'] }, operator);
    expect(unchanged.body.data.eventDeadLetters.find((candidate: { id: string }) => candidate.id === letter.id)).toMatchObject({ status: 'OPEN', actions: [] });

    // The correction: the invoice billing really has.
    const corrected = { ...poison, subject: paidInvoice.id, data: { ...poison.data, invoiceId: paidInvoice.id } };
    const replayed = await stack.query(REPLAY, { id: letter.id, event: JSON.stringify(corrected) }, operator);
    expect(replayed.body.errors).toBeUndefined();
    expect(replayed.body.data.replayEventDeadLetter).toEqual({
      id: letter.id,
      status: 'REPLAYED',
      replayedAt: expect.stringMatching(/^\d{4}-/),
      replayedBy: 'ops-iris',
      actions: [{ action: 'REPLAYED_EDITED', by: 'ops-iris' }],
    });
    const synced = await eventually(
      () => stack.query(`query ($id: ID!) { invoiceStatusSync(invoiceId: $id) { status eventId erpAt } }`, { id: paidInvoice.id }, operator),
      (response) =>
        (response.body.data?.invoiceStatusSync ?? []).some(
          (sync: { eventId: string; erpAt: string | null }) => sync.eventId === poison.id && sync.erpAt !== null,
        ),
      'the billing-status group handled the corrected event',
    );
    expect(synced.body.data.invoiceStatusSync).toContainEqual({ status: 'PAID', eventId: poison.id, erpAt: expect.stringMatching(/^\d{4}-/) });

    const again = await stack.query(REPLAY, { id: letter.id }, operator);
    expect(again.body.errors?.[0]?.extensions?.code).toBe('DEAD_LETTER_ALREADY_REPLAYED');
    const unknown = await stack.query(REPLAY, { id: '999999' }, operator);
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const history = await stack.query(LETTERS, { status: ['REPLAYED'] }, operator);
    expect(history.body.data.eventDeadLetters.find((candidate: { id: string }) => candidate.id === letter.id)).toMatchObject({
      status: 'REPLAYED',
      replayedBy: 'ops-iris',
      event: JSON.stringify(poison),
    });
  }, 60_000);

  it('replays every open dead letter of the group after a preview count; one that fails again is a new dead letter', async () => {
    const poisons = [invoicePaid('in_NoSuchInvoice00000000002'), invoicePaid('in_NoSuchInvoice00000000003')];
    for (const poison of poisons) await bus.publish(poison);
    const openLetters = async () => (await stack.query(LETTERS, { status: ['OPEN'] }, operator)).body.data?.eventDeadLetters ?? [];
    const first = await eventually(openLetters, (letters) => letters.length === 2, 'two open dead letters');

    const bulk = `mutation ($preview: Boolean) { replayEventDeadLetters(group: "${GROUP}", type: "invoice.paid", preview: $preview) { matched replayed } }`;
    const preview = await stack.query(bulk, { preview: true }, operator);
    expect(preview.body.data.replayEventDeadLetters).toEqual({ matched: 2, replayed: 0 });
    expect(await openLetters()).toHaveLength(2);

    // Staff without integration:operate may look, not replay.
    const manager = { authorization: await idp.bearer(PERSONAS.deliveryManager) };
    expect((await stack.query(LETTERS, { status: ['OPEN'] }, manager)).body.data?.eventDeadLetters).toHaveLength(2);
    const refused = await stack.query(bulk, { preview: false }, manager);
    expect(refused.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHORIZED_FIELD_OR_TYPE');
    expect(await openLetters()).toHaveLength(2);

    const done = await stack.query(bulk, { preview: false }, operator);
    expect(done.body.data.replayEventDeadLetters).toEqual({ matched: 2, replayed: 2 });
    // Billing still does not know those invoices: each fails its deliveries again, and is dead-lettered afresh.
    const afresh = await eventually(
      openLetters,
      (letters) => letters.length === 2 && letters.every((letter: { id: string }) => !first.some((old: { id: string }) => old.id === letter.id)),
      'the replays dead-lettered afresh',
    );
    expect(afresh.map((letter: { eventId: string }) => letter.eventId).sort()).toEqual(poisons.map((poison) => poison.id).sort());
    const replayed = (await stack.query(LETTERS, { status: ['REPLAYED'] }, operator)).body.data.eventDeadLetters;
    for (const old of first)
      expect(replayed.find((letter: { id: string }) => letter.id === old.id)?.actions).toEqual([
        { action: 'REPLAYED', by: 'ops-iris', at: expect.any(String) },
      ]);
  }, 60_000);
});
