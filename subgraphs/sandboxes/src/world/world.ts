/**
 * The sandbox firm's world: the accounts, deals, consultants and projects that the four sandbox systems hold
 * between them. Each sandbox seeds its own store from this one deterministic generator, so the systems agree
 * (the same canonical project ID, the same amounts) without ever reading each other's stores, exactly as real
 * systems that an integration has kept in sync would.
 *
 * Everything here is a pure function of `WorldOptions`; nothing reads the clock.
 */
import { dayFromIso, mondayOf } from '../../../platform/src/values/dates.js';
import { canonicalProjectId, salesforceId, stripeId } from '../../../platform/src/values/ids.js';
import { Prng, hashSeed } from '../../../platform/src/values/prng.js';
import {
  CITIES,
  COMPANY_WORDS_A,
  COMPANY_WORDS_B,
  CONTRACT_TYPES,
  FIRST_NAMES,
  INDUSTRIES,
  LAST_NAMES,
  OPPORTUNITY_STAGES,
  PAYMENT_TERMS_DAYS,
  REGIONS,
  ROLES,
  type RegionCode,
  type RoleCode,
  SERVICE_LINES,
  SKILLS,
  legalEntityOfRegion,
  rateCardRate,
} from './catalog.js';
import {
  type AssignmentStatus,
  type ProjectStatus,
  type ResourceRequestStatus,
  type SeedAccount,
  type SeedConsultant,
  type SeedLineItem,
  type SeedMilestone,
  type SeedOpportunity,
  type SeedProject,
  type SeedResourceRequest,
  type World,
} from './seedRecords.js';

/** The world's records are defined beside it; importers take them from here with the world itself. */
export type * from './seedRecords.js';

export interface WorldOptions {
  /** Multiplies every seed volume, from 0.01 to 50; 1 gives the default sandbox (500 accounts, 1,200 projects, …). Used when a store is first created. @default 1 (PSGRAPH_SEED_SCALE) */
  readonly scale: number;
  /** The random seed; the same seed yields the same world on every machine. @default 20261101 (PSGRAPH_SEED) */
  readonly seed: number;
  /** The sandbox's "today" (`YYYY-MM-DD`): what is past, overdue or planned is judged against it. @default 2026-11-01 (PSGRAPH_SEED_AS_OF) */
  readonly asOf: string;
}

export const DEFAULT_WORLD_OPTIONS: WorldOptions = { scale: 1, seed: 20_261_101, asOf: '2026-11-01' };

const BASE_VOLUMES = { accounts: 500, opportunities: 3_000, projects: 1_200, consultants: 600, salesUsers: 40 };

/** How many won deals wait for activation (no project yet): the activation flow's work queue. */
const WON_AWAITING_ACTIVATION_SHARE = 0.08;

export function buildWorld(options: WorldOptions = DEFAULT_WORLD_OPTIONS): World {
  if (!(options.scale > 0)) throw new Error(`World scale must be positive, got ${options.scale}`);
  const asOfDay = dayFromIso(options.asOf);
  const volume = (base: number) => Math.max(1, Math.round(base * options.scale));
  const random = new Prng(options.seed);

  const users = Array.from({ length: volume(BASE_VOLUMES.salesUsers) }, (_, i) => salesforceId('User', i));
  const accounts = buildAccounts(random, volume(BASE_VOLUMES.accounts), users.length);
  const consultants = buildConsultants(random, volume(BASE_VOLUMES.consultants));
  const projectCount = volume(BASE_VOLUMES.projects);
  const opportunities = buildOpportunities(random, volume(BASE_VOLUMES.opportunities), projectCount, accounts, users.length, asOfDay);
  const projects = buildProjects(random, opportunities, accounts, consultants, asOfDay);
  markCustomers(accounts, projects);
  return { options, asOfDay, users, accounts, opportunities, consultants, projects };
}

