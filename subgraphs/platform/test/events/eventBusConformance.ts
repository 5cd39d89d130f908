/**
 * One suite for every EventBus backend (as graphql-ws runs one suite against every adapter): what the contract
 * in src/events/eventBus.ts promises, asserted on real behaviour. A backend declares what it can do (shared
 * state between instances, durability, leases, child processes); a test that does not apply to a backend
 * (durability of the process-local bus, say) is not defined for it, so no test is ever left skipped.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

/** `it` when the test applies to the backend under test; otherwise the test is not defined at all. */
const itWhen = (applies: boolean): typeof it => (applies ? it : ((() => {}) as unknown as typeof it));
import { runTypeScript } from '../../../../test/support/processes.js';
import { type BusEvent, dedupeById, type EventBus, newEvent } from '../../src/events/index.js';

export interface EventBusHarness {
  /**
   * Opens a bus over the store called `namespace`. Opening the same namespace again is another process on the
   * same store (for the in-memory bus: the same instance). Every test uses namespaces of its own.
   */
  open(namespace: string): Promise<EventBus>;
  /** Separate `open`s of one namespace share the store as separate processes would. */
  readonly sharedAcrossInstances: boolean;
  /** Events and group positions survive closing every bus on the store. */
  readonly durable: boolean;
  /** After how long another consumer takes over an unacknowledged delivery; undefined: no leases (in-memory). */
  readonly leaseMs?: number;
  /** Environment for eventBusChild.ts to open the same store in another process; undefined: not possible. */
  childEnv?(namespace: string): NodeJS.ProcessEnv;
}

/** Bounded waits: generous, because two cores are shared with other suites. */
const WAIT_MS = 10_000;

