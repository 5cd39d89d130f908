/**
 * The activation service's retention sweep over a real store and a real embedded event bus: finished runs go
 * (a succeeded run keeps the row that guards its deal), runs in flight, parked or with an open exception stay;
 * processed events go, an event a group has not processed stays; an open dead letter stays until its retention.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedEventBus, newEvent } from '../../platform/src/events/index.js';
import { createLogger } from '../../platform/src/logging/index.js';
import { temporaryDataDir } from '../../platform/test/testSupport.js';
import { RetentionSweep } from '../src/retentionSweep.js';
import { openActivationStore } from '../src/store/activationStore.js';

const DAY = 86_400_000;
const RETENTION = { eventRetentionMs: 7 * DAY, deadLetterRetentionMs: 30 * DAY, runRetentionMs: 90 * DAY, intervalMs: 3_600_000 };

describe('retention sweep', () => {
  const data = temporaryDataDir('activation-retention');
  afterAll(() => data.remove());

  it('trims finished runs past the run retention, never open ones or ones with an open exception', async () => {
    const store = openActivationStore(join(data.dir, 'runs'));
    const bus = new EmbeddedEventBus({ dataDir: join(data.dir, 'runs-bus'), log: () => {} });
    const old = new Date(Date.now() - 100 * DAY).toISOString();
    const recent = new Date(Date.now() - 10 * DAY).toISOString();
    const run = (id: string, status: string, finishedAt: string | null, options: { openException?: boolean } = {}) => {
      store.sqlite
        .prepare(
          `INSERT INTO activation_run (id, opportunity_id, project_id, status, trigger, requested_at, finished_at, updated_at) VALUES (?, ?, ?, ?, 'MUTATION', ?, ?, ?)`,
        )
        .run([id, `opp-${id}`, `prj-${id}`, status, old, finishedAt, finishedAt ?? old]);
      store.sqlite.prepare(`INSERT INTO activation_step (run_id, sequence, name, status) VALUES (?, 1, 'VALIDATE', 'SUCCEEDED')`).run([id]);
      store.sqlite.prepare(`INSERT INTO activation_transition (run_id, from_status, to_status, at) VALUES (?, NULL, ?, ?)`).run([id, status, old]);
      store.sqlite
        .prepare(`INSERT INTO idempotency_key (key, opportunity_id, run_id, created_at) VALUES (?, ?, ?, ?)`)
        .run([`key-${id}`, `opp-${id}`, id, old]);
      store.sqlite
        .prepare(
          `INSERT INTO integration_exception (id, run_id, type, message, system, record_type, record_id, status, raised_at) VALUES (?, ?, 'X', 'm', 'ERP', 'Customer', 'c', ?, ?)`,
        )
        .run([`exc-${id}`, id, options.openException ? 'OPEN' : 'RESOLVED', old]);
    };
    run('cancelled-old', 'CANCELLED', old);
    run('compensated-old', 'COMPENSATED', old);
    run('active-old', 'ACTIVE', old);
    run('cancelled-recent', 'CANCELLED', recent);
    run('cancelled-old-open-exception', 'CANCELLED', old, { openException: true });
    run('parked-old', 'NEEDS_ATTENTION', null);
    run('in-flight-old', 'ERP_PROVISIONING', null);
    const count = (table: string, runId: string) =>
      store.sqlite.prepare<{ n: number }>(`SELECT count(*) AS n FROM ${table} WHERE ${table === 'activation_run' ? 'id' : 'run_id'} = ?`).get([runId])!.n;

    const sweep = new RetentionSweep({ bus, store, retention: RETENTION, log: createLogger('activation', { level: 'silent' }) });
    expect((await sweep.sweep()).runs).toEqual({ runs: 2, runLogs: 1, reconciliationRuns: 0 });

    for (const gone of ['cancelled-old', 'compensated-old'])
      for (const table of ['activation_run', 'activation_step', 'activation_transition', 'idempotency_key', 'integration_exception'])
        expect(count(table, gone), `${table} of ${gone}`).toBe(0);
    // The succeeded run keeps its row (one run per deal), and loses its step log and history.
    expect([count('activation_run', 'active-old'), count('activation_step', 'active-old'), count('activation_transition', 'active-old')]).toEqual([1, 0, 0]);
    for (const kept of ['cancelled-recent', 'cancelled-old-open-exception', 'parked-old', 'in-flight-old'])
      expect([count('activation_run', kept), count('activation_step', kept)], kept).toEqual([1, 1]);
    // A second sweep finds nothing more.
    expect((await sweep.sweep()).runs).toEqual({ runs: 0, runLogs: 0, reconciliationRuns: 0 });
    await bus.close();
    store.close();
  });

  it('trims events every group processed once past the event retention, keeps the rest and open dead letters', async () => {
    const store = openActivationStore(join(data.dir, 'events'));
    const bus = new EmbeddedEventBus({ dataDir: join(data.dir, 'events-bus'), retryDelayMs: 5, log: () => {} });
    const sweep = new RetentionSweep({ bus, store, retention: RETENTION, log: createLogger('activation', { level: 'silent' }) });
    const [processed, poison, unprocessed] = [1, 2, 3].map((i) => newEvent('test.retention', { source: 'test', subject: `s${i}`, data: { i } }));
    const fast: string[] = [];
    const slow: string[] = [];
    const fastConsumer = bus.consume({
      group: 'fast',
      consumer: 'c1',
      maxDeliveries: 2,
      handler: async (event) => {
        if (event.id === poison!.id) throw new Error('refused');
        fast.push(event.id);
      },
    });
    const slowConsumer = bus.consume({ group: 'slow', consumer: 'c1', handler: async (event) => void slow.push(event.id) });
    await bus.publish(processed!);
    await bus.publish(poison!);
    await waitUntil(async () => slow.length === 2 && (await bus.deadLetterRecords()).length === 1);
    await slowConsumer.stop();
    await bus.publish(unprocessed!);
    await waitUntil(() => fast.length === 2);
    await fastConsumer.stop();

    // Within the retention: nothing goes.
    expect((await sweep.sweep()).bus).toEqual({ events: 0, deadLetters: 0 });
    // 8 days on: the event both groups processed goes; the one the slow group has not, and the dead letter's, stay.
    expect((await sweep.sweep(Date.now() + 8 * DAY)).bus).toEqual({ events: 1, deadLetters: 0 });
    const [letter] = await bus.deadLetterRecords();
    expect(letter).toMatchObject({ event: poison, replayedAt: null });
    const status = await bus.consumerGroups();
    expect(status.find((group) => group.name === 'slow')).toMatchObject({ undelivered: 1 });
    // 31 days on: the dead letter has had its retention, and its event goes with it.
    expect((await sweep.sweep(Date.now() + 31 * DAY)).bus).toEqual({ events: 1, deadLetters: 1 });
    expect(await bus.deadLetterRecords()).toEqual([]);
    await bus.close();
    store.close();
  });
});

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