function buildAccounts(random: Prng, count: number, userCount: number): SeedAccount[] {
  const accounts: SeedAccount[] = [];
  const usedNames = new Set<string>();
  for (let index = 0; index < count; index++) {
    // The first third are top-level groups; later accounts may be subsidiaries of an earlier one (depth ≤ 3).
    let parentIndex: number | null = null;
    if (index >= count / 3 && random.chance(0.35)) {
      const candidate = random.int(0, index - 1);
      const candidateDepth = depthOf(accounts, candidate);
      if (candidateDepth < 2) parentIndex = candidate;
    }
    const parent = parentIndex === null ? undefined : accounts[parentIndex];
    const region: RegionCode = parent && random.chance(0.7) ? parent.region : random.weighted(REGION_WEIGHTS);
    const [city, state, country] = random.pick(CITIES[region]);
    let name = parent
      ? `${parent.name.split(' ')[0]} ${random.pick(COMPANY_WORDS_B)} ${city}`
      : `${random.pick(COMPANY_WORDS_A)} ${random.pick(COMPANY_WORDS_B)}`;
    while (usedNames.has(name)) name = `${name} ${random.pick(['Group', 'Holdings', 'International', 'Services'])}`;
    usedNames.add(name);
    const entity = legalEntityOfRegion(region);
    accounts.push({
      index,
      crmId: salesforceId('Account', index),
      name,
      parentIndex,
      industry: parent?.industry ?? random.pick(INDUSTRIES),
      type: 'Prospect',
      region,
      street: `${random.int(1, 480)} ${random.pick(['Market', 'King', 'High', 'Harbour', 'Station', 'Park'])} ${random.pick(['Street', 'Road', 'Avenue'])}`,
      city,
      state,
      postalCode: String(random.int(10_000, 99_999)),
      country,
      currency: entity.currency,
      legalEntityId: entity.id,
      taxId: random.chance(0.03) ? null : taxIdFor(country, random),
      taxExempt: random.chance(0.04),
      paymentTermsDays: random.pick(PAYMENT_TERMS_DAYS),
      ownerUserIndex: random.int(0, userCount - 1),
      erpCustomerId: null,
      billingCustomerSequence: null,
    });
  }
  return accounts;
}

const REGION_WEIGHTS: ReadonlyArray<readonly [RegionCode, number]> = [
  ['NORTH_AMERICA', 45],
  ['UK_IRELAND', 20],
  ['EUROPE', 22],
  ['APAC', 13],
];

function depthOf(accounts: readonly SeedAccount[], index: number): number {
  let depth = 0;
  let current = accounts[index];
  while (current && current.parentIndex !== null) {
    depth++;
    current = accounts[current.parentIndex];
  }
  return depth;
}

function taxIdFor(country: string, random: Prng): string {
  const digits = (n: number) => Array.from({ length: n }, () => random.int(0, 9)).join('');
  switch (country) {
    case 'US':
      return `${digits(2)}-${digits(7)}`;
    case 'AU':
      return digits(11);
    case 'CA':
      return `${digits(9)}RT0001`;
    default:
      return `${country}${digits(9)}`;
  }
}

function buildConsultants(random: Prng, count: number): SeedConsultant[] {
  const consultants: SeedConsultant[] = [];
  const roleWeights = ROLES.map((role) => [role.code, role.headcountWeight] as const);
  for (let index = 0; index < count; index++) {
    const role = random.weighted(roleWeights);
    const region = random.weighted(REGION_WEIGHTS);
    const currency = legalEntityOfRegion(region).currency;
    const first = random.pick(FIRST_NAMES);
    const last = random.pick(LAST_NAMES);
    const billRateMinor = rateCardRate(role, currency);
    const skills = new Set<string>();
    const skillCount = random.int(2, 5);
    while (skills.size < skillCount) skills.add(random.pick(SKILLS));
    consultants.push({
      index,
      psaId: String(7_000_000 + index * 7 + 3),
      name: `${first} ${last}`,
      email: `${first}.${last}.${index}`.toLowerCase().replace(/[^a-z0-9.]/g, '') + '@meridian-advisory.example',
      role,
      region,
      skills: [...skills],
      currency,
      // Fully loaded cost: 42–58 % of the standard bill rate, rounded to whole currency units.
      costRateMinor: Math.round((billRateMinor * (0.42 + random.next() * 0.16)) / 100) * 100,
      billRateMinor,
      weeklyCapacityHours: random.chance(0.1) ? 32 : 40,
    });
  }
  return consultants;
}

