/** The records of the sandbox world, as every sandbox system seeds from them (`buildWorld` makes them). */
import { type ContractType, type CurrencyCode, type RegionCode, type RoleCode, type ServiceLine } from './catalog.js';
import { type WorldOptions } from './world.js';

export interface SeedAccount {
  readonly index: number;
  readonly crmId: string;
  readonly name: string;
  readonly parentIndex: number | null;
  readonly industry: string;
  readonly type: 'Customer' | 'Prospect';
  readonly region: RegionCode;
  readonly street: string;
  readonly city: string;
  readonly state: string;
  readonly postalCode: string;
  readonly country: string;
  readonly currency: CurrencyCode;
  readonly legalEntityId: number;
  /** Null for the few accounts whose tax registration was never captured (an activation validation failure). */
  readonly taxId: string | null;
  readonly taxExempt: boolean;
  readonly paymentTermsDays: number;
  readonly ownerUserIndex: number;
  /** Set when the account is a customer in ERP and billing (it has, or its children have, a project). */
  erpCustomerId: number | null;
  billingCustomerSequence: number | null;
}

export interface SeedLineItem {
  readonly crmId: string;
  readonly role: RoleCode;
  readonly hours: number;
  readonly unitPriceMinor: number;
  readonly totalMinor: number;
}

export interface SeedOpportunity {
  readonly index: number;
  readonly crmId: string;
  readonly accountIndex: number;
  readonly name: string;
  readonly stageName: string;
  readonly closeDay: number;
  readonly contractType: ContractType;
  readonly serviceLine: ServiceLine;
  readonly deliveryRegion: RegionCode;
  readonly currency: CurrencyCode;
  readonly poRequired: boolean;
  readonly poNumber: string | null;
  readonly lines: readonly SeedLineItem[];
  readonly amountMinor: number;
  readonly ownerUserIndex: number;
  /** Index of the project activated from this deal, if any. */
  projectIndex: number | null;
}

export interface SeedConsultant {
  readonly index: number;
  readonly psaId: string;
  readonly name: string;
  readonly email: string;
  readonly role: RoleCode;
  readonly region: RegionCode;
  readonly skills: readonly string[];
  readonly currency: CurrencyCode;
  readonly costRateMinor: number;
  readonly billRateMinor: number;
  readonly weeklyCapacityHours: number;
}

export type AssignmentStatus = 'TENTATIVE' | 'CONFIRMED' | 'CLOSED';
export type ResourceRequestStatus = 'OPEN' | 'HELD' | 'FULFILLED' | 'CANCELLED';

export interface SeedAssignment {
  readonly psaId: string;
  readonly consultantIndex: number;
  readonly status: AssignmentStatus;
  readonly billRateMinor: number;
  readonly costRateMinor: number;
}

export interface SeedResourceRequest {
  readonly psaId: string;
  readonly lineIndex: number;
  readonly role: RoleCode;
  readonly hours: number;
  readonly startDay: number;
  readonly endDay: number;
  readonly status: ResourceRequestStatus;
  readonly assignment: SeedAssignment | null;
}

export type MilestoneStatus = 'PLANNED' | 'COMPLETED' | 'APPROVED_FOR_BILLING';

export interface SeedMilestone {
  readonly psaId: string;
  readonly name: string;
  readonly targetDay: number;
  readonly actualDay: number | null;
  readonly billable: boolean;
  readonly amountMinor: number;
  readonly status: MilestoneStatus;
}

export type ProjectStatus = 'PLANNED' | 'ACTIVE' | 'ON_HOLD' | 'COMPLETED' | 'CANCELLED';

export interface SeedProject {
  readonly index: number;
  readonly id: string;
  readonly opportunityIndex: number;
  readonly accountIndex: number;
  readonly psaId: string;
  readonly erpId: number;
  readonly code: string;
  readonly name: string;
  readonly region: RegionCode;
  readonly serviceLine: ServiceLine;
  readonly contractType: ContractType;
  readonly currency: CurrencyCode;
  readonly legalEntityId: number;
  readonly startDay: number;
  readonly endDay: number;
  readonly status: ProjectStatus;
  readonly managerIndex: number;
  readonly budgetMinor: number;
  readonly activatedAtMs: number;
  readonly requests: readonly SeedResourceRequest[];
  readonly milestones: readonly SeedMilestone[];
}

export interface World {
  readonly options: WorldOptions;
  readonly asOfDay: number;
  readonly users: readonly string[];
  readonly accounts: readonly SeedAccount[];
  readonly opportunities: readonly SeedOpportunity[];
  readonly consultants: readonly SeedConsultant[];
  readonly projects: readonly SeedProject[];
}
