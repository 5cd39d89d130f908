/**
 * `consumerGroups()` against every backend (Redis on a real redis-server): what /metrics reports as the event
 * bus' pending events, lag and dead letters per consumer group.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../../test/support/redisServer.js';
import { EmbeddedEventBus, type EventBus, InMemoryEventBus, newEvent, RedisEventBus } from '../../src/events/index.js';
import type { ConsumerGroupStatus } from '../../src/events/eventBus.js';
import { temporaryDataDir } from '../testSupport.js';
import { delay, waitFor } from './eventBusConformance.js';

const TIMING = { leaseMs: 1_000, retryDelayMs: 20, closeTimeoutMs: 300 };
const embeddedRoot = temporaryDataDir('consumer-groups');
afterAll(() => embeddedRoot.remove());
let redis: RedisServer | undefined;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

const backends: Record<string, (namespace: string) => Promise<EventBus>> = {
  InMemory: async () => new InMemoryEventBus(),
  Embedded: async (namespace) => new EmbeddedEventBus({ ...TIMING, dataDir: join(embeddedRoot.dir, namespace) }),
  Redis: (namespace) => RedisEventBus.connect({ ...TIMING, url: redis!.url, stream: `test:${namespace}`, blockMs: 250, claimIntervalMs: 200 }),
};

const event = (type: string, i: number) => newEvent(type, { source: 'test', subject: `subject-${i}`, data: { i } });

describe.each(Object.keys(backends))('consumerGroups() on the %s bus', (backend) => {
  it('reports a blocked group’s backlog and age, a caught-up group at zero with its dead letters', async () => {
    const bus = await backends[backend]!(`groups-${process.pid}-${backend}`);
    const byName = async () => new Map((await bus.consumerGroups()).map((group): [string, ConsumerGroupStatus] => [group.name, group]));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    try {
      expect(await bus.consumerGroups()).toEqual([]);
      const publishedAt = Date.now();
      for (const [i, type] of ['test.ok', 'test.bad', 'test.ok'].entries()) await bus.publish(event(type, i));
      const blocked = bus.consume({ group: 'blocked', consumer: 'c1', handler: () => gate });
      const failing = bus.consume({
        group: 'failing',
        consumer: 'c1',
        maxDeliveries: 1,
        handler: async (received) => {
          if (received.type === 'test.bad') throw new Error('refused by the test');
        },
      });
      await waitFor(async () => (await byName()).get('failing')?.deadLetters === 1, 'the failing group dead-letters its bad event');
      await waitFor(async () => ((await byName()).get('blocked')?.pending ?? 0) >= 1, 'the blocked group holds an event');
      await delay(50);

      const groups = await byName();
      expect([...groups.keys()]).toEqual(['blocked', 'failing']);
      const stuck = groups.get('blocked')!;
      // A backend may hand several events to a consumer at once (Redis reads a batch): delivered or not, three wait.
      expect(stuck.pending + stuck.undelivered).toBe(3);
      expect(stuck.lagSeconds).toBeGreaterThanOrEqual(0.05);
      expect(stuck.lagSeconds).toBeLessThanOrEqual((Date.now() - publishedAt) / 1000 + 1);
      expect(stuck.deadLetters).toBe(0);
      await waitFor(async () => (await byName()).get('failing')?.pending === 0, 'the failing group acknowledges');
      expect((await byName()).get('failing')).toEqual({ name: 'failing', pending: 0, undelivered: 0, lagSeconds: null, deadLetters: 1 });

      release();
      await waitFor(async () => {
        const group = (await byName()).get('blocked');
        return group?.pending === 0 && group.undelivered === 0;
      }, 'the blocked group catches up once released');
      expect((await byName()).get('blocked')).toEqual({ name: 'blocked', pending: 0, undelivered: 0, lagSeconds: null, deadLetters: 0 });
      await Promise.all([blocked.stop(), failing.stop()]);
    } finally {
      release();
      await bus.close();
    }
  });
});
