/** Seeds a fresh PSA sandbox from the deterministic world. */
import { type SqliteStore, isoFromDay } from '../../../platform/src/index.js';
import { ROLES } from '../../../sandboxes/src/world/catalog.js';
import { generateProjectTime } from '../../../sandboxes/src/world/time.js';
import { type World } from '../../../sandboxes/src/world/world.js';
import { INDEXES, RULES } from './psaSchema.js';
import { installTimeRollup } from './psaTimeRollup.js';

/**
 * Fills a fresh PSA store (created with `TABLES`) from the world, in the caller's transaction, then builds the
 * indexes, checks every loaded entry against the placement rule and installs the rules for later changes. Time is
 * the bulk (about 230,000 entries at the default volume), so every row goes through one prepared statement and
 * day numbers are formatted once.
 */
export function seedPsa(store: SqliteStore, world: World): void {
  const isoDays = new Map<number, string>();
  const iso = (day: number): string => {
    let text = isoDays.get(day);
    if (text === undefined) isoDays.set(day, (text = isoFromDay(day)));
    return text;
  };

  const insertRole = store.prepare('INSERT INTO role (code, name) VALUES (?, ?)');
  for (const role of ROLES) insertRole.run([role.code, role.name]);

  const insertResource = store.prepare(
    `INSERT INTO resource (id, name, email, role, region, currency, cost_rate_minor, bill_rate_minor, weekly_capacity_hours)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertSkill = store.prepare('INSERT INTO resource_skill (resource_id, skill) VALUES (?, ?)');
  for (const consultant of world.consultants) {
    insertResource.run([
      consultant.psaId,
      consultant.name,
      consultant.email,
      consultant.role,
      consultant.region,
      consultant.currency,
      consultant.costRateMinor,
      consultant.billRateMinor,
      consultant.weeklyCapacityHours,
    ]);
    for (const skill of consultant.skills) insertSkill.run([consultant.psaId, skill]);
  }

  const insertProject = store.prepare(
    `INSERT INTO project (id, psa_id, account_id, code, name, status, region, service_line, contract_type, currency, start_date, end_date, manager_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertMilestone = store.prepare(
    `INSERT INTO milestone (id, project_id, sort_order, name, target_date, actual_date, status, billable, amount_minor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertRequest = store.prepare('INSERT INTO resource_request (id, project_id, role, hours, start_date, end_date, status) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const insertAssignment = store.prepare(
    `INSERT INTO assignment (id, project_id, resource_id, request_id, role, status, bill_rate_minor, cost_rate_minor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertTimesheet = store.prepare('INSERT INTO timesheet (id, resource_id, project_id, week_start, status, approved_on) VALUES (?, ?, ?, ?, ?, ?)');
  const insertEntry = store.prepare(
    `INSERT INTO time_entry (id, timesheet_id, assignment_id, work_date, minutes, billable, bill_rate_minor, cost_rate_minor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );

  for (const project of world.projects) {
    insertProject.run([
      project.id,
      project.psaId,
      world.accounts[project.accountIndex]!.crmId,
      project.code,
      project.name,
      project.status,
      project.region,
      project.serviceLine,
      project.contractType,
      project.currency,
      iso(project.startDay),
      iso(project.endDay),
      world.consultants[project.managerIndex]!.psaId,
    ]);
    project.milestones.forEach((milestone, order) =>
      insertMilestone.run([
        milestone.psaId,
        project.id,
        order,
        milestone.name,
        iso(milestone.targetDay),
        milestone.actualDay === null ? null : iso(milestone.actualDay),
        milestone.status,
        milestone.billable ? 1 : 0,
        milestone.billable ? milestone.amountMinor : null,
      ]),
    );
    for (const request of project.requests) {
      insertRequest.run([request.psaId, project.id, request.role, request.hours, iso(request.startDay), iso(request.endDay), request.status]);
      const assignment = request.assignment;
      if (!assignment) continue;
      insertAssignment.run([
        assignment.psaId,
        project.id,
        world.consultants[assignment.consultantIndex]!.psaId,
        request.psaId,
        request.role,
        assignment.status,
        assignment.billRateMinor,
        assignment.costRateMinor,
      ]);
    }

    const time = generateProjectTime(world, project);
    // The PSA keeps one timesheet per consultant, project and week. The world can staff one consultant on two
    // lines of a small project and then issue two sheets for the same week; their time goes on the first one.
    const sheetIdBySeedIndex: number[] = [];
    const sheetIdByConsultantWeek = new Map<string, number>();
    time.timesheets.forEach((sheet, index) => {
      const key = `${sheet.consultantIndex}|${sheet.weekStartDay}`;
      const existing = sheetIdByConsultantWeek.get(key);
      if (existing !== undefined) {
        sheetIdBySeedIndex[index] = existing;
        return;
      }
      const id = Number(sheet.psaId);
      insertTimesheet.run([
        id,
        world.consultants[sheet.consultantIndex]!.psaId,
        project.id,
        iso(sheet.weekStartDay),
        sheet.status,
        sheet.approvedDay === null ? null : iso(sheet.approvedDay),
      ]);
      sheetIdByConsultantWeek.set(key, id);
      sheetIdBySeedIndex[index] = id;
    });
    for (const entry of time.entries) {
      insertEntry.run([
        Number(entry.psaId),
        sheetIdBySeedIndex[entry.timesheetIndex]!,
        entry.assignmentPsaId,
        iso(entry.day),
        entry.minutes,
        entry.billable ? 1 : 0,
        entry.billRateMinor,
        entry.costRateMinor,
      ]);
    }
  }
  store.exec(INDEXES);
  const misplaced = store.prepare<{ time_entry_id: number; problem: string }>('SELECT time_entry_id, problem FROM time_entry_misplacement LIMIT 1').get();
  if (misplaced) throw new Error(`PSA seed: time entry ${misplaced.time_entry_id}: ${misplaced.problem}.`);
  store.exec(RULES);
  installTimeRollup(store);
}
