/**
 * The wire server's NetSuite account: its records in SQLite, under the names SuiteQL gives them (`customer`,
 * `job`, `billingschedule`, `transactionline`, …), seeded from the ERP sandbox's world (the same seed) and laid
 * out as NetSuite keeps them: subsidiaries with currencies, customers with terms and OneWorld subsidiary
 * relationships, jobs, the psgraph rate card custom records, project billing schedules with milestone lines, and
 * the ledger as posting transactions — an invoice per job and month billed, a revenue recognition journal per
 * job and month recognized, a cost journal per job and month of time cost, each line attributed to its job — and
 * what delivery postings are checked against: project statuses, employees, service items, accounting periods with
 * their close flags, and the contract rate and purchase order custom records — and psgraph's billing records: the
 * invoice and credit note records (none seeded) and the billed marks of the schedule lines the seeded history billed.
 */
import Database from 'better-sqlite3';
import { openSandboxErp } from '../../../subgraphs/erp/src/sandbox/sandboxErp.js';
import type { WorldOptions } from '../../../subgraphs/sandboxes/src/index.js';
import { registerSuiteQlFunctions, toDisplayDate } from './suiteql.js';

export const SCHEMA = `
CREATE TABLE currency (id INTEGER PRIMARY KEY, name TEXT, symbol TEXT UNIQUE, isbasecurrency TEXT);
CREATE TABLE subsidiary (id INTEGER PRIMARY KEY, name TEXT, country TEXT, currency INTEGER, parent INTEGER, iselimination TEXT, isinactive TEXT,
  custrecord_psgraph_region TEXT, custrecord_psgraph_tax_regime TEXT, custrecord_psgraph_service_tax_bp INTEGER);
CREATE TABLE term (id INTEGER PRIMARY KEY, name TEXT, daysuntilnetdue INTEGER, isinactive TEXT);
CREATE TABLE customer (id INTEGER PRIMARY KEY, entityid TEXT UNIQUE, companyname TEXT, isperson TEXT, parent INTEGER, subsidiary INTEGER,
  currency INTEGER, externalid TEXT UNIQUE, terms INTEGER, vatregnumber TEXT, taxable TEXT, creditholdoverride TEXT);
CREATE TABLE customersubsidiaryrelationship (id INTEGER PRIMARY KEY, entity INTEGER, subsidiary INTEGER, isprimarysub TEXT, externalid TEXT UNIQUE,
  UNIQUE (entity, subsidiary));
CREATE TABLE job (id INTEGER PRIMARY KEY, entityid TEXT UNIQUE, companyname TEXT, externalid TEXT UNIQUE, parent INTEGER, customer INTEGER,
  subsidiary INTEGER, currency INTEGER, startdate TEXT, projectedenddate TEXT, custentity_psgraph_contract_type TEXT,
  custentity_psgraph_contract_value REAL, custentity_psgraph_budget REAL, custentity_psgraph_po_required TEXT, custentity_psgraph_po_number TEXT,
  custentity_psgraph_rate_card INTEGER, entitystatus INTEGER);
CREATE TABLE jobstatus (id INTEGER PRIMARY KEY, name TEXT, isinactive TEXT);
CREATE TABLE employee (id INTEGER PRIMARY KEY, entityid TEXT UNIQUE, firstname TEXT, lastname TEXT, externalid TEXT UNIQUE, subsidiary INTEGER,
  isinactive TEXT);
CREATE TABLE item (id INTEGER PRIMARY KEY, itemid TEXT, displayname TEXT, itemtype TEXT, isinactive TEXT, externalid TEXT UNIQUE);
CREATE TABLE timebill (id INTEGER PRIMARY KEY, externalid TEXT UNIQUE, employee INTEGER, customer INTEGER, item INTEGER, subsidiary INTEGER,
  hours REAL, rate REAL, isbillable TEXT, trandate TEXT, memo TEXT);
CREATE TABLE customrecord_psgraph_contract_rate (id INTEGER PRIMARY KEY, name TEXT, externalid TEXT UNIQUE, isinactive TEXT,
  custrecord_psgraph_cr_job INTEGER, custrecord_psgraph_cr_role TEXT, custrecord_psgraph_cr_effective_from TEXT, custrecord_psgraph_cr_effective_to TEXT,
  custrecord_psgraph_cr_bill_rate REAL);
CREATE TABLE customrecord_psgraph_purchase_order (id INTEGER PRIMARY KEY, name TEXT, externalid TEXT UNIQUE, isinactive TEXT,
  custrecord_psgraph_po_job INTEGER, custrecord_psgraph_po_number TEXT, custrecord_psgraph_po_expires TEXT, custrecord_psgraph_po_amount REAL);
CREATE TABLE customrecord_psgraph_posting (id INTEGER PRIMARY KEY, name TEXT, externalid TEXT UNIQUE, isinactive TEXT,
  custrecord_psgraph_dp_kind TEXT, custrecord_psgraph_dp_job INTEGER, custrecord_psgraph_dp_employee INTEGER, custrecord_psgraph_dp_item TEXT,
  custrecord_psgraph_dp_date TEXT, custrecord_psgraph_dp_minutes INTEGER, custrecord_psgraph_dp_rate REAL, custrecord_psgraph_dp_billable_amount REAL,
  custrecord_psgraph_dp_cost_amount REAL, custrecord_psgraph_dp_billable TEXT, custrecord_psgraph_dp_currency INTEGER, custrecord_psgraph_dp_memo TEXT,
  custrecord_psgraph_dp_posted_at TEXT, custrecord_psgraph_dp_reversed_at TEXT, custrecord_psgraph_dp_billed_invoice TEXT);
CREATE TABLE customrecord_psgraph_invoice (id INTEGER PRIMARY KEY, name TEXT, externalid TEXT UNIQUE, isinactive TEXT,
  custrecord_psgraph_inv_number TEXT, custrecord_psgraph_inv_job INTEGER, custrecord_psgraph_inv_status TEXT, custrecord_psgraph_inv_date TEXT,
  custrecord_psgraph_inv_currency INTEGER, custrecord_psgraph_inv_total REAL, custrecord_psgraph_inv_amount_paid REAL, custrecord_psgraph_inv_as_of TEXT,
  custrecord_psgraph_inv_updated_at TEXT, custrecord_psgraph_inv_billed TEXT, custrecord_psgraph_inv_first_billed_at TEXT,
  custrecord_psgraph_inv_sources TEXT);
CREATE TABLE customrecord_psgraph_billed_line (id INTEGER PRIMARY KEY, name TEXT, externalid TEXT UNIQUE, isinactive TEXT,
  custrecord_psgraph_bl_job INTEGER, custrecord_psgraph_bl_sequence INTEGER, custrecord_psgraph_bl_invoice TEXT);
CREATE TABLE customrecord_psgraph_credit_note (id INTEGER PRIMARY KEY, name TEXT, externalid TEXT UNIQUE, isinactive TEXT,
  custrecord_psgraph_cn_invoice INTEGER, custrecord_psgraph_cn_job INTEGER, custrecord_psgraph_cn_date TEXT, custrecord_psgraph_cn_currency INTEGER,
  custrecord_psgraph_cn_total REAL, custrecord_psgraph_cn_sources TEXT, custrecord_psgraph_cn_recorded_at TEXT);
CREATE TABLE customrecord_psgraph_rate_card (id INTEGER PRIMARY KEY, name TEXT, externalid TEXT, isinactive TEXT,
  custrecord_psgraph_rc_subsidiary INTEGER, custrecord_psgraph_rc_currency INTEGER);
CREATE TABLE customrecord_psgraph_rate_card_line (id INTEGER PRIMARY KEY, name TEXT, isinactive TEXT, custrecord_psgraph_rcl_rate_card INTEGER,
  custrecord_psgraph_rcl_role TEXT, custrecord_psgraph_rcl_role_name TEXT, custrecord_psgraph_rcl_sort_order INTEGER, custrecord_psgraph_rcl_bill_rate REAL);
CREATE TABLE billingschedule (id INTEGER PRIMARY KEY, name TEXT, externalid TEXT UNIQUE, scheduletype TEXT, frequency TEXT, inarrears TEXT,
  job INTEGER, isinactive TEXT);
CREATE TABLE billingschedulemilestone (id INTEGER PRIMARY KEY, billingschedule INTEGER, milestonedate TEXT, milestoneamount REAL, comments TEXT,
  milestonecompleted TEXT);
CREATE INDEX billingschedulemilestone_schedule ON billingschedulemilestone(billingschedule);
CREATE TABLE account (id INTEGER PRIMARY KEY, acctnumber TEXT, fullname TEXT, accttype TEXT);
CREATE TABLE accountingperiod (id INTEGER PRIMARY KEY, periodname TEXT, startdate TEXT, enddate TEXT, isquarter TEXT, isyear TEXT, isadjust TEXT,
  parent INTEGER, closed TEXT, alllocked TEXT, aplocked TEXT, arlocked TEXT, isinactive TEXT, isposting TEXT);
CREATE TABLE "transaction" (id INTEGER PRIMARY KEY, tranid TEXT, type TEXT, trandate TEXT, postingperiod INTEGER, entity INTEGER, currency INTEGER,
  posting TEXT, voided TEXT);
CREATE TABLE transactionline ("transaction" INTEGER, id INTEGER, entity INTEGER, mainline TEXT, taxline TEXT, foreignamount REAL, memo TEXT,
  PRIMARY KEY ("transaction", id));
CREATE INDEX transactionline_entity ON transactionline(entity);
CREATE TABLE transactionaccountingline ("transaction" INTEGER, transactionline INTEGER, account INTEGER, accountingbook INTEGER, amount REAL,
  debit REAL, credit REAL, posting TEXT, PRIMARY KEY ("transaction", transactionline, accountingbook));
`;

