/**
 * Another process on the same event bus, for the cross-process tests of eventBusConformance.ts. The store comes
 * from PSGRAPH_TEST_BUS (JSON: `{ backend: 'embedded', dataDir }` or `{ backend: 'redis', url, stream }`, with
 * the suite's timing), the behaviour from PSGRAPH_TEST_MODE:
 * - `publish`: publishes PSGRAPH_TEST_COUNT events (`data.i` = 0..n-1, source `child-<pid>`), prints
 *   `published <n>` and exits;
 * - `consume-and-hang`: consumes group PSGRAPH_TEST_GROUP, prints `took <event id>` for the first event and never
 *   finishes handling it, to be killed with SIGKILL.
 */
import { EmbeddedEventBus, type EventBus, newEvent, RedisEventBus } from '../../src/events/index.js';

interface ChildBusConfig {
  readonly backend: 'embedded' | 'redis';
  readonly dataDir?: string;
  readonly url?: string;
  readonly stream?: string;
  readonly leaseMs?: number;
  readonly retryDelayMs?: number;
}

const config = JSON.parse(process.env['PSGRAPH_TEST_BUS'] ?? '{}') as ChildBusConfig;
const timing = { leaseMs: config.leaseMs, retryDelayMs: config.retryDelayMs, closeTimeoutMs: 200 };
const bus: EventBus =
  config.backend === 'redis'
    ? await RedisEventBus.connect({ ...timing, url: config.url!, stream: config.stream })
    : new EmbeddedEventBus({ ...timing, dataDir: config.dataDir! });

switch (process.env['PSGRAPH_TEST_MODE']) {
  case 'publish': {
    const count = Number(process.env['PSGRAPH_TEST_COUNT'] ?? '10');
    for (let i = 0; i < count; i++) {
      await bus.publish(newEvent('test.cross_process', { source: `child-${process.pid}`, subject: `subject-${i % 3}`, data: { i } }));
      // Spread over time, so the parent consumes while the child is still publishing.
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    console.log(`published ${count}`);
    await bus.close();
    break;
  }
  case 'consume-and-hang': {
    bus.consume({
      group: process.env['PSGRAPH_TEST_GROUP'] ?? 'killed',
      consumer: `child-${process.pid}`,
      handler: async (event) => {
        console.log(`took ${event.id}`);
        await new Promise(() => undefined);
      },
    });
    // The consumer's timers are unref'd; this keeps the process alive until it is killed.
    setInterval(() => undefined, 1_000);
    console.log('consuming');
    break;
  }
  default:
    console.error(`unknown PSGRAPH_TEST_MODE ${process.env['PSGRAPH_TEST_MODE']}`);
    process.exit(2);
}
