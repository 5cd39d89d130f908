/**
 * Dead-letter replay, consumer-group figures and retention, against every backend: in-memory, embedded SQLite,
 * and Redis on a real redis-server. A poison event is a real handler failure (a handler that throws until it is
 * told the fix is in), dead-lettered by the bus after its maximum deliveries.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../../test/support/redisServer.js';
import { type BusEvent, type EventBus, DeadLetterReplayError, EmbeddedEventBus, InMemoryEventBus, RedisEventBus } from '../../src/events/index.js';
import { temporaryDataDir } from '../testSupport.js';
import { counted, delay, waitFor } from './eventBusConformance.js';

const TIMING = { leaseMs: 1_000, retryDelayMs: 20, closeTimeoutMs: 300 };
const log = () => {};
const FAR_FUTURE = new Date(Date.now() + 86_400_000);
const LONG_AGO = new Date(0);

/** Handlers that record what each group handled, and fail the poison events until `fixed`. */
function groupHandlers(poison: ReadonlySet<string>) {
  const handled = new Map<string, BusEvent[]>();
  const state = { fixed: false };
  const handler = (group: string) => async (event: BusEvent) => {
    if (poison.has(event.id) && !state.fixed && group === 'erp-posting') throw new Error(`ERP refused ${event.id}: period closed`);
    handled.set(group, [...(handled.get(group) ?? []), event]);
  };
  return { handled, state, handler, of: (group: string) => handled.get(group) ?? [] };
}

async function expectRefusal(promise: Promise<unknown>, code: DeadLetterReplayError['code']): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(DeadLetterReplayError);
  await expect(promise).rejects.toMatchObject({ code });
}