const CURRENCIES = [
  [1, 'US Dollar', 'USD'],
  [2, 'British Pound', 'GBP'],
  [3, 'Euro', 'EUR'],
  [4, 'Australian Dollar', 'AUD'],
] as const;
/** The chart of accounts the ledger posts to: AR, deferred revenue, revenue, cost, accrued cost. */
const ACCOUNTS = { receivable: 1, deferredRevenue: 2, revenue: 3, cost: 4, accruedCost: 5 } as const;
const TERMS = [0, 15, 30, 45, 60, 90];
/** The account's project statuses psgraph's jobs take (NetSuite's defaults: 1 is Closed). */
const PROJECT_STATUS = { closed: 1, inProgress: 2 } as const;
/** The parent subsidiary the legal entities roll up to: no region of its own, so not one of psgraph's legal entities. */
const HOLDING_SUBSIDIARY = 5;

/** psgraph's schedule kinds as NetSuite's project billing schedule types and frequencies. */
export const SCHEDULE_TYPES: Readonly<Record<string, string>> = { TIME_AND_MATERIALS: 'TM', FIXED_INTERVAL: 'FBI', MILESTONE: 'FBM', RETAINER: 'STD' };
export const FREQUENCIES: Readonly<Record<string, string>> = { MONTHLY: 'MONTHLY', MILESTONE: 'CUSTOM' };

