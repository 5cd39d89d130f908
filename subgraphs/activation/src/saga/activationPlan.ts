/**
 * Planning of one validated activation, as pure functions of what the systems answered (the reads happen once,
 * in `readActivationFacts`; `activationValidation.ts` decides whether the deal can be activated). A deal without
 * problems becomes a plan that is stored with the run, so every later step — and every retry or resume after a
 * crash — provisions exactly what was validated.
 */
import { parseMinor, addMonths, dayFromIso, firstDayOfMonth, formatMinor, isoFromDay, lastDayOfMonth, monthOf } from '../../../platform/src/index.js';

/** The firm's delivery regions, as CRM and ERP name them (the schemas' `Region`). */
export type Region = 'NORTH_AMERICA' | 'UK_IRELAND' | 'EUROPE' | 'APAC';

export interface AccountFacts {
  readonly id: string;
  readonly name: string;
  readonly region: string;
  readonly currency: string;
  readonly taxId: string | null;
  readonly parentId: string | null;
}

export interface OpportunityFacts {
  readonly id: string;
  readonly name: string;
  readonly isWon: boolean;
  readonly stage: string;
  readonly amount: { readonly amount: string; readonly currency: string };
  readonly closeDate: string;
  readonly contractType: 'FIXED_FEE' | 'TIME_AND_MATERIALS' | 'MILESTONE' | 'RETAINER';
  readonly serviceLine: string;
  readonly deliveryRegion: Region;
  readonly poRequired: boolean;
  readonly poNumber: string | null;
  /** The project this deal is already linked to in CRM, if any. */
  readonly linkedProjectId: string | null;
  readonly lineItems: ReadonlyArray<{ readonly id: string; readonly role: string; readonly hours: number; readonly unitPrice: { readonly amount: string } }>;
  readonly account: AccountFacts;
  /** The account's chain from its top-level parent down to the account itself. */
  readonly hierarchy: readonly AccountFacts[];
}

export interface LegalEntityFacts {
  readonly id: string;
  readonly name: string;
  readonly region: string;
  readonly currency: string;
  readonly rateCardId: string | null;
  readonly rateCardRoles: readonly string[];
}

export interface ErpCustomerFacts {
  readonly erpCustomerId: string;
  readonly creditStatus: 'GOOD' | 'ON_HOLD' | null;
  readonly taxExempt: boolean;
  readonly paymentTermsDays: number | null;
}

export interface ActivationFacts {
  /** Null when CRM has no such opportunity. */
  readonly opportunity: OpportunityFacts | null;
  readonly legalEntities: readonly LegalEntityFacts[];
  /** ERP customers of the accounts in the hierarchy, by CRM account ID. */
  readonly erpCustomers: ReadonlyMap<string, ErpCustomerFacts>;
  /** PSA IDs of the managers who can lead the project: the delivery region's, else any region's. */
  readonly projectManagerIds: readonly string[];
}

export interface CustomerPlan {
  readonly accountId: string;
  readonly companyName: string;
  readonly parentAccountId: string | null;
  readonly legalEntityId: string;
  readonly additionalLegalEntityIds: readonly string[];
  readonly currency: string;
  readonly taxId: string | null;
  readonly paymentTermsDays: number;
}

export interface ActivationPlan {
  readonly opportunityId: string;
  readonly accountId: string;
  readonly projectName: string;
  readonly region: Region;
  readonly serviceLine: string;
  readonly contractType: OpportunityFacts['contractType'];
  readonly currency: string;
  readonly value: string;
  readonly poRequired: boolean;
  readonly poNumber: string | null;
  readonly legalEntityId: string;
  readonly startDate: string;
  readonly endDate: string;
  /** The account's hierarchy, top first: ERP needs a parent customer before its children. */
  readonly customers: readonly CustomerPlan[];
  readonly billingSchedule: {
    readonly type: 'TIME_AND_MATERIALS' | 'FIXED_INTERVAL' | 'MILESTONE' | 'RETAINER';
    readonly frequency: 'MONTHLY' | 'MILESTONE';
    readonly inArrears: boolean;
    readonly lines: ReadonlyArray<{ readonly date: string; readonly description: string; readonly amount: string | null }>;
  };
  readonly resourceRequests: ReadonlyArray<{ readonly role: string; readonly hours: number; readonly startDate: string; readonly endDate: string }>;
  /** The deal's negotiated bill rate per role (a line item's unit price): the ERP contract's rates. Absent in plans made before. */
  readonly contractRates?: ReadonlyArray<{ readonly role: string; readonly billRate: string }>;
  readonly managerId: string;
}

/** Net 30 for a new customer whose group has no agreed terms: the firm's standard terms. */
export const STANDARD_PAYMENT_TERMS_DAYS = 30;
/** Projects start two weeks after activation: the time delivery needs to staff them. */
const START_LEAD_DAYS = 14;
/** Hours one consultant delivers in a month, which sets how long the largest line takes. */
const MONTHLY_HOURS_PER_CONSULTANT = 140;
const MAX_PROJECT_MONTHS = 24;

