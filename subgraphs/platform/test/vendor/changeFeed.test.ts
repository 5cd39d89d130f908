import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OUTBOX_DDL, newEvent } from '../../src/events/index.js';
import { SqliteStore } from '../../src/storage/sqliteStore.js';
import { type ChangePage, startChangeFeed } from '../../src/vendor/changeFeed.js';
import { temporaryDataDir } from '../testSupport.js';

/** A vendor's changes, each at a modification stamp, as a poll by high-water mark reads them (two per page). */
const CHANGES = Array.from({ length: 5 }, (_, i) => ({ id: `rec${i}`, stamp: `2026-12-01T00:00:0${i}Z` }));

function pollAfter(mark: string | null): ChangePage {
  const after = CHANGES.filter((change) => mark === null || change.stamp > mark);
  const page = after.slice(0, 2);
  return {
    events: page.map((change) => newEvent('record.changed', { source: 'vendor', subject: change.id, data: { id: change.id } })),
    mark: page.at(-1)?.stamp ?? mark ?? '',
    more: after.length > page.length,
  };
}

const outboxSubjects = (store: SqliteStore) =>
  store
    .prepare<{ event: string }>('SELECT event FROM event_outbox ORDER BY sequence')
    .all()
    .map((row) => (JSON.parse(row.event) as { subject: string }).subject);

describe('a change feed polled on a durable high-water mark', () => {
  const data = temporaryDataDir('change-feed');
  const stores: SqliteStore[] = [];
  const open = (file: string) => {
    const store = new SqliteStore(join(data.dir, file));
    store.exec(OUTBOX_DDL);
    stores.push(store);
    return store;
  };
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
  });

  it('turns every change into one event in the outbox, page after page, and remembers where it stopped', async () => {
    const store = open('pages.db');
    const feed = startChangeFeed({ store, feed: 'vendor:Record', poll: async (mark) => pollAfter(mark), intervalMs: 60_000 });
    await feed.pollNow();
    await feed.stop();

    expect(outboxSubjects(store)).toEqual(['rec0', 'rec1', 'rec2', 'rec3', 'rec4']);
    expect(feed.mark()).toBe('2026-12-01T00:00:04Z');
  });

  it('neither misses nor repeats a change across a restart, nor when a poll fails before its page is recorded', async () => {
    const store = open('restart.db');
    let failNext = false;
    const first = startChangeFeed({
      store,
      feed: 'vendor:Record',
      poll: async (mark) => {
        if (failNext) throw new Error('connection reset');
        const page = pollAfter(mark);
        failNext = true;
        return { ...page, more: true };
      },
      intervalMs: 60_000,
      onError: () => {},
    });
    await first.pollNow();
    await first.stop();
    expect(outboxSubjects(store)).toEqual(['rec0', 'rec1']);
    expect(first.mark()).toBe('2026-12-01T00:00:01Z');

    const restarted = startChangeFeed({ store: open('restart.db'), feed: 'vendor:Record', poll: async (mark) => pollAfter(mark), intervalMs: 60_000 });
    await restarted.pollNow();
    await restarted.stop();
    expect(outboxSubjects(store)).toEqual(['rec0', 'rec1', 'rec2', 'rec3', 'rec4']);
  });
});