type Row = Record<string, unknown>;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const lastDayOf = (period: string) => {
  const [year, month] = period.split('-').map(Number);
  return `${month}/${new Date(Date.UTC(year!, month!, 0)).getUTCDate()}/${year}`;
};

/** A fresh account database with SuiteQL's functions, seeded from the ERP sandbox of `world` (made in `dataDir`). */
export function openNetSuiteAccount(world: WorldOptions, dataDir: string): Database.Database {
  const db = new Database(':memory:');
  db.exec(SCHEMA);
  registerSuiteQlFunctions(db);
  const sandbox = openSandboxErp(dataDir, world);
  try {
    db.transaction(() => seed(db, sandbox.store.db))();
  } finally {
    sandbox.close();
  }
  return db;
}

function seed(db: Database.Database, source: Database.Database): void {
  const insert = (table: string, row: Row) => {
    const names = Object.keys(row);
    return db
      .prepare(`INSERT INTO "${table}" (${names.map((name) => `"${name}"`).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`)
      .run(...names.map((name) => row[name] as never));
  };
  const all = (sql: string) => source.prepare(sql).all() as Row[];
  const currencyId = new Map<string, number>(CURRENCIES.map(([id, , symbol]) => [symbol, id]));
  for (const [id, name, symbol] of CURRENCIES) insert('currency', { id, name, symbol, isbasecurrency: id === 1 ? 'T' : 'F' });
  insert('subsidiary', { id: HOLDING_SUBSIDIARY, name: 'Meridian Advisory Holdings', country: 'US', currency: 1, iselimination: 'F', isinactive: 'F' });
  for (const s of all('SELECT * FROM subsidiary')) {
    insert('subsidiary', {
      id: s['id'],
      name: s['name'],
      country: s['country'],
      currency: currencyId.get(s['currency'] as string),
      parent: HOLDING_SUBSIDIARY,
      iselimination: 'F',
      isinactive: 'F',
      custrecord_psgraph_region: s['region'],
      custrecord_psgraph_tax_regime: s['tax_regime'],
      custrecord_psgraph_service_tax_bp: s['service_tax_rate_bp'],
    });
  }
  const termId = new Map<number, number>();
  const termOf = (days: number) => {
    if (!termId.has(days)) {
      const id = termId.size + 1;
      insert('term', { id, name: days === 0 ? 'Due on receipt' : `Net ${days}`, daysuntilnetdue: days, isinactive: 'F' });
      termId.set(days, id);
    }
    return termId.get(days)!;
  };
  for (const days of TERMS) termOf(days);
  for (const c of all('SELECT * FROM customer ORDER BY id')) {
    insert('customer', {
      id: c['id'],
      entityid: c['entity_id'],
      companyname: c['company_name'],
      isperson: 'F',
      parent: c['parent_id'],
      subsidiary: c['subsidiary_id'],
      currency: currencyId.get(c['currency'] as string),
      externalid: c['external_id'],
      terms: termOf(c['terms_days'] as number),
      vatregnumber: c['tax_id'],
      taxable: c['tax_exempt'] === 1 ? 'F' : 'T',
      creditholdoverride: c['credit_status'] === 'ON_HOLD' ? 'ON' : 'AUTO',
    });
  }
  for (const r of all('SELECT * FROM customer_subsidiary ORDER BY customer_id, subsidiary_id'))
    insert('customersubsidiaryrelationship', { entity: r['customer_id'], subsidiary: r['subsidiary_id'], isprimarysub: r['is_primary'] === 1 ? 'T' : 'F' });
  for (const card of all('SELECT * FROM rate_card')) {
    insert('customrecord_psgraph_rate_card', {
      id: card['id'],
      name: card['name'],
      isinactive: 'F',
      custrecord_psgraph_rc_subsidiary: card['subsidiary_id'],
      custrecord_psgraph_rc_currency: currencyId.get(card['currency'] as string),
    });
  }
  for (const line of all('SELECT * FROM rate_card_line ORDER BY rate_card_id, sort_order')) {
    insert('customrecord_psgraph_rate_card_line', {
      name: line['role_name'],
      isinactive: 'F',
      custrecord_psgraph_rcl_rate_card: line['rate_card_id'],
      custrecord_psgraph_rcl_role: line['role'],
      custrecord_psgraph_rcl_role_name: line['role_name'],
      custrecord_psgraph_rcl_sort_order: line['sort_order'],
      custrecord_psgraph_rcl_bill_rate: (line['bill_rate_minor'] as number) / 100,
    });
  }
  const jobs = new Map<number, Row>();
  for (const j of all('SELECT * FROM job ORDER BY id')) {
    jobs.set(j['id'] as number, j);
    insert('job', {
      id: j['id'],
      entityid: j['entity_id'],
      companyname: j['company_name'],
      externalid: j['external_id'],
      parent: j['customer_id'],
      customer: j['customer_id'],
      subsidiary: j['subsidiary_id'],
      currency: currencyId.get(j['currency'] as string),
      startdate: toDisplayDate(j['start_date'] as string),
      projectedenddate: toDisplayDate(j['end_date'] as string),
      custentity_psgraph_contract_type: j['contract_type'],
      custentity_psgraph_contract_value: (j['value_minor'] as number) / 100,
      custentity_psgraph_budget: (j['budget_minor'] as number) / 100,
      custentity_psgraph_po_required: j['po_required'] === 1 ? 'T' : 'F',
      custentity_psgraph_po_number: j['po_number'],
      custentity_psgraph_rate_card: j['rate_card_id'],
      entitystatus: j['status'] === 'CLOSED' ? PROJECT_STATUS.closed : PROJECT_STATUS.inProgress,
    });
  }
  seedPostingTerms(insert, all, jobs);
  for (const s of all('SELECT * FROM billing_schedule ORDER BY id')) {
    const job = jobs.get(s['job_id'] as number)!;
    insert('billingschedule', {
      id: s['id'],
      name: `${String(job['entity_id'])} billing schedule`,
      externalid: job['external_id'],
      scheduletype: SCHEDULE_TYPES[s['schedule_type'] as string],
      frequency: FREQUENCIES[s['frequency'] as string],
      inarrears: s['in_arrears'] === 1 ? 'T' : 'F',
      job: s['job_id'],
      isinactive: 'F',
    });
  }
  for (const l of all('SELECT * FROM billing_schedule_line ORDER BY schedule_id, sequence')) {
    insert('billingschedulemilestone', {
      billingschedule: l['schedule_id'],
      milestonedate: toDisplayDate(l['line_date'] as string),
      milestoneamount: l['amount_minor'] === null ? null : (l['amount_minor'] as number) / 100,
      comments: l['description'],
      milestonecompleted: 'F',
    });
  }
  // The schedule lines the seeded billing history billed, each marked by its source key.
  for (const b of all('SELECT * FROM billed_schedule_line ORDER BY job_id, sequence')) {
    const key = `schedule:${String(jobs.get(b['job_id'] as number)!['external_id'])}:${String(b['sequence'])}`;
    insert('customrecord_psgraph_billed_line', {
      name: key,
      externalid: key,
      isinactive: 'F',
      custrecord_psgraph_bl_job: b['job_id'],
      custrecord_psgraph_bl_sequence: b['sequence'],
      custrecord_psgraph_bl_invoice: b['invoice_id'],
    });
  }
  for (const [name, id, type] of [
    ['1100 Accounts Receivable', ACCOUNTS.receivable, 'AcctRec'],
    ['2400 Deferred Revenue', ACCOUNTS.deferredRevenue, 'DeferRevenue'],
    ['4000 Professional Services Revenue', ACCOUNTS.revenue, 'Income'],
    ['5000 Cost of Services', ACCOUNTS.cost, 'COGS'],
    ['2100 Accrued Delivery Cost', ACCOUNTS.accruedCost, 'OthCurrLiab'],
  ] as const) {
    insert('account', { id, acctnumber: name.slice(0, 4), fullname: name.slice(5), accttype: type });
  }
  const periodsClosed = new Map(all('SELECT period, closed FROM accounting_period').map((row) => [row['period'] as string, row['closed'] === 1]));
  seedLedger(db, insert, all('SELECT * FROM posting ORDER BY period, job_id, type'), jobs, currencyId, periodsClosed);
}

