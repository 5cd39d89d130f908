/**
 * The retention settings, and the outbox trim: published events older than the retention go, unpublished ones
 * stay however old.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { InMemoryEventBus, appendToOutbox, newEvent, startOutboxRelay, trimOutbox } from '../src/events/index.js';
import { loadRetentionConfig } from '../src/retentionConfig.js';
import { SqliteStore } from '../src/storage/sqliteStore.js';
import { temporaryDataDir } from './testSupport.js';

const DAY = 86_400_000;

describe('retention settings', () => {
  it('defaults to what a firm keeps: events 7 days, dead letters 30, runs 90, swept hourly', () => {
    expect(loadRetentionConfig({})).toEqual({ eventRetentionMs: 7 * DAY, deadLetterRetentionMs: 30 * DAY, runRetentionMs: 90 * DAY, intervalMs: 3_600_000 });
  });

  it('reads durations in s, m, h and d, and off for keeping forever', () => {
    expect(
      loadRetentionConfig({
        PSGRAPH_EVENT_RETENTION: '36h',
        PSGRAPH_DEAD_LETTER_RETENTION: 'off',
        PSGRAPH_RUN_RETENTION: '365d',
        PSGRAPH_RETENTION_INTERVAL: '90s',
      }),
    ).toEqual({ eventRetentionMs: 36 * 3_600_000, deadLetterRetentionMs: null, runRetentionMs: 365 * DAY, intervalMs: 90_000 });
  });

  it('refuses a duration without a unit, a zero, and off for the interval, naming the variable', () => {
    expect(() => loadRetentionConfig({ PSGRAPH_EVENT_RETENTION: '7' })).toThrow(
      new ConfigError('PSGRAPH_EVENT_RETENTION=7 is not a duration: expected a positive whole number and a unit, e.g. 7d (s, m, h or d), or off.'),
    );
    expect(() => loadRetentionConfig({ PSGRAPH_RUN_RETENTION: '0d' })).toThrow(/^PSGRAPH_RUN_RETENTION=0d is not a duration/);
    expect(() => loadRetentionConfig({ PSGRAPH_RETENTION_INTERVAL: 'off' })).toThrow(
      new ConfigError('PSGRAPH_RETENTION_INTERVAL=off is not a duration: expected a positive whole number and a unit, e.g. 1h (s, m, h or d).'),
    );
  });
});

describe('outbox retention', () => {
  const data = temporaryDataDir('outbox-retention');
  afterAll(() => data.remove());

  it('trims published events older than the retention and keeps unpublished ones however old', async () => {
    const store = new SqliteStore(join(data.dir, 'outbox.db'));
    const bus = new InMemoryEventBus();
    const relay = startOutboxRelay(store, bus, { pollMs: 10, retention: null });
    const [published, unpublished] = [newEvent('test.a', { source: 't', subject: 's', data: {} }), newEvent('test.b', { source: 't', subject: 's', data: {} })];
    appendToOutbox(store, published);
    await relay.flush();
    await relay.stop();
    appendToOutbox(store, unpublished);
    const rows = () =>
      store
        .prepare<{ event: string }>('SELECT event FROM event_outbox ORDER BY sequence')
        .all()
        .map((row) => JSON.parse(row.event).id);

    expect(trimOutbox(store, new Date(Date.now() - DAY))).toBe(0);
    expect(rows()).toEqual([published.id, unpublished.id]);
    expect(trimOutbox(store, new Date(Date.now() + DAY))).toBe(1);
    expect(rows()).toEqual([unpublished.id]);
    store.close();
    await bus.close();
  });
});