function defineReplaySuite(name: string, open: (namespace: string) => Promise<EventBus>): void {
  describe(`${name} event bus: dead letters and retention`, () => {
    const opened: EventBus[] = [];
    let namespaces = 0;
    const openBus = async () => {
      const bus = await open(`replay-${name.toLowerCase()}-${process.pid}-${++namespaces}`);
      opened.push(bus);
      return bus;
    };
    afterEach(async () => {
      for (const bus of opened.splice(0).reverse()) await bus.close();
    });

    it('replays a dead letter to the group that dead-lettered it only, once, and marks it replayed', async () => {
      const bus = await openBus();
      const [first, poison, last] = counted(3);
      const groups = groupHandlers(new Set([poison!.id]));
      for (const group of ['erp-posting', 'crm-sync']) bus.consume({ group, consumer: 'c1', maxDeliveries: 2, handler: groups.handler(group) });
      for (const event of [first!, poison!, last!]) await bus.publish(event);
      await waitFor(async () => groups.of('crm-sync').length === 3 && (await bus.deadLetterRecords('erp-posting')).length === 1, 'poison dead-lettered');

      const [letter] = await bus.deadLetterRecords();
      expect(letter).toEqual({
        id: expect.stringMatching(/\S/),
        event: poison,
        group: 'erp-posting',
        deliveries: 2,
        reason: `ERP refused ${poison!.id}: period closed`,
        deadLetteredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        replayedAt: null,
      });
      expect((await bus.consumerGroups()).find((group) => group.name === 'erp-posting')?.deadLetters).toBe(1);

      groups.state.fixed = true;
      const replayed = await bus.replayDeadLetter(letter!.id);
      expect(replayed).toMatchObject({ id: letter!.id, replayedAt: expect.stringMatching(/^\d{4}-/) });
      await waitFor(() => groups.of('erp-posting').some((event) => event.id === poison!.id), 'replayed event handled by erp-posting');
      await delay(300);
      expect(groups.of('erp-posting').map((event) => event.id)).toEqual([first!.id, last!.id, poison!.id]);
      expect(groups.of('crm-sync').map((event) => event.id)).toEqual([first!.id, poison!.id, last!.id]);
      expect((await bus.deadLetterRecords())[0]?.replayedAt).toBe(replayed.replayedAt);
      expect((await bus.consumerGroups()).find((group) => group.name === 'erp-posting')?.deadLetters).toBe(0);

      await expectRefusal(bus.replayDeadLetter(letter!.id), 'ALREADY_REPLAYED');
      await expectRefusal(bus.replayDeadLetter('999999'), 'NOT_FOUND');
      await expectRefusal(bus.replayDeadLetter('not an id'), 'NOT_FOUND');
    });

    it('replays an edited event; refuses an edit of its identity and changes nothing; dead-letters a failing replay afresh', async () => {
      const bus = await openBus();
      const [poison] = counted(1);
      const attempts: BusEvent[] = [];
      bus.consume({
        group: 'erp-posting',
        consumer: 'c1',
        maxDeliveries: 2,
        handler: async (event) => {
          attempts.push(event);
          if (event.data['i'] !== 42) throw new Error('period closed');
        },
      });
      await bus.publish(poison!);
      await waitFor(async () => (await bus.deadLetterRecords()).length === 1, 'dead-lettered');
      const [letter] = await bus.deadLetterRecords();

      await expectRefusal(bus.replayDeadLetter(letter!.id, { ...poison!, id: 'evt_other' }), 'INVALID_EDIT');
      await expectRefusal(bus.replayDeadLetter(letter!.id, { ...poison!, type: 'invoice.paid' }), 'INVALID_EDIT');
      await delay(200);
      expect(attempts).toHaveLength(2);
      expect((await bus.deadLetterRecords())[0]?.replayedAt).toBeNull();

      // An edit that still fails: dead-lettered again, as edited, under a new ID.
      const stillWrong = { ...poison!, data: { ...poison!.data, i: 41 } };
      await bus.replayDeadLetter(letter!.id, stillWrong);
      await waitFor(async () => (await bus.deadLetterRecords()).length === 2, 'dead-lettered afresh');
      const [, again] = await bus.deadLetterRecords();
      expect(again).toMatchObject({ event: stillWrong, group: 'erp-posting', deliveries: 2, replayedAt: null });
      expect(again!.id).not.toBe(letter!.id);

      const corrected = { ...poison!, data: { ...poison!.data, i: 42 } };
      await bus.replayDeadLetter(again!.id, corrected);
      await waitFor(() => attempts.at(-1)?.data['i'] === 42, 'corrected event handled');
      await delay(200);
      expect(attempts.map((event) => event.data['i'])).toEqual([0, 0, 41, 41, 42]);
      expect((await bus.deadLetterRecords()).map((record) => record.replayedAt !== null)).toEqual([true, true]);
    });

    it('reports each group’s pending, undelivered and lag, and trims only what every group has processed', async () => {
      const bus = await openBus();
      const [both, onlyFast1, onlyFast2] = counted(3);
      const fast: string[] = [];
      const slow: string[] = [];
      bus.consume({ group: 'fast', consumer: 'c1', handler: async (event) => void fast.push(event.id) });
      const slowConsumer = bus.consume({ group: 'slow', consumer: 'c1', handler: async (event) => void slow.push(event.id) });
      await bus.publish(both!);
      await waitFor(() => fast.length === 1 && slow.length === 1, 'first event handled by both groups');
      await slowConsumer.stop();
      await bus.publish(onlyFast1!);
      await bus.publish(onlyFast2!);
      await waitFor(() => fast.length === 3, 'fast group caught up');
      await delay(50);

      const status = await bus.consumerGroups();
      expect(status.find((group) => group.name === 'fast')).toEqual({ name: 'fast', pending: 0, undelivered: 0, lagSeconds: null, deadLetters: 0 });
      const behind = status.find((group) => group.name === 'slow');
      expect(behind).toMatchObject({ name: 'slow', pending: 0, undelivered: 2, deadLetters: 0 });
      expect(behind!.lagSeconds).toBeGreaterThan(0);

      // Nothing is old enough yet: nothing goes, whoever processed it.
      expect(await bus.trimProcessed({ eventsBefore: LONG_AGO, deadLettersBefore: LONG_AGO })).toEqual({ events: 0, deadLetters: 0 });
      // All are old enough, but the slow group has not processed the last two.
      expect(await bus.trimProcessed({ eventsBefore: FAR_FUTURE, deadLettersBefore: LONG_AGO })).toEqual({ events: 1, deadLetters: 0 });
      bus.consume({ group: 'slow', consumer: 'c1', handler: async (event) => void slow.push(event.id) });
      await waitFor(() => slow.length === 3, 'slow group handled the kept events');
      expect(slow).toEqual([both!.id, onlyFast1!.id, onlyFast2!.id]);
      await delay(50);
      expect(await bus.trimProcessed({ eventsBefore: FAR_FUTURE, deadLettersBefore: LONG_AGO })).toEqual({ events: 2, deadLetters: 0 });
    });

    it('keeps a replayed event for its group while no consumer of the group runs, however old', async () => {
      const bus = await openBus();
      const [poison] = counted(1);
      const groups = groupHandlers(new Set([poison!.id]));
      const consumer = bus.consume({ group: 'erp-posting', consumer: 'c1', maxDeliveries: 1, handler: groups.handler('erp-posting') });
      await bus.publish(poison!);
      await waitFor(async () => (await bus.deadLetterRecords()).length === 1, 'dead-lettered');
      await consumer.stop();

      const [letter] = await bus.deadLetterRecords();
      await bus.replayDeadLetter(letter!.id);
      await bus.trimProcessed({ eventsBefore: FAR_FUTURE, deadLettersBefore: LONG_AGO });
      groups.state.fixed = true;
      bus.consume({ group: 'erp-posting', consumer: 'c2', handler: groups.handler('erp-posting') });
      await waitFor(() => groups.of('erp-posting').length === 1, 'the replayed event handled once a consumer runs');
      expect(groups.of('erp-posting')).toEqual([poison]);
    });

    it('keeps a dead letter and its event past the event retention, until replayed or past the dead-letter retention', async () => {
      const bus = await openBus();
      const [poison] = counted(1);
      const groups = groupHandlers(new Set([poison!.id]));
      bus.consume({ group: 'erp-posting', consumer: 'c1', maxDeliveries: 1, handler: groups.handler('erp-posting') });
      await bus.publish(poison!);
      await waitFor(async () => (await bus.deadLetterRecords()).length === 1, 'dead-lettered');

      await bus.trimProcessed({ eventsBefore: FAR_FUTURE, deadLettersBefore: LONG_AGO });
      const [letter] = await bus.deadLetterRecords();
      expect(letter?.event).toEqual(poison);
      groups.state.fixed = true;
      await bus.replayDeadLetter(letter!.id);
      await waitFor(() => groups.of('erp-posting').length === 1, 'replayed after the event retention passed');
      expect(groups.of('erp-posting')[0]).toEqual(poison);
      await delay(50);

      expect(await bus.trimProcessed({ eventsBefore: FAR_FUTURE, deadLettersBefore: FAR_FUTURE })).toMatchObject({ deadLetters: 1 });
      expect(await bus.deadLetterRecords()).toEqual([]);
      await expectRefusal(bus.replayDeadLetter(letter!.id), 'NOT_FOUND');
    });
  });
}

defineReplaySuite('InMemory', async () => new InMemoryEventBus());

const embeddedRoot = temporaryDataDir('replay');
afterAll(() => embeddedRoot.remove());
defineReplaySuite('Embedded', async (namespace) => new EmbeddedEventBus({ ...TIMING, dataDir: join(embeddedRoot.dir, namespace), log }));

describe('Redis', () => {
  let redis: RedisServer | undefined;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  defineReplaySuite('Redis', (namespace) =>
    RedisEventBus.connect({ ...TIMING, url: redis!.url, stream: `test:${namespace}`, blockMs: 250, claimIntervalMs: 200, catchUpIntervalMs: 250, log }),
  );
});