/**
 * What delivery postings are checked against, as the account keeps it: the project status list, employees by
 * external ID (the PSA resource ID), a service item per role (its Item Name the role code), and the psgraph contract
 * rate and purchase order custom records (`eid:<projectId>:<role>:<effective from>`, `eid:<projectId>`).
 */
function seedPostingTerms(insert: (table: string, row: Row) => unknown, all: (sql: string) => Row[], jobs: ReadonlyMap<number, Row>): void {
  for (const [id, name] of [
    [PROJECT_STATUS.closed, 'Closed'],
    [PROJECT_STATUS.inProgress, 'In Progress'],
    [3, 'Not Awarded'],
    [4, 'Pending'],
    [5, 'Awarded'],
  ] as const)
    insert('jobstatus', { id, name, isinactive: 'F' });
  for (const e of all('SELECT * FROM employee ORDER BY id')) {
    const [firstname, ...rest] = String(e['name']).split(' ');
    insert('employee', {
      id: e['id'],
      entityid: e['entity_id'],
      firstname,
      lastname: rest.join(' '),
      externalid: e['external_id'],
      subsidiary: e['subsidiary_id'],
      isinactive: e['inactive'] === 1 ? 'T' : 'F',
    });
  }
  const roles = all(
    `SELECT role, MIN(role_name) AS role_name FROM (SELECT role, role_name FROM rate_card_line UNION ALL SELECT role, role FROM contract_rate)
     GROUP BY role ORDER BY role`,
  );
  roles.forEach((role, i) => insert('item', { id: i + 1, itemid: role['role'], displayname: role['role_name'], itemtype: 'Service', isinactive: 'F' }));
  for (const rate of all('SELECT * FROM contract_rate ORDER BY job_id, role, effective_from')) {
    const projectId = String(jobs.get(rate['job_id'] as number)!['external_id']);
    insert('customrecord_psgraph_contract_rate', {
      name: `${String(rate['role'])} from ${String(rate['effective_from'])}`,
      externalid: `${projectId}:${String(rate['role'])}:${String(rate['effective_from'])}`,
      isinactive: 'F',
      custrecord_psgraph_cr_job: rate['job_id'],
      custrecord_psgraph_cr_role: rate['role'],
      custrecord_psgraph_cr_effective_from: toDisplayDate(rate['effective_from'] as string),
      custrecord_psgraph_cr_effective_to: rate['effective_to'] === null ? null : toDisplayDate(rate['effective_to'] as string),
      custrecord_psgraph_cr_bill_rate: (rate['bill_rate_minor'] as number) / 100,
    });
  }
  for (const order of all('SELECT * FROM purchase_order ORDER BY id')) {
    insert('customrecord_psgraph_purchase_order', {
      name: order['po_number'],
      externalid: jobs.get(order['job_id'] as number)!['external_id'],
      isinactive: 'F',
      custrecord_psgraph_po_job: order['job_id'],
      custrecord_psgraph_po_number: order['po_number'],
      custrecord_psgraph_po_expires: toDisplayDate(order['expires_on'] as string),
      custrecord_psgraph_po_amount: (order['amount_minor'] as number) / 100,
    });
  }
}

