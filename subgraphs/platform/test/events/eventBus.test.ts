/**
 * The event bus contract against every backend: in-memory (where meaningful), embedded SQLite, and Redis on a
 * real redis-server (started here; missing redis-server fails the suite with the command that installs it).
 * Then what only one backend can show: a Redis restart mid-stream, and the embedded bus' configuration.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../../test/support/redisServer.js';
import { ConfigError } from '../../src/config.js';
import {
  type BusEvent,
  dedupeById,
  EmbeddedEventBus,
  type EventBus,
  InMemoryEventBus,
  loadEventBusConfig,
  openEventBus,
  RedisEventBus,
} from '../../src/events/index.js';
import { temporaryDataDir } from '../testSupport.js';
import { counted, defineEventBusConformance, real, untilLive, waitFor } from './eventBusConformance.js';

/** Test timing: a 1 s lease keeps the takeover tests short and still far above a loaded machine's pauses. */
const TIMING = { leaseMs: 1_000, retryDelayMs: 20, closeTimeoutMs: 300 };

/** Connection losses and the like, kept out of the test output; a failing test can print them. */
const busLog: string[] = [];
const log = (message: string, error?: unknown) => busLog.push(error instanceof Error ? `${message}: ${error.message}` : message);

const inMemoryBuses = new Map<string, InMemoryEventBus>();
defineEventBusConformance('InMemory', {
  open: async (namespace) => {
    const bus = inMemoryBuses.get(namespace) ?? new InMemoryEventBus();
    inMemoryBuses.set(namespace, bus);
    return bus;
  },
  sharedAcrossInstances: false,
  durable: false,
});

const embeddedRoot = temporaryDataDir('events');
afterAll(() => embeddedRoot.remove());
defineEventBusConformance('Embedded', {
  open: async (namespace) => new EmbeddedEventBus({ ...TIMING, dataDir: join(embeddedRoot.dir, namespace), log }),
  sharedAcrossInstances: true,
  durable: true,
  leaseMs: TIMING.leaseMs,
  childEnv: (namespace) => ({ PSGRAPH_TEST_BUS: JSON.stringify({ backend: 'embedded', dataDir: join(embeddedRoot.dir, namespace), ...TIMING }) }),
});

let redis: RedisServer | undefined;
const redisUrl = () => {
  if (!redis) throw new Error('redis-server did not start (see beforeAll)');
  return redis.url;
};
const openRedis = (namespace: string) =>
  RedisEventBus.connect({ ...TIMING, url: redisUrl(), stream: `test:${namespace}`, blockMs: 250, claimIntervalMs: 200, catchUpIntervalMs: 250, log });

