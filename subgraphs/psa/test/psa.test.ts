/**
 * The PSA sandbox and subgraph: seed invariants, the rules the store enforces, entities, lists and argument
 * errors. One file, longer than the house's ~400 lines, because its cases share one store seeded at the default
 * volume (seconds of work): split across files, each file would seed its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayFromIso, isCanonicalProjectId, isoFromDay, weekdayOf } from '../../platform/src/index.js';
import { monthlyApprovedTime, generateProjectTime } from '../../sandboxes/src/world/time.js';
import { type World, buildWorld } from '../../sandboxes/src/world/world.js';
import { execute, sqlStatements, temporaryDataDir } from '../../platform/test/testSupport.js';
import { type PsaSubgraph, createPsaSubgraph } from '../src/psaSubgraph.js';
import type { SandboxPsa } from '../src/sandbox/sandboxPsa.js';
import { isoWeekLabel } from '../src/utilizationPeriods.js';

const worldOptions = { scale: 1, seed: 7, asOf: '2026-11-01' };

const RESOURCE_FIELDS = `fragment ResourceFields on Resource {
  id name email role { code name } region skills costRate { amount currency } billRate { amount currency } weeklyCapacityHours }`;
const ASSIGNMENT_FIELDS = `fragment AssignmentFields on Assignment {
  id role { code name } status billRate { amount currency } costRate { amount currency } resource { id name } project { id code } }`;
const EVERY_PROJECT_FIELD = `
  query ($r: [_Any!]!) { _entities(representations: $r) { ... on Project {
    id psaId code name status region serviceLine contractType currency startDate endDate
    account { id }
    manager { ...ResourceFields assignments { ...AssignmentFields } }
    milestones { id name targetDate actualDate status billable amount { amount currency } }
    resourceRequests { id role { code name } hours startDate endDate status assignment { ...AssignmentFields } }
    assignments { ...AssignmentFields resource { ...ResourceFields assignments { id status project { id name } } } }
    timeTotals { timeEntryCount totalHours approvedHours submittedHours openHours approvedBillableHours approvedNonBillableHours
      approvedBillableValue { amount currency } approvedCost { amount currency } lastEntryDate }
  } } }
  ${RESOURCE_FIELDS}
  ${ASSIGNMENT_FIELDS}`;

describe('PSA sandbox at the default seed volume', () => {
  const data = temporaryDataDir('psa');
  let psa: PsaSubgraph;
  let world: World;
  beforeAll(() => {
    psa = createPsaSubgraph({ dataDir: data.dir, world: worldOptions, production: false });
    world = buildWorld(worldOptions);
  });
  afterAll(async () => {
    await psa.stop();
    data.remove();
  });

  const db = () => (psa.psa as SandboxPsa).store.db;
  const count = (sql: string, ...params: unknown[]) =>
    db()
      .prepare(sql)
      .pluck()
      .get(...params) as number;
  const ids = (sql: string, ...params: unknown[]) =>
    db()
      .prepare(sql)
      .pluck()
      .all(...params) as string[];
  /** Runs a rule check inside a savepoint, so no test leaves its probes in the store for the next one. */
  const probe = (work: () => void) => {
    db().exec('SAVEPOINT probe');
    try {
      work();
    } finally {
      db().exec('ROLLBACK TO probe; RELEASE probe');
    }
  };

  describe('seed', () => {
    it('holds at least 1,200 projects, 600 consultants with roles, skills and rates, and 150,000 time entries', () => {
      expect(count('SELECT COUNT(*) FROM project')).toBeGreaterThanOrEqual(1200);
      expect(count('SELECT COUNT(*) FROM resource')).toBeGreaterThanOrEqual(600);
      expect(count('SELECT COUNT(*) FROM resource r WHERE NOT EXISTS (SELECT 1 FROM resource_skill s WHERE s.resource_id = r.id)')).toBe(0);
      expect(count('SELECT COUNT(*) FROM resource WHERE cost_rate_minor <= 0 OR bill_rate_minor <= cost_rate_minor')).toBe(0);
      expect(count('SELECT COUNT(DISTINCT role) FROM resource')).toBe(8);
      expect(count('SELECT COUNT(*) FROM time_entry')).toBeGreaterThanOrEqual(150_000);
      expect(count('SELECT COUNT(*) FROM milestone')).toBeGreaterThan(1200 * 3);
      expect(count('SELECT COUNT(*) FROM assignment')).toBeGreaterThan(1200);
    });

    it('books every time entry on a timesheet of the same consultant, project and week as its assignment', () => {
      expect(count('SELECT COUNT(*) FROM time_entry e LEFT JOIN timesheet t ON t.id = e.timesheet_id WHERE t.id IS NULL')).toBe(0);
      expect(
        count(`SELECT COUNT(*) FROM time_entry e JOIN timesheet t ON t.id = e.timesheet_id JOIN assignment a ON a.id = e.assignment_id
               WHERE a.resource_id <> t.resource_id OR a.project_id <> t.project_id
                  OR e.work_date < t.week_start OR e.work_date > date(t.week_start, '+6 days')`),
      ).toBe(0);
      expect(count("SELECT COUNT(*) FROM timesheet WHERE strftime('%w', week_start) <> '1'")).toBe(0);
      expect(count('SELECT COUNT(*) FROM timesheet')).toBe(count('SELECT COUNT(*) FROM (SELECT DISTINCT resource_id, project_id, week_start FROM timesheet)'));
    });

    it('books time only inside the project dates and never on a tentative assignment', () => {
      expect(
        count(`SELECT COUNT(*) FROM time_entry e JOIN timesheet t ON t.id = e.timesheet_id JOIN project p ON p.id = t.project_id
               WHERE e.work_date < p.start_date OR e.work_date > p.end_date`),
      ).toBe(0);
      expect(count("SELECT COUNT(*) FROM time_entry e JOIN assignment a ON a.id = e.assignment_id WHERE a.status = 'TENTATIVE'")).toBe(0);
    });

    it('approves time only through its timesheet: an entry has no approval status of its own', () => {
      const columns = (db().prepare('PRAGMA table_info(time_entry)').all() as Array<{ name: string }>).map((column) => column.name);
      expect(columns.filter((name) => /approv|status|submit/i.test(name))).toEqual([]);
      expect(count("SELECT COUNT(*) FROM timesheet WHERE (status = 'APPROVED') <> (approved_on IS NOT NULL)")).toBe(0);
      expect(count('SELECT COUNT(DISTINCT status) FROM timesheet')).toBe(4);
    });

    it('carries the world projects under their canonical IDs, Kantata workspace IDs and CRM account IDs', () => {
      const rows = db().prepare('SELECT id, psa_id, account_id, code FROM project').all() as Array<{
        id: string;
        psa_id: string;
        account_id: string;
        code: string;
      }>;
      expect(rows).toHaveLength(world.projects.length);
      const byId = new Map(rows.map((row) => [row.id, row]));
      for (const project of world.projects) {
        expect(byId.get(project.id)).toEqual({
          id: project.id,
          psa_id: project.psaId,
          account_id: world.accounts[project.accountIndex]!.crmId,
          code: project.code,
        });
      }
      expect(rows.every((row) => isCanonicalProjectId(row.id))).toBe(true);
    });

    it('agrees to the cent with the approved time that ERP and billing derive from the same world', () => {
      for (const project of world.projects.filter((p) => p.status === 'COMPLETED').slice(0, 40)) {
        const months = monthlyApprovedTime(generateProjectTime(world, project));
        const expected = months.reduce((sum, month) => sum + month.approvedBillableValueMinor, 0);
        const stored = count(
          `SELECT COALESCE(SUM((e.minutes * e.bill_rate_minor + 30) / 60), 0) FROM time_entry e JOIN timesheet t ON t.id = e.timesheet_id
           WHERE t.project_id = ? AND t.status = 'APPROVED' AND e.billable = 1`,
          project.id,
        );
        expect(stored).toBe(expected);
      }
    });
  });

  describe('rules the store enforces', () => {
    /** A staffed project that has not started: no timesheets yet, so the probes create their own. */
    const plannedAssignment = () =>
      db()
        .prepare(
          `SELECT a.id, a.resource_id, a.project_id, p.start_date, a.bill_rate_minor, a.cost_rate_minor FROM assignment a JOIN project p ON p.id = a.project_id
           WHERE p.status = 'PLANNED' AND a.status = 'CONFIRMED' AND strftime('%w', p.start_date) NOT IN ('0', '1') ORDER BY a.id LIMIT 1`,
        )
        .get() as { id: string; resource_id: string; project_id: string; start_date: string; bill_rate_minor: number; cost_rate_minor: number };
    const mondayOfIso = (iso: string) => {
      const day = dayFromIso(iso);
      return isoFromDay(day - weekdayOf(day));
    };
    const insertSheet = (id: number, resourceId: string, projectId: string, weekStart: string, status = 'OPEN') =>
      db()
        .prepare('INSERT INTO timesheet (id, resource_id, project_id, week_start, status) VALUES (?, ?, ?, ?, ?)')
        .run(id, resourceId, projectId, weekStart, status);
    const insertEntry = (id: number, sheetId: number, assignmentId: string, workDate: string) =>
      db()
        .prepare(
          'INSERT INTO time_entry (id, timesheet_id, assignment_id, work_date, minutes, billable, bill_rate_minor, cost_rate_minor) VALUES (?, ?, ?, ?, 480, 1, 100, 50)',
        )
        .run(id, sheetId, assignmentId, workDate);

    it('rejects time before the project starts and accepts it from the start date', () => {
      const assignment = plannedAssignment();
      probe(() => {
        insertSheet(1, assignment.resource_id, assignment.project_id, mondayOfIso(assignment.start_date));
        const dayBefore = isoFromDay(dayFromIso(assignment.start_date) - 1);
        expect(() => insertEntry(1, 1, assignment.id, dayBefore)).toThrow(/work date is outside the project's dates/);
        insertEntry(2, 1, assignment.id, assignment.start_date);
        expect(count('SELECT COUNT(*) FROM time_entry WHERE id = 2')).toBe(1);
      });
    });

    it('rejects time outside its timesheet week', () => {
      const assignment = plannedAssignment();
      probe(() => {
        insertSheet(1, assignment.resource_id, assignment.project_id, mondayOfIso(assignment.start_date));
        expect(() => insertEntry(1, 1, assignment.id, isoFromDay(dayFromIso(assignment.start_date) + 7))).toThrow(/outside the timesheet's week/);
      });
    });

    it("rejects time on another consultant's assignment", () => {
      const assignment = plannedAssignment();
      const other = ids('SELECT id FROM resource WHERE id <> ? LIMIT 1', assignment.resource_id)[0]!;
      probe(() => {
        insertSheet(1, other, assignment.project_id, mondayOfIso(assignment.start_date));
        expect(() => insertEntry(1, 1, assignment.id, assignment.start_date)).toThrow(/assignment is not the timesheet consultant's/);
      });
    });

    it('keeps one timesheet per consultant, project and week', () => {
      const sheet = db().prepare('SELECT resource_id, project_id, week_start FROM timesheet LIMIT 1').get() as {
        resource_id: string;
        project_id: string;
        week_start: string;
      };
      probe(() => expect(() => insertSheet(1, sheet.resource_id, sheet.project_id, sheet.week_start)).toThrow(/UNIQUE constraint failed/));
    });

    it('moves a timesheet OPEN → SUBMITTED → APPROVED with an approval date, and back to OPEN only to correct it', () => {
      const sheetId = ids("SELECT id FROM timesheet WHERE status = 'OPEN' LIMIT 1")[0]!;
      const setStatus = (status: string, approvedOn: string | null = null) =>
        db().prepare('UPDATE timesheet SET status = ?, approved_on = ? WHERE id = ?').run(status, approvedOn, sheetId);
      probe(() => {
        expect(() => setStatus('APPROVED', '2026-10-30')).toThrow(/status cannot go from OPEN to APPROVED/);
        setStatus('SUBMITTED');
        expect(() => setStatus('APPROVED')).toThrow(/CHECK constraint failed/);
        setStatus('APPROVED', '2026-10-30');
        expect(() => setStatus('REJECTED', '2026-10-30')).toThrow(/status cannot go from APPROVED to REJECTED/);
        expect(() => setStatus('SUBMITTED', '2026-10-30')).toThrow(/status cannot go from APPROVED to SUBMITTED/);
        expect(() => setStatus('OPEN', '2026-10-30')).toThrow(/CHECK constraint failed/);
        setStatus('OPEN');
      });
    });

    it('locks the time on submitted and approved timesheets', () => {
      const entryId = count("SELECT e.id FROM time_entry e JOIN timesheet t ON t.id = e.timesheet_id WHERE t.status = 'APPROVED' LIMIT 1");
      probe(() => {
        expect(() => db().prepare('UPDATE time_entry SET minutes = minutes + 60 WHERE id = ?').run(entryId)).toThrow(/time is locked/);
        expect(() => db().prepare('DELETE FROM time_entry WHERE id = ?').run(entryId)).toThrow(/time is locked/);
      });
      const openEntryId = count("SELECT e.id FROM time_entry e JOIN timesheet t ON t.id = e.timesheet_id WHERE t.status = 'OPEN' LIMIT 1");
      probe(() => expect(db().prepare('UPDATE time_entry SET minutes = minutes + 60 WHERE id = ?').run(openEntryId).changes).toBe(1));
    });

    /** Each project's time by timesheet status, from the rollup and recomputed from the entries themselves. */
    const rollupAgainstEntries = (projectId?: string) => {
      const where = projectId === undefined ? '' : 'WHERE project_id = ?';
      const params = projectId === undefined ? [] : [projectId];
      const fromRollup = db()
        .prepare(
          `SELECT project_id, status, entry_count, minutes, billable_minutes, billable_value_minor, cost_minor, last_entry_date
                  FROM project_time_rollup ${where ? `${where} AND` : 'WHERE'} entry_count > 0 ORDER BY project_id, status`,
        )
        .all(...params);
      const fromEntries = db()
        .prepare(
          `SELECT * FROM (SELECT t.project_id, t.status, COUNT(*) AS entry_count, SUM(e.minutes) AS minutes,
                    SUM(CASE WHEN e.billable = 1 THEN e.minutes ELSE 0 END) AS billable_minutes,
                    SUM(CASE WHEN e.billable = 1 THEN (e.minutes * e.bill_rate_minor + 30) / 60 ELSE 0 END) AS billable_value_minor,
                    SUM((e.minutes * e.cost_rate_minor + 30) / 60) AS cost_minor, MAX(e.work_date) AS last_entry_date
                  FROM timesheet t JOIN time_entry e ON e.timesheet_id = t.id GROUP BY t.project_id, t.status) ${where} ORDER BY project_id, status`,
        )
        .all(...params);
      return { fromRollup, fromEntries };
    };

    it("keeps every project's time rollup equal to its entries from the seed on", () => {
      const { fromRollup, fromEntries } = rollupAgainstEntries();
      expect(fromRollup.length).toBeGreaterThan(1_000);
      expect(fromRollup).toEqual(fromEntries);
    });

    it('keeps the time rollup equal to the entries through inserts, updates, deletes and every status change', async () => {
      const assignment = plannedAssignment();
      const sameAsEntries = () => {
        const { fromRollup, fromEntries } = rollupAgainstEntries(assignment.project_id);
        expect(fromRollup).toEqual(fromEntries);
        return fromRollup as Array<{ status: string; entry_count: number; minutes: number }>;
      };
      let totals: ReturnType<SandboxPsa['timeTotalsByProjectId']> | undefined;
      probe(() => {
        expect(sameAsEntries()).toEqual([]);
        insertSheet(1, assignment.resource_id, assignment.project_id, mondayOfIso(assignment.start_date));
        insertEntry(1, 1, assignment.id, assignment.start_date);
        insertEntry(2, 1, assignment.id, assignment.start_date);
        expect(sameAsEntries()).toMatchObject([{ status: 'OPEN', entry_count: 2, minutes: 960 }]);
        db().prepare('UPDATE time_entry SET minutes = 120, billable = 0 WHERE id = 2').run();
        expect(sameAsEntries()).toMatchObject([{ status: 'OPEN', entry_count: 2, minutes: 600 }]);
        db().prepare('DELETE FROM time_entry WHERE id = 1').run();
        expect(sameAsEntries()).toMatchObject([{ status: 'OPEN', entry_count: 1, minutes: 120 }]);
        const setStatus = (status: string, approvedOn: string | null = null) =>
          db().prepare('UPDATE timesheet SET status = ?, approved_on = ? WHERE id = 1').run(status, approvedOn);
        setStatus('SUBMITTED');
        expect(sameAsEntries()).toMatchObject([{ status: 'SUBMITTED', entry_count: 1 }]);
        setStatus('REJECTED');
        setStatus('OPEN');
        insertEntry(3, 1, assignment.id, assignment.start_date);
        setStatus('SUBMITTED');
        setStatus('APPROVED', assignment.start_date);
        expect(sameAsEntries()).toMatchObject([{ status: 'APPROVED', entry_count: 2, minutes: 600 }]);
        // The statement behind Project.timeTotals reads the rollup (it runs now, inside the probe).
        totals = (psa.psa as SandboxPsa).timeTotalsByProjectId([assignment.project_id]);
      });
      expect((await totals!).get(assignment.project_id)).toMatchObject({
        timeEntryCount: 2,
        totalMinutes: 600,
        approvedMinutes: 600,
        approvedBillableMinutes: 480,
        approvedBillableValueMinor: 800,
        lastEntryDate: assignment.start_date,
      });
    });

    it('refuses to shrink a project past its booked time, and to reopen a completed project', () => {
      const project = db().prepare("SELECT id, start_date FROM project WHERE status = 'COMPLETED' LIMIT 1").get() as { id: string; start_date: string };
      probe(() => {
        expect(() => db().prepare("UPDATE project SET end_date = date(start_date, '+1 day') WHERE id = ?").run(project.id)).toThrow(
          /booked time would fall outside/,
        );
        expect(() => db().prepare("UPDATE project SET status = 'ACTIVE' WHERE id = ?").run(project.id)).toThrow(/status cannot go from COMPLETED to ACTIVE/);
      });
    });

    it('only lets a billable milestone carry an amount or be approved for billing', () => {
      const milestone = ids("SELECT id FROM milestone WHERE billable = 0 AND status = 'COMPLETED' LIMIT 1")[0]!;
      probe(() => {
        expect(() => db().prepare("UPDATE milestone SET status = 'APPROVED_FOR_BILLING' WHERE id = ?").run(milestone)).toThrow(/CHECK constraint failed/);
        expect(() => db().prepare('UPDATE milestone SET amount_minor = 100 WHERE id = ?').run(milestone)).toThrow(/CHECK constraint failed/);
      });
    });
  });

  describe('entities', () => {
    it('resolves Project references with the delivery fields, the CRM account reference and the manager', async () => {
      const project = world.projects.find((p) => p.status === 'ACTIVE')!;
      const result = await execute(
        psa,
        `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Project {
          id psaId code status region contractType currency startDate endDate account { id } manager { id } milestones { id } } } }`,
        {
          r: [
            { __typename: 'Project', id: project.id },
            { __typename: 'Project', id: `prj_${'0'.repeat(26)}` },
          ],
        },
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!['_entities']).toEqual([
        {
          id: project.id,
          psaId: project.psaId,
          code: project.code,
          status: 'ACTIVE',
          region: project.region,
          contractType: project.contractType,
          currency: project.currency,
          startDate: isoFromDay(project.startDay),
          endDate: isoFromDay(project.endDay),
          account: { id: world.accounts[project.accountIndex]!.crmId },
          manager: { id: world.consultants[project.managerIndex]!.psaId },
          milestones: project.milestones.map((milestone) => ({ id: milestone.psaId })),
        },
        null,
      ]);
    });

    it('resolves Resource references, with money in the consultant currency', async () => {
      const consultant = world.consultants[11]!;
      const result = await execute(
        psa,
        `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Resource { id name role { code } skills costRate { amount currency } weeklyCapacityHours } } }`,
        {
          r: [{ __typename: 'Resource', id: consultant.psaId }],
        },
      );
      expect(result.data!['_entities']).toEqual([
        {
          id: consultant.psaId,
          name: consultant.name,
          role: { code: consultant.role },
          skills: [...consultant.skills].sort(),
          costRate: { amount: (consultant.costRateMinor / 100).toFixed(2), currency: consultant.currency },
          weeklyCapacityHours: consultant.weeklyCapacityHours,
        },
      ]);
    });

    it('rejects a malformed Project reference with INVALID_ID', async () => {
      const result = await execute(psa, `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Project { id } } }`, {
        r: [{ __typename: 'Project', id: '1000005' }],
      });
      expect(result.errors?.[0]?.extensions?.['code']).toBe('INVALID_ID');
    });

    it('sums a project time by its timesheets status, matching the store to the minute and the cent', async () => {
      const project = world.projects.find((p) => p.status === 'ACTIVE' && p.contractType === 'TIME_AND_MATERIALS')!;
      const result = await execute(
        psa,
        `query ($id: ID!) { project(id: $id) { timeTotals { timeEntryCount totalHours approvedHours submittedHours openHours
        approvedBillableHours approvedNonBillableHours approvedBillableValue { amount currency } approvedCost { amount } lastEntryDate } } }`,
        { id: project.id },
      );
      const sums = db()
        .prepare(
          `SELECT COUNT(*) AS n, SUM(e.minutes) AS total,
             SUM(IIF(t.status = 'APPROVED', e.minutes, 0)) AS approved, SUM(IIF(t.status = 'SUBMITTED', e.minutes, 0)) AS submitted,
             SUM(IIF(t.status = 'OPEN', e.minutes, 0)) AS open, SUM(IIF(t.status = 'APPROVED' AND e.billable, e.minutes, 0)) AS billable,
             SUM(IIF(t.status = 'APPROVED' AND e.billable, ROUND(e.minutes * e.bill_rate_minor / 60.0), 0)) AS value,
             SUM(IIF(t.status = 'APPROVED', ROUND(e.minutes * e.cost_rate_minor / 60.0), 0)) AS cost, MAX(e.work_date) AS last
           FROM time_entry e JOIN timesheet t ON t.id = e.timesheet_id WHERE t.project_id = ?`,
        )
        .get(project.id) as Record<string, number>;
      expect(sums['n']).toBeGreaterThan(0);
      expect(result.data!['project'].timeTotals).toEqual({
        timeEntryCount: sums['n'],
        totalHours: sums['total']! / 60,
        approvedHours: sums['approved']! / 60,
        submittedHours: sums['submitted']! / 60,
        openHours: sums['open']! / 60,
        approvedBillableHours: sums['billable']! / 60,
        approvedNonBillableHours: (sums['approved']! - sums['billable']!) / 60,
        approvedBillableValue: { amount: (sums['value']! / 100).toFixed(2), currency: project.currency },
        approvedCost: { amount: (sums['cost']! / 100).toFixed(2) },
        lastEntryDate: sums['last'],
      });
    });

    it('reports zero totals, not null, for a project with no time yet', async () => {
      const project = world.projects.find((p) => p.status === 'PLANNED')!;
      const result = await execute(
        psa,
        `query ($id: ID!) { project(id: $id) { timeTotals { timeEntryCount totalHours approvedCost { amount } lastEntryDate } } }`,
        { id: project.id },
      );
      expect(result.data!['project'].timeTotals).toEqual({ timeEntryCount: 0, totalHours: 0, approvedCost: { amount: '0.00' }, lastEntryDate: null });
    });

    it('links staffing demand to its assignment and the assignment back to its project', async () => {
      const project = world.projects.find((p) => p.status === 'ACTIVE' && p.requests.length > 1)!;
      const result = await execute(
        psa,
        `query ($id: ID!) { project(id: $id) { resourceRequests { id role { code name } status assignment { id resource { id } project { id } } } } }`,
        {
          id: project.id,
        },
      );
      expect(result.data!['project'].resourceRequests).toEqual(
        project.requests.map((request) => ({
          id: request.psaId,
          role: { code: request.role, name: expect.any(String) },
          status: request.status,
          assignment: request.assignment
            ? { id: request.assignment.psaId, resource: { id: world.consultants[request.assignment.consultantIndex]!.psaId }, project: { id: project.id } }
            : null,
        })),
      );
    });

    it('resolves 50 projects with every field in as many SQL statements as 5', async () => {
      const projectIds = ids(
        `SELECT p.id FROM project p WHERE p.status = 'ACTIVE' AND EXISTS (SELECT 1 FROM assignment a WHERE a.project_id = p.id) ORDER BY p.id LIMIT 50`,
      );
      expect(projectIds).toHaveLength(50);
      const statementsFor = async (projects: readonly string[]) => {
        const before = await sqlStatements(psa);
        const result = await execute(psa, EVERY_PROJECT_FIELD, { r: projects.map((id) => ({ __typename: 'Project', id })) });
        expect(result.errors).toBeUndefined();
        expect(result.data!['_entities']).toHaveLength(projects.length);
        return (await sqlStatements(psa)) - before;
      };
      const forFive = await statementsFor(projectIds.slice(0, 5));
      const forFifty = await statementsFor(projectIds);
      expect(forFifty).toBe(forFive);
      expect(forFive).toBeLessThanOrEqual(12);
    });
  });

  describe('argument errors', () => {
    const firstError = async (query: string, variables: Record<string, unknown> = {}) => (await execute(psa, query, variables)).errors?.[0];

    it('rejects a project ID that is not canonical with INVALID_ID', async () => {
      const error = await firstError('{ project(id: "1000005") { id } }');
      expect(error?.extensions?.['code']).toBe('INVALID_ID');
      expect(error?.message).toBe('Argument "id" has an invalid ID "1000005": expected a canonical project ID (prj_ and a 26-character ULID).');
    });

    it('rejects a consultant ID that is not numeric with INVALID_ID', async () => {
      const error = await firstError('{ resource(id: "res-12") { id } }');
      expect(error?.extensions).toMatchObject({ code: 'INVALID_ID', argument: 'id' });
      expect(error?.message).toBe('Argument "id" has an invalid ID "res-12": expected a numeric PSA consultant ID.');
    });

    it('rejects an account filter that is not a Salesforce Account ID with INVALID_ID', async () => {
      const error = await firstError('{ projects(filter: { accountId: "0065g0000004CthAAE" }) { totalCount } }');
      expect(error?.extensions).toMatchObject({ code: 'INVALID_ID', argument: 'filter.accountId' });
    });

    it('rejects a page size over 100 with PAGE_SIZE_OUT_OF_RANGE', async () => {
      expect((await firstError('{ projects(first: 101) { totalCount } }'))?.extensions).toMatchObject({ code: 'PAGE_SIZE_OUT_OF_RANGE', maximum: 100 });
      expect((await firstError('{ resources(first: 0) { totalCount } }'))?.extensions).toMatchObject({ code: 'PAGE_SIZE_OUT_OF_RANGE', maximum: 100 });
    });

    it('rejects a cursor issued by another list with INVALID_CURSOR', async () => {
      const cursor = Buffer.from('resources:3').toString('base64url');
      expect((await firstError('query ($c: String) { projects(after: $c) { totalCount } }', { c: cursor }))?.extensions?.['code']).toBe('INVALID_CURSOR');
    });

    it('rejects inverted date ranges with INVALID_DATE_RANGE', async () => {
      const startDate = await firstError('{ projects(filter: { startDate: { from: "2026-05-01", to: "2026-01-01" } }) { totalCount } }');
      expect(startDate?.extensions).toMatchObject({ code: 'INVALID_DATE_RANGE', argument: 'filter.startDate' });
      const activeDuring = await firstError('{ projects(filter: { activeDuring: { from: "2026-05-01", to: "2026-01-01" } }) { totalCount } }');
      expect(activeDuring?.extensions).toMatchObject({ code: 'INVALID_DATE_RANGE', argument: 'filter.activeDuring' });
    });

    it('rejects a utilization period without both ends, or over two years, with INVALID_DATE_RANGE', async () => {
      const open = await firstError('{ utilization(filter: { period: { from: "2026-01-01" }, resourceIds: ["7000003"] }) { period } }');
      expect(open?.extensions).toMatchObject({ code: 'INVALID_DATE_RANGE', argument: 'filter.period' });
      expect(open?.message).toBe('Argument "filter.period" needs both from and to.');
      const long = await firstError('{ utilization(filter: { period: { from: "2024-01-01", to: "2026-01-01" } resourceIds: ["7000003"] }) { period } }');
      expect(long?.extensions).toMatchObject({ code: 'INVALID_DATE_RANGE', maximumDays: 731 });
    });

    it('rejects more than 24 utilization periods with BAD_USER_INPUT', async () => {
      const error = await firstError(
        '{ utilization(filter: { period: { from: "2026-01-05", to: "2026-07-31" }, granularity: WEEK, resourceIds: ["7000003"] }) { period } }',
      );
      expect(error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'filter.period', maximumPeriods: 24 });
      expect(error?.message).toBe('Argument "filter.period" covers 30 weeks; at most 24 periods are allowed per call.');
    });

    it('rejects a utilization call over more than 100 consultants with BAD_USER_INPUT', async () => {
      const period = '{ from: "2026-09-01", to: "2026-09-30" }';
      const everyone = await firstError(`{ utilization(filter: { period: ${period} }) { period } }`);
      expect(everyone?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'filter', maximumResources: 100 });
      expect(everyone?.message).toBe('Argument "filter" selects more than 100 consultants: narrow it with resourceIds, region or role.');
      const listed = ids('SELECT id FROM resource ORDER BY id LIMIT 101');
      const tooMany = await firstError(`query ($ids: [ID!]) { utilization(filter: { period: ${period}, resourceIds: $ids }) { period } }`, { ids: listed });
      expect(tooMany?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', maximumResources: 100 });
      const exactly = await execute(psa, `query ($ids: [ID!]) { utilization(filter: { period: ${period}, resourceIds: $ids }) { period } }`, {
        ids: listed.slice(0, 100),
      });
      expect(exactly.errors).toBeUndefined();
      expect(exactly.data!['utilization']).toHaveLength(100);
    });

    it('rejects a malformed consultant ID in a utilization filter with INVALID_ID', async () => {
      const error = await firstError(
        '{ utilization(filter: { period: { from: "2026-09-01", to: "2026-09-30" }, resourceIds: ["7000003", "abc"] }) { period } }',
      );
      expect(error?.extensions).toMatchObject({ code: 'INVALID_ID', argument: 'filter.resourceIds' });
    });
  });

  describe('lists', () => {
    const projectsQuery = `query ($filter: ProjectFilter, $first: Int, $after: String) {
      projects(filter: $filter, first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
        nodes { id status region serviceLine contractType startDate endDate account { id } } } }`;
    const projects = async (filter: Record<string, unknown>, first = 100, after?: string) => {
      const result = await execute(psa, projectsQuery, { filter, first, after });
      expect(result.errors).toBeUndefined();
      return result.data!['projects'];
    };

    it('pages projects by start date then ID with stable cursors and a total count', async () => {
      const filter = { region: ['APAC'] };
      const expected = ids("SELECT id FROM project WHERE region = 'APAC' ORDER BY start_date, id");
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await projects(filter, 40, after);
        expect(page.totalCount).toBe(expected.length);
        expect(page.pageInfo.hasPreviousPage).toBe(after !== undefined);
        seen.push(...page.nodes.map((node: { id: string }) => node.id));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(seen).toEqual(expected);
    });

    it.each([
      ['status', { status: ['ON_HOLD', 'CANCELLED'] }, "status IN ('ON_HOLD', 'CANCELLED')"],
      ['region', { region: ['UK_IRELAND'] }, "region = 'UK_IRELAND'"],
      ['serviceLine', { serviceLine: ['Cybersecurity'] }, "service_line = 'Cybersecurity'"],
      ['contractType', { contractType: ['MILESTONE', 'RETAINER'] }, "contract_type IN ('MILESTONE', 'RETAINER')"],
      ['activeDuring', { activeDuring: { from: '2025-01-01', to: '2025-03-31' } }, "start_date <= '2025-03-31' AND end_date >= '2025-01-01'"],
      ['activeDuring from only', { activeDuring: { from: '2026-10-01' } }, "end_date >= '2026-10-01'"],
      ['startDate', { startDate: { from: '2025-06-01', to: '2025-06-30' } }, "start_date BETWEEN '2025-06-01' AND '2025-06-30'"],
      [
        'combined',
        { status: ['ACTIVE'], region: ['NORTH_AMERICA'], contractType: ['TIME_AND_MATERIALS'] },
        "status = 'ACTIVE' AND region = 'NORTH_AMERICA' AND contract_type = 'TIME_AND_MATERIALS'",
      ],
    ])('narrows projects by %s exactly as the store does', async (_name, filter, where) => {
      const expected = count(`SELECT COUNT(*) FROM project WHERE ${where}`);
      const all = count('SELECT COUNT(*) FROM project');
      expect(expected).toBeGreaterThan(0);
      expect(expected).toBeLessThan(all);
      const page = await projects(filter);
      expect(page.totalCount).toBe(expected);
      expect(page.nodes.map((node: { id: string }) => node.id)).toEqual(ids(`SELECT id FROM project WHERE ${where} ORDER BY start_date, id LIMIT 100`));
    });

    it("narrows projects to one CRM account's", async () => {
      const accountId = ids('SELECT account_id FROM project GROUP BY account_id HAVING COUNT(*) > 2 LIMIT 1')[0]!;
      const page = await projects({ accountId });
      expect(page.totalCount).toBe(count('SELECT COUNT(*) FROM project WHERE account_id = ?', accountId));
      expect(page.nodes.every((node: { account: { id: string } }) => node.account.id === accountId)).toBe(true);
    });

    const resources = async (filter: Record<string, unknown>) => {
      const result = await execute(
        psa,
        'query ($filter: ResourceFilter) { resources(filter: $filter, first: 100) { totalCount nodes { id name role { code } region skills } } }',
        { filter },
      );
      expect(result.errors).toBeUndefined();
      return result.data!['resources'];
    };

    it.each([
      ['role', { role: ['DATA_ENGINEER'] }, "role = 'DATA_ENGINEER'"],
      ['region', { region: ['APAC', 'EUROPE'] }, "region IN ('APAC', 'EUROPE')"],
      ['skill', { skill: 'snowflake' }, "EXISTS (SELECT 1 FROM resource_skill s WHERE s.resource_id = resource.id AND lower(s.skill) = 'snowflake')"],
      ['nameContains', { nameContains: "o'b" }, "lower(name) LIKE '%o''b%'"],
      [
        'combined',
        { role: ['CONSULTANT'], region: ['NORTH_AMERICA'], skill: 'AWS' },
        "role = 'CONSULTANT' AND region = 'NORTH_AMERICA' AND EXISTS (SELECT 1 FROM resource_skill s WHERE s.resource_id = resource.id AND s.skill = 'AWS')",
      ],
    ])('narrows consultants by %s exactly as the store does', async (_name, filter, where) => {
      const expected = count(`SELECT COUNT(*) FROM resource WHERE ${where}`);
      expect(expected).toBeGreaterThan(0);
      expect(expected).toBeLessThan(count('SELECT COUNT(*) FROM resource'));
      const page = await resources(filter);
      expect(page.totalCount).toBe(expected);
      expect(page.nodes.map((node: { id: string }) => node.id)).toEqual(ids(`SELECT id FROM resource WHERE ${where} ORDER BY name, id LIMIT 100`));
    });

    it('treats a percent sign in nameContains as a character, not a wildcard', async () => {
      expect((await resources({ nameContains: '%' })).totalCount).toBe(0);
    });
  });

  describe('utilization', () => {
    /** Weekdays in [from, to], counted one day at a time (the resolver counts whole weeks at once). */
    const weekdays = (from: string, to: string) => {
      let n = 0;
      for (let day = dayFromIso(from); day <= dayFromIso(to); day++) if (weekdayOf(day) < 5) n++;
      return n;
    };
    const approvedMinutes = (resourceId: string, from: string, to: string, billable: 0 | 1) =>
      count(
        `SELECT COALESCE(SUM(e.minutes), 0) FROM time_entry e JOIN timesheet t ON t.id = e.timesheet_id
         WHERE t.resource_id = ? AND t.status = 'APPROVED' AND e.billable = ? AND e.work_date BETWEEN ? AND ?`,
        resourceId,
        billable,
        from,
        to,
      );
    const utilizationQuery = `query ($filter: UtilizationFilter!) { utilization(filter: $filter) {
      resource { id weeklyCapacityHours } period periodStart periodEnd capacityHours billableHours nonBillableHours utilization } }`;

    it('reports approved billable and non-billable hours against capacity per month, clipped to the requested range', async () => {
      const busy = ids(
        `SELECT t.resource_id FROM timesheet t JOIN time_entry e ON e.timesheet_id = t.id WHERE t.status = 'APPROVED' AND e.work_date BETWEEN '2026-07-01' AND '2026-09-30'
         GROUP BY t.resource_id ORDER BY SUM(e.minutes) DESC LIMIT 3`,
      );
      const idle = ids(
        `SELECT id FROM resource r WHERE NOT EXISTS (SELECT 1 FROM timesheet t WHERE t.resource_id = r.id AND t.week_start BETWEEN '2026-06-20' AND '2026-09-30') LIMIT 1`,
      );
      const selected = [...busy, ...idle];
      const before = await sqlStatements(psa);
      const result = await execute(psa, utilizationQuery, { filter: { period: { from: '2026-07-15', to: '2026-09-30' }, resourceIds: selected } });
      expect((await sqlStatements(psa)) - before).toBe(2);
      expect(result.errors).toBeUndefined();
      const rows = result.data!['utilization'] as Array<Record<string, any>>;
      expect(rows).toHaveLength(selected.length * 3);
      for (const row of rows) {
        const id = row['resource'].id as string;
        const billable = approvedMinutes(id, row['periodStart'], row['periodEnd'], 1) / 60;
        const capacity = (row['resource'].weeklyCapacityHours * weekdays(row['periodStart'], row['periodEnd'])) / 5;
        expect(row).toMatchObject({
          billableHours: billable,
          nonBillableHours: approvedMinutes(id, row['periodStart'], row['periodEnd'], 0) / 60,
          capacityHours: capacity,
        });
        expect(row['utilization']).toBeCloseTo(billable / capacity, 10);
      }
      const first = rows.filter((row) => row['resource'].id === busy[0]);
      expect(first.map((row) => [row['period'], row['periodStart'], row['periodEnd']])).toEqual([
        ['2026-07', '2026-07-15', '2026-07-31'],
        ['2026-08', '2026-08-01', '2026-08-31'],
        ['2026-09', '2026-09-01', '2026-09-30'],
      ]);
      expect(first.every((row) => row['billableHours'] > 0)).toBe(true);
      expect(rows.filter((row) => row['resource'].id === idle[0]).every((row) => row['billableHours'] === 0 && row['utilization'] === 0)).toBe(true);
    });

    it('reports ISO weeks, including a week that belongs to the next year', async () => {
      const resourceId = ids(`SELECT t.resource_id FROM timesheet t WHERE t.status = 'APPROVED' AND t.week_start = '2025-12-29' LIMIT 1`)[0]!;
      const result = await execute(psa, utilizationQuery, {
        filter: { period: { from: '2025-12-17', to: '2026-01-11' }, granularity: 'WEEK', resourceIds: [resourceId] },
      });
      expect(result.errors).toBeUndefined();
      const rows = result.data!['utilization'] as Array<Record<string, any>>;
      expect(rows.map((row) => [row['period'], row['periodStart'], row['periodEnd']])).toEqual([
        ['2025-W51', '2025-12-17', '2025-12-21'],
        ['2025-W52', '2025-12-22', '2025-12-28'],
        ['2026-W01', '2025-12-29', '2026-01-04'],
        ['2026-W02', '2026-01-05', '2026-01-11'],
      ]);
      for (const row of rows) {
        expect(row['billableHours']).toBe(approvedMinutes(resourceId, row['periodStart'], row['periodEnd'], 1) / 60);
        expect(row['capacityHours']).toBe((row['resource'].weeklyCapacityHours * weekdays(row['periodStart'], row['periodEnd'])) / 5);
      }
      expect(rows[2]!['billableHours'] + rows[2]!['nonBillableHours']).toBeGreaterThan(0);
    });

    it('selects consultants by region and role', async () => {
      const result = await execute(
        psa,
        'query { utilization(filter: { period: { from: "2026-09-01", to: "2026-09-30" }, region: [APAC], role: ["ANALYST", "DEVELOPER"] }) { resource { id region role { code } } } }',
      );
      expect(result.errors).toBeUndefined();
      const rows = result.data!['utilization'] as Array<{ resource: { id: string; region: string; role: { code: string } } }>;
      expect(rows.map((row) => row.resource.id).sort()).toEqual(
        ids("SELECT id FROM resource WHERE region = 'APAC' AND role IN ('ANALYST', 'DEVELOPER') ORDER BY id"),
      );
    });

    it('labels ISO weeks by the year of their Thursday', () => {
      expect(isoWeekLabel(dayFromIso('2024-12-30'))).toBe('2025-W01');
      expect(isoWeekLabel(dayFromIso('2020-12-28'))).toBe('2020-W53');
      expect(isoWeekLabel(dayFromIso('2026-11-02'))).toBe('2026-W45');
    });
  });
});