const OPEN_STAGES = OPPORTUNITY_STAGES.filter((stage) => !stage.isClosed);
const WON_STAGE = OPPORTUNITY_STAGES.find((stage) => stage.isWon)!;
const LOST_STAGE = OPPORTUNITY_STAGES.find((stage) => stage.isClosed && !stage.isWon)!;

function buildOpportunities(
  random: Prng,
  count: number,
  projectCount: number,
  accounts: readonly SeedAccount[],
  userCount: number,
  asOfDay: number,
): SeedOpportunity[] {
  const wonCount = Math.min(count, Math.ceil(projectCount / (1 - WON_AWAITING_ACTIVATION_SHARE)));
  const lostCount = Math.round((count - wonCount) * 0.3);
  // Decide which deals are won, lost or open, then shuffle so IDs don't reveal the stage.
  const stages: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i < wonCount) stages.push(WON_STAGE.name);
    else if (i < wonCount + lostCount) stages.push(LOST_STAGE.name);
    else stages.push(random.pick(OPEN_STAGES).name);
  }
  for (let i = stages.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [stages[i], stages[j]] = [stages[j]!, stages[i]!];
  }

  const opportunities: SeedOpportunity[] = [];
  let lineSequence = 0;
  for (let index = 0; index < count; index++) {
    const stageName = stages[index]!;
    const account = accounts[random.int(0, accounts.length - 1)]!;
    const contractType = random.weighted(CONTRACT_TYPES);
    const serviceLine = random.pick(SERVICE_LINES);
    const deliveryRegion: RegionCode = random.chance(0.85) ? account.region : random.pick(REGIONS);
    const currency = legalEntityOfRegion(deliveryRegion).currency;
    const closed = stageName === WON_STAGE.name || stageName === LOST_STAGE.name;
    const closeDay = closed ? asOfDay - random.int(5, 1_150) : asOfDay + random.int(7, 200);
    const lineCount = random.int(1, 5);
    const lines: SeedLineItem[] = [];
    const roles = new Set<RoleCode>();
    for (let l = 0; l < lineCount; l++) {
      const role = l === 0 && lineCount > 1 ? 'PROJECT_MANAGER' : random.pick(ROLES).code;
      if (roles.has(role)) continue;
      roles.add(role);
      const hours = random.int(4, 60) * 20;
      // Sales sometimes discounts up to 10 % below the rate card; activation tolerates it (priced, not equal).
      const unitPriceMinor = Math.round((rateCardRate(role, currency) * (random.chance(0.25) ? 0.9 + random.next() * 0.1 : 1)) / 100) * 100;
      lines.push({ crmId: salesforceId('OpportunityLineItem', lineSequence++), role, hours, unitPriceMinor, totalMinor: unitPriceMinor * hours });
    }
    const poRequired = random.chance(0.4);
    opportunities.push({
      index,
      crmId: salesforceId('Opportunity', index),
      accountIndex: account.index,
      name: `${account.name} — ${serviceLine}`,
      stageName,
      closeDay,
      contractType,
      serviceLine,
      deliveryRegion,
      currency,
      poRequired,
      poNumber: poRequired || random.chance(0.2) ? `PO-${random.int(100_000, 999_999)}` : null,
      lines,
      // Salesforce rule: with products on the opportunity, Amount is the sum of the line items.
      amountMinor: lines.reduce((sum, line) => sum + line.totalMinor, 0),
      ownerUserIndex: random.int(0, userCount - 1),
      projectIndex: null,
    });
  }
  return opportunities;
}

const MILESTONE_NAMES = ['Kick-off', 'Discovery complete', 'Design sign-off', 'Build complete', 'Go-live', 'Hypercare closed'];