/** The plan of a validated deal. Call only when `validateActivation` found no problem. */
export function planActivation(facts: ActivationFacts, today: string): ActivationPlan {
  const opportunity = facts.opportunity!;
  const entity = facts.legalEntities.find((candidate) => candidate.region === opportunity.deliveryRegion)!;
  const entityOf = (region: string) => facts.legalEntities.find((candidate) => candidate.region === region)!;
  const startDay = dayFromIso(today) + START_LEAD_DAYS;
  const largestLine = Math.max(...opportunity.lineItems.map((line) => line.hours));
  const months = Math.min(MAX_PROJECT_MONTHS, Math.max(1, Math.ceil(largestLine / MONTHLY_HOURS_PER_CONSULTANT)));
  const startDate = isoFromDay(startDay);
  const endDate = isoFromDay(lastDayOfMonth(addMonths(monthOf(startDay), months - 1)));

  const customers: CustomerPlan[] = [];
  let groupTerms: number | null = null;
  for (const account of opportunity.hierarchy) {
    const existing = facts.erpCustomers.get(account.id);
    groupTerms = existing?.paymentTermsDays ?? groupTerms;
    const primary = entityOf(account.region);
    customers.push({
      accountId: account.id,
      companyName: account.name,
      parentAccountId: account.parentId,
      legalEntityId: primary.id,
      // The customer trades with the delivering entity too when it is not its home one (OneWorld).
      additionalLegalEntityIds: account.id === opportunity.account.id && primary.id !== entity.id ? [entity.id] : [],
      currency: account.currency,
      taxId: account.taxId,
      paymentTermsDays: existing?.paymentTermsDays ?? groupTerms ?? STANDARD_PAYMENT_TERMS_DAYS,
    });
  }

  const managers = [...facts.projectManagerIds].sort();
  return {
    opportunityId: opportunity.id,
    accountId: opportunity.account.id,
    projectName: opportunity.name,
    region: opportunity.deliveryRegion,
    serviceLine: opportunity.serviceLine,
    contractType: opportunity.contractType,
    currency: opportunity.amount.currency,
    value: opportunity.amount.amount,
    poRequired: opportunity.poRequired,
    poNumber: opportunity.poNumber,
    legalEntityId: entity.id,
    startDate,
    endDate,
    customers,
    billingSchedule: planBillingSchedule(opportunity.contractType, parseMinor(opportunity.amount.amount), startDay, months),
    resourceRequests: opportunity.lineItems.map((line) => ({ role: line.role, hours: line.hours, startDate, endDate })),
    // One rate per role: the first line item's price for it (a deal sells each role once at one price).
    contractRates: [...new Map(opportunity.lineItems.map((line) => [line.role, line.unitPrice.amount] as const).reverse()).entries()]
      .map(([role, billRate]) => ({ role, billRate }))
      .sort((a, b) => a.role.localeCompare(b.role)),
    // The same deal always gets the same manager, whichever retry or process plans it.
    managerId: managers[stableHash(opportunity.id) % managers.length]!,
  };
}

/** The billing schedule a contract type implies (NetSuite project billing types, §1.4 of the design card). */
export function planBillingSchedule(
  contractType: OpportunityFacts['contractType'],
  valueMinor: number,
  startDay: number,
  months: number,
): ActivationPlan['billingSchedule'] {
  const firstMonth = monthOf(startDay);
  const monthEnds = Array.from({ length: months }, (_, i) => isoFromDay(lastDayOfMonth(addMonths(firstMonth, i))));
  const split = (parts: number): string[] => {
    const share = Math.floor(valueMinor / parts);
    return Array.from({ length: parts }, (_, i) => formatMinor(i === parts - 1 ? valueMinor - share * (parts - 1) : share));
  };
  switch (contractType) {
    case 'TIME_AND_MATERIALS':
      return {
        type: 'TIME_AND_MATERIALS',
        frequency: 'MONTHLY',
        inArrears: true,
        lines: monthEnds.map((date, i) => ({ date, description: `Time and materials, month ${i + 1}`, amount: null })),
      };
    case 'FIXED_FEE': {
      const amounts = split(months);
      return {
        type: 'FIXED_INTERVAL',
        frequency: 'MONTHLY',
        inArrears: true,
        lines: monthEnds.map((date, i) => ({ date, description: `Fixed fee instalment ${i + 1} of ${months}`, amount: amounts[i]! })),
      };
    }
    case 'MILESTONE': {
      const count = Math.min(3, months);
      const amounts = split(count);
      const dates = Array.from({ length: count }, (_, i) => monthEnds[Math.ceil(((i + 1) * months) / count) - 1]!);
      return {
        type: 'MILESTONE',
        frequency: 'MILESTONE',
        inArrears: true,
        lines: dates.map((date, i) => ({ date, description: `Milestone ${i + 1} of ${count}`, amount: amounts[i]! })),
      };
    }
    case 'RETAINER': {
      const amounts = split(months);
      // Retainers bill in advance, on the first of each month of service.
      return {
        type: 'RETAINER',
        frequency: 'MONTHLY',
        inArrears: false,
        lines: Array.from({ length: months }, (_, i) => ({
          date: isoFromDay(firstDayOfMonth(addMonths(firstMonth, i))),
          description: `Retainer, month ${i + 1} of ${months}`,
          amount: amounts[i]!,
        })),
      };
    }
  }
}

function stableHash(text: string): number {
  let hash = 2_166_136_261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16_777_619) >>> 0;
  return hash;
}
