/**
 * The posting store over a store made by an earlier psgraph: a billing exception type added since (a CHECK SQLite
 * cannot alter) is taken after the table is rebuilt, with every exception kept.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { SqliteStore } from '../../platform/src/index.js';
import { temporaryDataDir } from '../../platform/test/testSupport.js';
import { POSTING_DDL } from '../src/posting/postingStore.js';
import { openActivationStore } from '../src/store/activationStore.js';

describe('the posting store over an older store', () => {
  it('widens the billing exception types, keeping every exception and index', () => {
    const data = temporaryDataDir('posting-store-upgrade');
    try {
      mkdirSync(data.dir, { recursive: true });
      const before = new SqliteStore(join(data.dir, 'activation.db'));
      // The table as it was before BUDGET_EXCEEDED.
      before.exec(POSTING_DDL.replace("'BUDGET_EXCEEDED', ", ''));
      expect(before.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'billing_exception'").pluck().get()).not.toContain('BUDGET_EXCEEDED');
      before.db
        .prepare(
          "INSERT INTO delivery_line (source_key, kind, record_id, version, project_id, line, status, event_id, approved_at, updated_at) VALUES ('time:1:v1', 'TIME', '1', 1, 'prj_x', '{}', 'EXCEPTION', 'evt', 'now', 'now')",
        )
        .run();
      before.db
        .prepare(
          `INSERT INTO billing_exception (id, source_key, type, status, project_id, owner_system, owner_team, entity_type, entity_id, field, message, resolution, detected_at)
           VALUES ('bex_1', 'time:1:v1', 'PO_EXHAUSTED', 'OPEN', 'prj_x', 'CRM', 'Account management', 'Project', 'prj_x', 'purchaseOrder.amount', 'm', 'r', 'now')`,
        )
        .run();
      before.close();

      const store = openActivationStore(data.dir);
      const db = store.sqlite.db;
      expect(db.prepare('SELECT id, type, status FROM billing_exception').all()).toEqual([{ id: 'bex_1', type: 'PO_EXHAUSTED', status: 'OPEN' }]);
      db.prepare(
        `INSERT INTO billing_exception (id, source_key, type, status, project_id, owner_system, owner_team, entity_type, entity_id, field, message, resolution, detected_at)
         VALUES ('bex_2', 'time:1:v1', 'BUDGET_EXCEEDED', 'OPEN', 'prj_x', 'PSA', 'Project management', 'Project', 'prj_x', 'job.budget', 'm', 'r', 'now')`,
      ).run();
      // One open exception per line and problem still holds: the unique index came back.
      expect(() =>
        db
          .prepare(
            `INSERT INTO billing_exception (id, source_key, type, status, project_id, owner_system, owner_team, entity_type, entity_id, field, message, resolution, detected_at)
             VALUES ('bex_3', 'time:1:v1', 'BUDGET_EXCEEDED', 'OPEN', 'prj_x', 'PSA', 'Project management', 'Project', 'prj_x', 'job.budget', 'm', 'r', 'now')`,
          )
          .run(),
      ).toThrow(/UNIQUE/);
      expect(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'billing_exception_before%'").pluck().get()).toBe(0);
      store.close();
    } finally {
      data.remove();
    }
  });
});