function buildProjects(
  random: Prng,
  opportunities: SeedOpportunity[],
  accounts: readonly SeedAccount[],
  consultants: readonly SeedConsultant[],
  asOfDay: number,
): SeedProject[] {
  const won = opportunities.filter((opportunity) => opportunity.stageName === WON_STAGE.name);
  const awaitingCount = won.length - Math.round(won.length * (1 - WON_AWAITING_ACTIVATION_SHARE));
  // The deals still waiting for activation are recent ones (closed in the last eight months), as in a real
  // pipeline; the other recent deals were activated and their projects may not have started yet.
  const recent = won.filter((opportunity) => opportunity.closeDay > asOfDay - 240);
  const awaiting = new Set<number>();
  while (awaiting.size < Math.min(awaitingCount, recent.length)) awaiting.add(random.pick(recent).index);
  const activated = won.filter((opportunity) => !awaiting.has(opportunity.index));
  const byRoleAndRegion = new Map<string, SeedConsultant[]>();
  const byRole = new Map<string, SeedConsultant[]>();
  for (const consultant of consultants) {
    const key = `${consultant.role}|${consultant.region}`;
    byRoleAndRegion.set(key, [...(byRoleAndRegion.get(key) ?? []), consultant]);
    byRole.set(consultant.role, [...(byRole.get(consultant.role) ?? []), consultant]);
  }
  const staff = (role: RoleCode, region: RegionCode, r: Prng): SeedConsultant => {
    const local = byRoleAndRegion.get(`${role}|${region}`);
    const pool = local && local.length > 0 && r.chance(0.85) ? local : (byRole.get(role) ?? consultants);
    return r.pick(pool.length > 0 ? pool : consultants);
  };

  const projects: SeedProject[] = [];
  for (const opportunity of activated) {
    const index = projects.length;
    const r = new Prng(hashSeed('project', index, random.int(0, 2 ** 30)));
    const account = accounts[opportunity.accountIndex]!;
    const startDay = opportunity.closeDay + r.int(7, 21);
    const durationDays = r.int(6, 24) * 30;
    const endDay = startDay + durationDays;
    let status: ProjectStatus = startDay > asOfDay ? 'PLANNED' : endDay < asOfDay ? 'COMPLETED' : 'ACTIVE';
    if (status === 'ACTIVE' && r.chance(0.05)) status = 'ON_HOLD';
    if (status === 'COMPLETED' && r.chance(0.03)) status = 'CANCELLED';
    const activatedAtMs = (opportunity.closeDay + r.int(1, 4)) * 86_400_000 + r.int(8, 18) * 3_600_000;
    const id = canonicalProjectId(activatedAtMs, r);
    const manager = staff(r.chance(0.3) ? 'ENGAGEMENT_MANAGER' : 'PROJECT_MANAGER', opportunity.deliveryRegion, r);

    // A consultant fills at most one line of a project, so a week of their time is one timesheet.
    const staffed = new Set<number>();
    const staffOnce = (role: RoleCode): SeedConsultant => {
      let consultant = staff(role, opportunity.deliveryRegion, r);
      for (let attempt = 0; staffed.has(consultant.index) && attempt < 20; attempt++) consultant = staff(role, opportunity.deliveryRegion, r);
      staffed.add(consultant.index);
      return consultant;
    };
    const requests: SeedResourceRequest[] = opportunity.lines.map((line, lineIndex) => {
      const requestStatus: ResourceRequestStatus =
        status === 'PLANNED'
          ? r.weighted([
              ['OPEN', 5],
              ['HELD', 3],
              ['FULFILLED', 4],
            ] as const)
          : status === 'CANCELLED'
            ? 'CANCELLED'
            : 'FULFILLED';
      const consultant = requestStatus === 'FULFILLED' || requestStatus === 'HELD' ? staffOnce(line.role) : null;
      const assignmentStatus: AssignmentStatus = requestStatus === 'HELD' ? 'TENTATIVE' : status === 'COMPLETED' ? 'CLOSED' : 'CONFIRMED';
      return {
        psaId: String(30_000_000 + index * 10 + lineIndex),
        lineIndex,
        role: line.role,
        hours: line.hours,
        startDay,
        endDay,
        status: requestStatus,
        assignment: consultant
          ? {
              psaId: String(40_000_000 + index * 10 + lineIndex),
              consultantIndex: consultant.index,
              status: assignmentStatus,
              billRateMinor: line.unitPriceMinor,
              costRateMinor:
                Math.round(
                  (consultant.costRateMinor * (rateCardRate(line.role, opportunity.currency) / Math.max(1, rateCardRate(line.role, consultant.currency)))) /
                    100,
                ) * 100,
            }
          : null,
      };
    });

    const milestoneCount = r.int(3, 6);
    const billableMilestones = opportunity.contractType === 'MILESTONE';
    const milestones: SeedMilestone[] = [];
    let allocated = 0;
    for (let m = 0; m < milestoneCount; m++) {
      const targetDay = startDay + Math.round(((m + 1) * durationDays) / milestoneCount) - (m === 0 ? Math.round(durationDays / milestoneCount / 2) : 0);
      const actualDay = targetDay + r.int(-5, 20) <= asOfDay && status !== 'PLANNED' ? Math.min(asOfDay - 1, targetDay + r.int(-5, 20)) : null;
      const last = m === milestoneCount - 1;
      const amountMinor = billableMilestones
        ? last
          ? opportunity.amountMinor - allocated
          : Math.round(opportunity.amountMinor / milestoneCount / 100) * 100
        : 0;
      allocated += amountMinor;
      milestones.push({
        psaId: String(50_000_000 + index * 10 + m),
        name: MILESTONE_NAMES[m]!,
        targetDay,
        actualDay,
        billable: billableMilestones,
        amountMinor,
        status: actualDay === null ? 'PLANNED' : billableMilestones ? 'APPROVED_FOR_BILLING' : 'COMPLETED',
      });
    }

    projects.push({
      index,
      id,
      opportunityIndex: opportunity.index,
      accountIndex: account.index,
      psaId: String(1_000_000 + index * 13 + 5),
      erpId: 20_000 + index,
      code: `PRJ-${String(10_000 + index)}`,
      name: `${account.name} · ${opportunity.serviceLine}`,
      region: opportunity.deliveryRegion,
      serviceLine: opportunity.serviceLine,
      contractType: opportunity.contractType,
      currency: opportunity.currency,
      legalEntityId: legalEntityOfRegion(opportunity.deliveryRegion).id,
      startDay,
      endDay,
      status,
      managerIndex: manager.index,
      budgetMinor: opportunity.amountMinor,
      activatedAtMs,
      requests,
      milestones,
    });
    opportunity.projectIndex = index;
  }
  return projects;
}

/** Accounts with a project, and their parents, are customers in ERP and billing. */
function markCustomers(accounts: SeedAccount[], projects: readonly SeedProject[]): void {
  const customers = new Set<number>();
  for (const project of projects) {
    let current: number | null = project.accountIndex;
    while (current !== null) {
      customers.add(current);
      current = accounts[current]!.parentIndex;
    }
  }
  let sequence = 0;
  for (const account of accounts) {
    if (!customers.has(account.index)) continue;
    (account as { type: string }).type = 'Customer';
    account.erpCustomerId = 5_000 + account.index;
    account.billingCustomerSequence = sequence++;
  }
}

/** The week (Monday) that a timesheet covers. */
export function timesheetWeekOf(day: number): number {
  return mondayOf(day);
}

/** The billing system's customer ID (cus_…) of an account that is a customer; CRM keeps it as an external ID. */
export function billingCustomerIdOf(world: World, account: SeedAccount): string | null {
  if (account.billingCustomerSequence === null) return null;
  return stripeId('cus', new Prng(hashSeed('billing-customer', world.options.seed, account.billingCustomerSequence)));
}