/** Each posting as the transaction NetSuite would hold: its lines and their accounting lines, attributed to the job. */
function seedLedger(
  db: Database.Database,
  insert: (table: string, row: Row) => unknown,
  postings: readonly Row[],
  jobs: ReadonlyMap<number, Row>,
  currencyId: ReadonlyMap<string, number>,
  periodsClosed: ReadonlyMap<string, boolean>,
): void {
  // The months the sandbox has periods for and any the ledger posts in (closed unless the sandbox says otherwise),
  // each a base period under its fiscal year, as NetSuite keeps them.
  const periods = new Map<string, number>();
  const months = [...new Set([...periodsClosed.keys(), ...postings.map((posting) => posting['period'] as string)])].sort();
  const years = [...new Set(months.map((period) => period.slice(0, 4)))];
  const yearId = new Map(years.map((year, i) => [year, months.length + i + 1]));
  for (const period of months) {
    const [year, month] = period.split('-').map(Number);
    const id = periods.size + 1;
    periods.set(period, id);
    const closed = periodsClosed.get(period) ?? true;
    insert('accountingperiod', {
      id,
      periodname: `${MONTHS[month! - 1]} ${year}`,
      startdate: `${month}/1/${year}`,
      enddate: lastDayOf(period),
      isquarter: 'F',
      isyear: 'F',
      isadjust: 'F',
      parent: yearId.get(String(year)),
      closed: closed ? 'T' : 'F',
      alllocked: closed ? 'T' : 'F',
      aplocked: closed ? 'T' : 'F',
      arlocked: closed ? 'T' : 'F',
      isinactive: 'F',
      isposting: 'T',
    });
  }
  // A year period starts in January too: a client that does not leave year periods out reads January twice.
  for (const year of years) {
    insert('accountingperiod', {
      id: yearId.get(year),
      periodname: `FY ${year}`,
      startdate: `1/1/${year}`,
      enddate: `12/31/${year}`,
      isquarter: 'F',
      isyear: 'T',
      isadjust: 'F',
      closed: 'F',
      alllocked: 'F',
      aplocked: 'F',
      arlocked: 'F',
      isinactive: 'F',
      isposting: 'F',
    });
  }
  const line = db.prepare('INSERT INTO transactionline ("transaction", id, entity, mainline, taxline, foreignamount, memo) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const accounting = db.prepare(
    `INSERT INTO transactionaccountingline ("transaction", transactionline, account, accountingbook, amount, debit, credit, posting) VALUES (?, ?, ?, 1, ?, ?, ?, 'T')`,
  );
  let invoices = 0;
  let journals = 0;
  postings.forEach((posting, i) => {
    const id = i + 1;
    const jobId = posting['job_id'] as number;
    const job = jobs.get(jobId)!;
    const amount = (posting['amount_minor'] as number) / 100;
    const period = posting['period'] as string;
    const invoice = posting['type'] === 'BILLING';
    insert('transaction', {
      id,
      tranid: invoice ? `INV${String(++invoices).padStart(6, '0')}` : `JE${String(++journals).padStart(6, '0')}`,
      type: invoice ? 'CustInvc' : 'Journal',
      trandate: lastDayOf(period),
      postingperiod: periods.get(period),
      entity: invoice ? jobId : null,
      currency: currencyId.get(job['currency'] as string),
      posting: 'T',
      voided: 'F',
    });
    // [account, line entity, signed amount (debit positive), summary line]
    const lines: Array<[number, number | null, number, boolean]> =
      posting['type'] === 'BILLING'
        ? [
            [ACCOUNTS.receivable, jobId, amount, true],
            [ACCOUNTS.deferredRevenue, jobId, -amount, false],
          ]
        : posting['type'] === 'REVENUE'
          ? [
              [ACCOUNTS.deferredRevenue, jobId, amount, false],
              [ACCOUNTS.revenue, jobId, -amount, false],
            ]
          : [
              [ACCOUNTS.cost, jobId, amount, false],
              [ACCOUNTS.accruedCost, null, -amount, false],
            ];
    lines.forEach(([account, entity, signed, mainline], lineId) => {
      line.run(id, lineId, entity, mainline ? 'T' : 'F', 'F', signed, posting['type'] as string);
      accounting.run(id, lineId, account, signed, signed > 0 ? signed : null, signed < 0 ? -signed : null);
    });
  });
}
