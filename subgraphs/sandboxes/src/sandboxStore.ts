/**
 * Opens a sandbox system's SQLite store, creating and seeding it on first use. Seeding writes to a temporary
 * file that is renamed into place only when complete, so a crash mid-seed never leaves a half-seeded store.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { SqliteStore } from '../../platform/src/storage/sqliteStore.js';
import type { WorldOptions } from './world/world.js';

export interface SandboxStoreOptions {
  readonly file: string;
  /** The system's tables (CREATE TABLE … statements). */
  readonly ddl: string;
  readonly world: WorldOptions;
  /** Fills a fresh store from the world; runs inside one transaction. */
  readonly seed: (store: SqliteStore) => void;
}

export function openSandboxStore(options: SandboxStoreOptions): SqliteStore {
  mkdirSync(dirname(options.file), { recursive: true });
  if (!existsSync(options.file)) {
    const partial = `${options.file}.seeding`;
    for (const suffix of ['', '-wal', '-shm']) rmSync(partial + suffix, { force: true });
    const fresh = new SqliteStore(partial);
    fresh.exec(options.ddl);
    fresh.exec('CREATE TABLE sandbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    fresh.transaction(() => {
      options.seed(fresh);
      fresh.prepare('INSERT INTO sandbox_meta (key, value) VALUES (?, ?)').run(['world', JSON.stringify(options.world)]);
    });
    fresh.db.pragma('wal_checkpoint(TRUNCATE)');
    fresh.close();
    renameSync(partial, options.file);
  }
  return new SqliteStore(options.file);
}