export function defineEventBusConformance(name: string, harness: EventBusHarness): void {
  describe(`${name} event bus`, () => {
    const opened: EventBus[] = [];
    const children: ChildProcess[] = [];
    let namespaces = 0;
    const namespace = () => `${name.toLowerCase()}-${process.pid}-${++namespaces}`;
    const open = async (ns: string) => {
      const bus = await harness.open(ns);
      opened.push(bus);
      return bus;
    };

    afterEach(async () => {
      for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const bus of opened.splice(0).reverse()) await bus.close();
    });

    it('delivers every event to a consumer group in publish order, including events published before the group existed', async () => {
      const bus = await open(namespace());
      const events = counted(20);
      for (const event of events.slice(0, 10)) await bus.publish(event);
      const received: BusEvent[] = [];
      bus.consume({ group: 'erp-posting', consumer: 'c1', handler: async (event) => void received.push(event) });
      for (const event of events.slice(10)) await bus.publish(event);

      await waitFor(() => received.length >= 20, 'all 20 events handled');
      expect(received.map((event) => event.id)).toEqual(events.map((event) => event.id));
      // The envelope travels intact: version stays a number, data keeps its JSON types.
      expect(received[0]).toEqual(events[0]);
    });

    it('carries the trace context of an event (traceparent) to its consumers, and an event without one as it was', async () => {
      const bus = await open(namespace());
      const traced: BusEvent = { ...counted(1)[0]!, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
      const plain = counted(1)[0]!;
      const received: BusEvent[] = [];
      bus.consume({ group: 'traced', consumer: 'c1', handler: async (event) => void received.push(event) });
      await bus.publish(traced);
      await bus.publish(plain);

      await waitFor(() => received.length >= 2, 'both events handled');
      expect(received[0]).toEqual(traced);
      expect(received[1]).toEqual(plain);
      expect('traceparent' in received[1]!).toBe(false);
    });

    it('gives every event to each of two consumer groups', async () => {
      const ns = namespace();
      const [crmSide, psaSide] = [await open(ns), await open(ns)];
      const events = counted(10);
      const byGroup = { crm: [] as string[], psa: [] as string[] };
      crmSide.consume({ group: 'crm', consumer: 'crm-1', handler: async (event) => void byGroup.crm.push(event.id) });
      psaSide.consume({ group: 'psa', consumer: 'psa-1', handler: async (event) => void byGroup.psa.push(event.id) });
      for (const event of events) await crmSide.publish(event);

      await waitFor(() => byGroup.crm.length >= 10 && byGroup.psa.length >= 10, 'both groups handled all 10');
      expect(byGroup.crm).toEqual(events.map((event) => event.id));
      expect(byGroup.psa).toEqual(events.map((event) => event.id));
    });

    it('splits a group between two consumers and hands no event to both', async () => {
      const ns = namespace();
      const [first, second] = [await open(ns), await open(ns)];
      const events = counted(30);
      const handledBy = new Map<string, string[]>();
      const handler = (consumer: string) => async (event: BusEvent) => {
        handledBy.set(event.id, [...(handledBy.get(event.id) ?? []), consumer]);
        await delay(5);
      };
      first.consume({ group: 'billing', consumer: 'billing-1', handler: handler('billing-1') });
      second.consume({ group: 'billing', consumer: 'billing-2', handler: handler('billing-2') });
      for (const event of events) await first.publish(event);

      await waitFor(() => handledBy.size >= 30, 'all 30 events handled');
      await delay(200); // a duplicate delivery would show up now
      expect([...handledBy.keys()].sort()).toEqual(events.map((event) => event.id).sort());
      expect([...handledBy.values()].filter((consumers) => consumers.length > 1)).toEqual([]);
      const shares = ['billing-1', 'billing-2'].map((consumer) => [...handledBy.values()].filter(([only]) => only === consumer).length);
      expect(shares[0]! + shares[1]!).toBe(30);
      expect(Math.min(...shares)).toBeGreaterThan(0);
    });

    it('retries a failing handler until it succeeds, without dead-lettering it', async () => {
      const bus = await open(namespace());
      const [flaky, next] = counted(2);
      const attempts = new Map<string, number>();
      const handled: string[] = [];
      bus.consume({
        group: 'activation',
        consumer: 'a1',
        handler: async (event) => {
          const attempt = (attempts.get(event.id) ?? 0) + 1;
          attempts.set(event.id, attempt);
          if (event.id === flaky!.id && attempt < 3) throw new Error('ERP unavailable (503)');
          handled.push(event.id);
        },
      });
      await bus.publish(flaky!);
      await bus.publish(next!);

      await waitFor(() => handled.length >= 2, 'both events handled');
      expect(attempts.get(flaky!.id)).toBe(3);
      expect(attempts.get(next!.id)).toBe(1);
      expect(await bus.deadLetters()).toEqual([]);
    });

    it('dead-letters a poison event after maxDeliveries with its reason, and still delivers the events after it', async () => {
      const bus = await open(namespace());
      const [before, poison, after1, after2] = counted(4);
      const attempts = new Map<string, number>();
      const handled: string[] = [];
      const reason = 'rate 150.00 USD/h differs from the rate card (140.00 USD/h)';
      bus.consume({
        group: 'time-posting',
        consumer: 'p1',
        maxDeliveries: 3,
        handler: async (event) => {
          attempts.set(event.id, (attempts.get(event.id) ?? 0) + 1);
          if (event.id === poison!.id) throw new Error(reason);
          handled.push(event.id);
        },
      });
      for (const event of [before!, poison!, after1!, after2!]) await bus.publish(event);

      await waitFor(async () => handled.length >= 3 && (await bus.deadLetters('time-posting')).length >= 1, 'poison dead-lettered, others handled');
      await delay(300); // no delivery after the dead letter
      expect(handled).toEqual([before!.id, after1!.id, after2!.id]);
      expect(attempts.get(poison!.id)).toBe(3);
      const letters = await bus.deadLetters('time-posting');
      expect(letters).toEqual([{ event: poison, group: 'time-posting', deliveries: 3, reason, deadLetteredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]);
      expect(await bus.deadLetters('another-group')).toEqual([]);
      expect((await bus.deadLetters()).map((letter) => letter.event.id)).toEqual([poison!.id]);
    });

    it('acknowledges the types a group does not want without calling its handler', async () => {
      const bus = await open(namespace());
      const wanted = counted(3, 'invoice.paid');
      const unwanted = counted(3, 'invoice.voided');
      const handled: string[] = [];
      const first = bus.consume({ group: 'crm-sync', consumer: 'c1', types: ['invoice.paid'], handler: async (event) => void handled.push(event.type) });
      for (let i = 0; i < 3; i++) {
        await bus.publish(unwanted[i]!);
        await bus.publish(wanted[i]!);
      }
      await waitFor(() => handled.length >= 3, 'the three wanted events handled');
      await first.stop();

      // The group's position moved past the unwanted events too: a consumer that wants everything sees only what follows.
      const later: string[] = [];
      const last = newEvent('invoice.posted', { source: 'billing', subject: 'in_after', data: {} });
      bus.consume({ group: 'crm-sync', consumer: 'c2', handler: async (event) => void later.push(event.id) });
      await bus.publish(last);
      await waitFor(() => later.length >= 1, 'the event after the restart handled');
      await delay(200);
      expect(handled).toEqual(['invoice.paid', 'invoice.paid', 'invoice.paid']);
      expect(later).toEqual([last.id]);
    });

    it('fans every event out to a subscriber in every process, once each', async () => {
      const ns = namespace();
      const [gatewayA, gatewayB, billing] = [await open(ns), await open(ns), await open(ns)];
      const received = { a: [] as BusEvent[], b: [] as BusEvent[], paidOnly: [] as BusEvent[] };
      gatewayA.subscribe(
        '*',
        dedupeById((event) => received.a.push(event)),
      );
      gatewayB.subscribe(
        '*',
        dedupeById((event) => received.b.push(event)),
      );
      const stopPaidOnly = gatewayB.subscribe(['invoice.paid', PROBE], (event) => received.paidOnly.push(event));
      await untilLive(billing, [received.a, received.b, received.paidOnly]);

      const paid = counted(10, 'invoice.paid');
      const voided = counted(5, 'invoice.voided');
      for (const event of [...paid, ...voided]) await billing.publish(event);
      await waitFor(
        () => real(received.a).length >= 15 && real(received.b).length >= 15 && real(received.paidOnly).length >= 10,
        'every subscriber has its events',
      );
      stopPaidOnly();
      const afterUnsubscribe = newEvent('invoice.paid', { source: 'billing', subject: 'in_late', data: {} });
      await billing.publish(afterUnsubscribe);
      await waitFor(() => real(received.a).length >= 16 && real(received.b).length >= 16, 'the late event reached both processes');
      await delay(200);

      const expected = [...paid, ...voided, afterUnsubscribe].map((event) => event.id).sort();
      expect(
        real(received.a)
          .map((event) => event.id)
          .sort(),
      ).toEqual(expected);
      expect(
        real(received.b)
          .map((event) => event.id)
          .sort(),
      ).toEqual(expected);
      expect(
        real(received.paidOnly)
          .map((event) => event.id)
          .sort(),
      ).toEqual(paid.map((event) => event.id).sort());
      expect(real(received.a).find((event) => event.id === paid[0]!.id)).toEqual(paid[0]);
    });

    it('measures publish → subscriber latency in another process', async () => {
      const ns = namespace();
      const [subscriber, publisher] = [await open(ns), await open(ns)];
      const arrivals = new Map<string, number>();
      const probes: BusEvent[] = [];
      subscriber.subscribe('*', (event) => (event.type === PROBE ? probes.push(event) : arrivals.set(event.id, performance.now())));
      await untilLive(publisher, [probes]);
      const latencies: number[] = [];
      for (const event of counted(30, 'latency.sample')) {
        const sent = performance.now();
        await publisher.publish(event);
        await waitFor(() => arrivals.has(event.id), `sample ${event.id} arrived`);
        latencies.push(arrivals.get(event.id)! - sent);
        await delay(Math.random() * 10); // samples at random phases of a poll interval
      }
      latencies.sort((x, y) => x - y);
      const median = latencies[Math.floor(latencies.length / 2)]!;
      const p95 = latencies[Math.floor(latencies.length * 0.95)]!;
      console.info(
        `[${name}] publish → subscriber (another bus instance): median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms over ${latencies.length} events`,
      );
      expect(p95).toBeLessThan(1_000);
    });

    itWhen(harness.leaseMs !== undefined && harness.sharedAcrossInstances)(
      'hands the event of a consumer that died mid-handler to another consumer after the lease, and the effect applies once',
      async () => {
        const ns = namespace();
        const [doomedProcess, survivorProcess] = [await open(ns), await open(ns)];
        // The handler is idempotent by event ID (style-and-reliability §B3): it records the IDs it has applied
        // with the effect, and a redelivery of a recorded ID applies nothing more.
        const appliedIds = new Set<string>();
        const effects: string[] = [];
        const applyOnce = (event: BusEvent) => {
          if (appliedIds.has(event.id)) return;
          appliedIds.add(event.id);
          effects.push(event.id);
        };
        const deliveries: Array<[consumer: string, eventId: string, at: number]> = [];
        let takenAt = 0;
        doomedProcess.consume({
          group: 'psa-staffing',
          consumer: 'doomed',
          handler: async (event) => {
            takenAt = Date.now();
            deliveries.push(['doomed', event.id, takenAt]);
            applyOnce(event); // the effect happened, the acknowledgement never will
            await new Promise(() => undefined);
          },
        });
        const [event, following] = counted(2, 'resource_request.created');
        await doomedProcess.publish(event!);
        await waitFor(() => deliveries.length >= 1, 'the doomed consumer took the event');
        await doomedProcess.close(); // gives up on the hung handler after closeTimeoutMs: as good as dead

        survivorProcess.consume({
          group: 'psa-staffing',
          consumer: 'survivor',
          handler: async (delivered) => {
            deliveries.push(['survivor', delivered.id, Date.now()]);
            applyOnce(delivered);
          },
        });
        await survivorProcess.publish(following!);
        await waitFor(() => deliveries.length >= 3, 'the survivor took over the event and handled the next', harness.leaseMs! * 4 + WAIT_MS);
        await delay(harness.leaseMs! * 1.5); // nothing is delivered again once acknowledged

        expect(deliveries.map(([consumer, id]) => [consumer, id]).sort()).toEqual(
          [
            ['doomed', event!.id],
            ['survivor', event!.id],
            ['survivor', following!.id],
          ].sort(),
        );
        const takeover = deliveries.find(([consumer, id]) => consumer === 'survivor' && id === event!.id)!;
        expect(takeover[2] - takenAt).toBeGreaterThanOrEqual(harness.leaseMs! - 50);
        expect(effects.sort()).toEqual([event!.id, following!.id].sort());
      },
    );

    itWhen(harness.durable)('resumes a group after a restart: nothing lost, nothing acknowledged handled again', async () => {
      const ns = namespace();
      const events = counted(10);
      const handled: string[] = [];
      const handler = async (event: BusEvent) => void handled.push(event.id);

      const firstRun = await open(ns);
      for (const event of events.slice(0, 5)) await firstRun.publish(event);
      firstRun.consume({ group: 'invoice-status', consumer: 'run-1', handler });
      await waitFor(() => handled.length >= 5, 'the first five handled');
      await firstRun.close();

      const publisherWhileDown = await open(ns);
      for (const event of events.slice(5)) await publisherWhileDown.publish(event);
      await publisherWhileDown.close();

      const secondRun = await open(ns);
      secondRun.consume({ group: 'invoice-status', consumer: 'run-2', handler });
      await waitFor(() => handled.length >= 10, 'the five published while down handled');
      await delay(300);
      expect(handled).toEqual(events.map((event) => event.id));
    });

    itWhen(harness.childEnv !== undefined)('delivers events another process publishes, to a group and to a subscriber', async () => {
      const ns = namespace();
      const bus = await open(ns);
      const consumed: BusEvent[] = [];
      const fannedOut: BusEvent[] = [];
      bus.consume({ group: 'cross-process', consumer: 'parent', handler: async (event) => void consumed.push(event) });
      bus.subscribe(
        '*',
        dedupeById((event) => fannedOut.push(event)),
      );
      const child = runChild(harness.childEnv!(ns), { PSGRAPH_TEST_MODE: 'publish', PSGRAPH_TEST_COUNT: '40' });
      children.push(child.process);
      await child.waitFor(/published 40/);
      await waitFor(() => consumed.length >= 40 && fannedOut.length >= 40, 'all 40 events from the child consumed and fanned out');

      const childPid = child.process.pid;
      expect(consumed.map((event) => event.data['i'])).toEqual([...Array(40).keys()]);
      expect(new Set(consumed.map((event) => event.source))).toEqual(new Set([`child-${childPid}`]));
      expect(childPid).not.toBe(process.pid);
      expect(fannedOut.map((event) => event.id).sort()).toEqual(consumed.map((event) => event.id).sort());
    });

    itWhen(harness.childEnv !== undefined && harness.leaseMs !== undefined)(
      'takes over the event of a consumer process killed with SIGKILL mid-handler',
      async () => {
        const ns = namespace();
        const bus = await open(ns);
        const child = runChild(harness.childEnv!(ns), { PSGRAPH_TEST_MODE: 'consume-and-hang', PSGRAPH_TEST_GROUP: 'killed' });
        children.push(child.process);
        await child.waitFor(/consuming/);
        const [event] = counted(1, 'assignment.confirmed');
        await bus.publish(event!);
        await child.waitFor(new RegExp(`took ${event!.id}`));
        child.process.kill('SIGKILL');
        await child.exited;

        const handled: string[] = [];
        bus.consume({ group: 'killed', consumer: 'survivor', handler: async (delivered) => void handled.push(delivered.id) });
        await waitFor(() => handled.length >= 1, 'the survivor took over', harness.leaseMs! * 4 + WAIT_MS);
        await delay(harness.leaseMs! * 1.5);
        expect(handled).toEqual([event!.id]);
        expect(await bus.deadLetters()).toEqual([]);
      },
    );
  });
}

/** The probe type `untilLive` publishes; tests assert on the other events. */
export const PROBE = 'test.probe';

/**
 * Publishes probes until every inbox has received one. A subscription across processes becomes live some time
 * after `subscribe` returns (Redis: SUBSCRIBE and the stream-end read travel to the server); the contract's
 * "from now on" starts there.
 */
export async function untilLive(publisher: EventBus, inboxes: ReadonlyArray<readonly BusEvent[]>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!inboxes.every((inbox) => inbox.some((event) => event.type === PROBE))) {
    if (Date.now() > deadline) throw new Error(`subscribers not live after ${WAIT_MS} ms`);
    await publisher.publish(newEvent(PROBE, { source: 'test', subject: 'probe', data: {} }));
    await delay(50);
  }
}

export function real(inbox: readonly BusEvent[]): BusEvent[] {
  return inbox.filter((event) => event.type !== PROBE);
}

/** Events numbered 0..n-1 (`data.i`), spread over three subjects. */
export function counted(n: number, type = 'test.counted'): BusEvent[] {
  return [...Array(n).keys()].map((i) =>
    newEvent(type, { source: 'test', subject: `subject-${i % 3}`, data: { i, amount: { minor: 1000 + i, currency: 'USD' }, tags: ['a'], note: null } }),
  );
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms; fails with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await delay(10);
  }
}

const CHILD_SCRIPT = fileURLToPath(new URL('./eventBusChild.ts', import.meta.url));

/** Runs eventBusChild.ts in a Node process of its own. */
function runChild(busEnv: NodeJS.ProcessEnv, modeEnv: NodeJS.ProcessEnv) {
  const child = runTypeScript(CHILD_SCRIPT, { ...busEnv, ...modeEnv });
  return { process: child.child, exited: child.exited, waitFor: (pattern: RegExp) => child.waitFor(pattern, WAIT_MS * 2) };
}