describe('Redis', () => {
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  defineEventBusConformance('Redis', {
    open: openRedis,
    sharedAcrossInstances: true,
    durable: true,
    leaseMs: TIMING.leaseMs,
    childEnv: (namespace) => ({ PSGRAPH_TEST_BUS: JSON.stringify({ backend: 'redis', url: redisUrl(), stream: `test:${namespace}`, ...TIMING }) }),
  });

  it('loses no event when Redis is killed with SIGKILL and restarted mid-stream (AOF, appendfsync always)', async () => {
    const namespace = `restart-${process.pid}`;
    const buses: EventBus[] = [];
    try {
      const logFrom = busLog.length;
      const [consumerSide, gatewaySide, publisher] = [await openRedis(namespace), await openRedis(namespace), await openRedis(namespace)];
      buses.push(consumerSide, gatewaySide, publisher);
      const consumed = new Set<string>();
      const fannedOut: BusEvent[] = [];
      consumerSide.consume({ group: 'erp-posting', consumer: 'erp-1', handler: async (event) => void consumed.add(event.id) });
      gatewaySide.subscribe(
        '*',
        dedupeById((event) => fannedOut.push(event)),
      );
      await untilLive(publisher, [fannedOut]);

      const events = counted(150, 'time.posted_to_erp');
      const published: string[] = [];
      let restarted = false;
      const restart = async () => {
        await redis!.restart();
        restarted = true;
      };
      let restarting: Promise<void> | undefined;
      for (const [index, event] of events.entries()) {
        if (index === 50) restarting = restart(); // kill -9 while publishing goes on
        await publisher.publish(event); // resolves once Redis has the event (the AOF is synced before the reply)
        published.push(event.id);
      }
      await restarting;
      expect(restarted).toBe(true);

      // After the restart: consumer and subscriber both resume by themselves.
      const afterRestart = counted(20, 'invoice.paid');
      for (const event of afterRestart) {
        await publisher.publish(event);
        published.push(event.id);
      }
      await waitFor(
        () => published.every((id) => consumed.has(id)) && published.every((id) => real(fannedOut).some((event) => event.id === id)),
        'every published event consumed and fanned out',
        20_000,
      );
      // The connections saw the restart and came back by themselves.
      expect(busLog.slice(logFrom).some((line) => /lost; reconnecting/.test(line))).toBe(true);
      expect(busLog.slice(logFrom).some((line) => /restored/.test(line))).toBe(true);
    } finally {
      for (const bus of buses) await bus.close();
    }
  });

  it('opens the Redis backend when REDIS_URL is set', async () => {
    const config = loadEventBusConfig({ REDIS_URL: redisUrl(), PSGRAPH_DATA_DIR: '/nonexistent' });
    const bus = await openEventBus(config, { log });
    try {
      expect(bus).toBeInstanceOf(RedisEventBus);
    } finally {
      await bus.close();
    }
  });
});

describe('event bus configuration', () => {
  it('opens the embedded bus in PSGRAPH_DATA_DIR when REDIS_URL is not set', async () => {
    const dataDir = join(embeddedRoot.dir, 'configured');
    const config = loadEventBusConfig({ PSGRAPH_DATA_DIR: dataDir, REDIS_URL: '' });
    expect(config).toEqual({ dataDir });
    const bus = await openEventBus(config, { log });
    try {
      expect(bus).toBeInstanceOf(EmbeddedEventBus);
      expect((bus as EmbeddedEventBus).file).toBe(join(dataDir, 'events.db'));
    } finally {
      await bus.close();
    }
  });

  it('reads REDIS_URL and defaults the data folder to ./data', () => {
    expect(loadEventBusConfig({ REDIS_URL: 'rediss://user:secret@cache.internal:6380/2' })).toEqual({
      redisUrl: 'rediss://user:secret@cache.internal:6380/2',
      dataDir: join(process.cwd(), 'data'),
    });
  });

  it.each([
    ['host:port without a scheme', 'localhost:6379', 'REDIS_URL is not a URL: expected redis://[user:password@]host[:port][/db] or rediss://… for TLS.'],
    [
      'another scheme',
      'http://localhost:6379',
      'REDIS_URL=http://localhost:6379 has scheme http: expected redis://[user:password@]host[:port][/db] or rediss://… for TLS.',
    ],
    ['without a host', 'redis:///0', 'REDIS_URL=redis:///0 names no host: expected redis://[user:password@]host[:port][/db] or rediss://… for TLS.'],
    [
      'a database name (the password masked)',
      'redis://:hunter2@localhost:6379/events',
      'REDIS_URL=redis://:***@localhost:6379/events selects database "events": the path must be a database number (e.g. /0).',
    ],
  ])('rejects a REDIS_URL that is %s', (_, value, message) => {
    expect(() => loadEventBusConfig({ REDIS_URL: value })).toThrowError(new ConfigError(message));
  });

  it('fails start-up with the URL when Redis does not answer', async () => {
    await expect(RedisEventBus.connect({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 300, log })).rejects.toThrow(
      'Redis at redis://127.0.0.1:1 did not answer within 300 ms (REDIS_URL): is it running and reachable?',
    );
  });
});
