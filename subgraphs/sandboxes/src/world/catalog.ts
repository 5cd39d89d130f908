/**
 * The fixed reference data of the sandbox firm ("Meridian Advisory"): its delivery regions, legal entities,
 * roles and rate cards. Every system's sandbox agrees on these, as a real firm's systems are configured alike.
 */

export type RegionCode = 'NORTH_AMERICA' | 'UK_IRELAND' | 'EUROPE' | 'APAC';
export type CurrencyCode = 'USD' | 'GBP' | 'EUR' | 'AUD';

export interface LegalEntity {
  /** NetSuite subsidiary internal ID. */
  readonly id: number;
  readonly name: string;
  readonly country: string;
  readonly currency: CurrencyCode;
  readonly region: RegionCode;
}

export const LEGAL_ENTITIES: readonly LegalEntity[] = [
  { id: 1, name: 'Meridian Advisory Inc.', country: 'US', currency: 'USD', region: 'NORTH_AMERICA' },
  { id: 2, name: 'Meridian Advisory Ltd', country: 'GB', currency: 'GBP', region: 'UK_IRELAND' },
  { id: 3, name: 'Meridian Advisory GmbH', country: 'DE', currency: 'EUR', region: 'EUROPE' },
  { id: 4, name: 'Meridian Advisory Pty Ltd', country: 'AU', currency: 'AUD', region: 'APAC' },
];

export const REGIONS: readonly RegionCode[] = ['NORTH_AMERICA', 'UK_IRELAND', 'EUROPE', 'APAC'];

export function legalEntityOfRegion(region: RegionCode): LegalEntity {
  return LEGAL_ENTITIES.find((entity) => entity.region === region)!;
}

export type RoleCode =
  'ENGAGEMENT_MANAGER' | 'PROJECT_MANAGER' | 'SOLUTION_ARCHITECT' | 'SENIOR_CONSULTANT' | 'CONSULTANT' | 'ANALYST' | 'DEVELOPER' | 'DATA_ENGINEER';

export interface Role {
  readonly code: RoleCode;
  readonly name: string;
  /** Standard hourly bill rate in USD cents; other currencies derive from it through `FX_FROM_USD`. */
  readonly billRateUsdCents: number;
  /** Share of the consultant population in this role. */
  readonly headcountWeight: number;
}

export const ROLES: readonly Role[] = [
  { code: 'ENGAGEMENT_MANAGER', name: 'Engagement Manager', billRateUsdCents: 27_500, headcountWeight: 5 },
  { code: 'PROJECT_MANAGER', name: 'Project Manager', billRateUsdCents: 19_000, headcountWeight: 10 },
  { code: 'SOLUTION_ARCHITECT', name: 'Solution Architect', billRateUsdCents: 24_000, headcountWeight: 10 },
  { code: 'SENIOR_CONSULTANT', name: 'Senior Consultant', billRateUsdCents: 19_500, headcountWeight: 18 },
  { code: 'CONSULTANT', name: 'Consultant', billRateUsdCents: 15_000, headcountWeight: 22 },
  { code: 'ANALYST', name: 'Analyst', billRateUsdCents: 11_000, headcountWeight: 12 },
  { code: 'DEVELOPER', name: 'Developer', billRateUsdCents: 16_000, headcountWeight: 15 },
  { code: 'DATA_ENGINEER', name: 'Data Engineer', billRateUsdCents: 17_500, headcountWeight: 8 },
];

export function roleOf(code: RoleCode): Role {
  return ROLES.find((role) => role.code === code)!;
}

export const FX_FROM_USD: Readonly<Record<CurrencyCode, number>> = { USD: 1, GBP: 0.8, EUR: 0.92, AUD: 1.5 };

/** The rate card's bill rate of a role in a currency, in minor units, rounded to whole currency units. */
export function rateCardRate(role: RoleCode, currency: CurrencyCode): number {
  return Math.round((roleOf(role).billRateUsdCents * FX_FROM_USD[currency]) / 100) * 100;
}

/** ERP rate card internal ID per legal entity (one card per entity and currency). */
export function rateCardIdOf(entity: LegalEntity): number {
  return 100 + entity.id;
}

export type ContractType = 'FIXED_FEE' | 'TIME_AND_MATERIALS' | 'MILESTONE' | 'RETAINER';
export const CONTRACT_TYPES: ReadonlyArray<readonly [ContractType, number]> = [
  ['TIME_AND_MATERIALS', 50],
  ['FIXED_FEE', 22],
  ['MILESTONE', 18],
  ['RETAINER', 10],
];

export const SERVICE_LINES = [
  'Strategy & Transformation',
  'Cloud Migration',
  'Data & Analytics',
  'Cybersecurity',
  'ERP Implementation',
  'Managed Services',
] as const;
export type ServiceLine = (typeof SERVICE_LINES)[number];

/**
 * Salesforce's default opportunity stages. `isWon` and `isClosed` come from the stage's metadata (Salesforce's
 * OpportunityStage), never from the label: an org can rename "Closed Won".
 */
export interface OpportunityStage {
  readonly name: string;
  readonly probability: number;
  readonly isClosed: boolean;
  readonly isWon: boolean;
  readonly forecastCategory: 'Pipeline' | 'Best Case' | 'Commit' | 'Closed' | 'Omitted';
}

export const OPPORTUNITY_STAGES: readonly OpportunityStage[] = [
  { name: 'Prospecting', probability: 10, isClosed: false, isWon: false, forecastCategory: 'Pipeline' },
  { name: 'Qualification', probability: 10, isClosed: false, isWon: false, forecastCategory: 'Pipeline' },
  { name: 'Needs Analysis', probability: 20, isClosed: false, isWon: false, forecastCategory: 'Pipeline' },
  { name: 'Value Proposition', probability: 50, isClosed: false, isWon: false, forecastCategory: 'Pipeline' },
  { name: 'Id. Decision Makers', probability: 60, isClosed: false, isWon: false, forecastCategory: 'Pipeline' },
  { name: 'Perception Analysis', probability: 70, isClosed: false, isWon: false, forecastCategory: 'Best Case' },
  { name: 'Proposal/Price Quote', probability: 75, isClosed: false, isWon: false, forecastCategory: 'Best Case' },
  { name: 'Negotiation/Review', probability: 90, isClosed: false, isWon: false, forecastCategory: 'Commit' },
  { name: 'Closed Won', probability: 100, isClosed: true, isWon: true, forecastCategory: 'Closed' },
  { name: 'Closed Lost', probability: 0, isClosed: true, isWon: false, forecastCategory: 'Omitted' },
];

export function stageNamed(name: string): OpportunityStage | undefined {
  return OPPORTUNITY_STAGES.find((stage) => stage.name === name);
}

export const PAYMENT_TERMS_DAYS = [30, 45, 60] as const;

export const INDUSTRIES = [
  'Financial Services',
  'Healthcare',
  'Manufacturing',
  'Retail',
  'Energy',
  'Public Sector',
  'Technology',
  'Telecommunications',
  'Logistics',
  'Insurance',
] as const;

export const SKILLS = [
  'AWS',
  'Azure',
  'GCP',
  'Salesforce',
  'NetSuite',
  'SAP S/4HANA',
  'Snowflake',
  'dbt',
  'Python',
  'Java',
  'TypeScript',
  'Kubernetes',
  'ISO 27001',
  'Change Management',
  'Agile Delivery',
  'Power BI',
] as const;

export const CITIES: Readonly<Record<RegionCode, ReadonlyArray<readonly [string, string, string]>>> = {
  NORTH_AMERICA: [
    ['New York', 'NY', 'US'],
    ['Chicago', 'IL', 'US'],
    ['Austin', 'TX', 'US'],
    ['San Francisco', 'CA', 'US'],
    ['Toronto', 'ON', 'CA'],
    ['Boston', 'MA', 'US'],
  ],
  UK_IRELAND: [
    ['London', '', 'GB'],
    ['Manchester', '', 'GB'],
    ['Edinburgh', '', 'GB'],
    ['Dublin', '', 'IE'],
  ],
  EUROPE: [
    ['Berlin', '', 'DE'],
    ['Munich', '', 'DE'],
    ['Amsterdam', '', 'NL'],
    ['Paris', '', 'FR'],
    ['Zurich', '', 'CH'],
  ],
  APAC: [
    ['Sydney', 'NSW', 'AU'],
    ['Melbourne', 'VIC', 'AU'],
    ['Singapore', '', 'SG'],
    ['Auckland', '', 'NZ'],
  ],
};

export const COMPANY_WORDS_A = [
  'Northwind',
  'Contoso',
  'Fabrikam',
  'Tailspin',
  'Wingtip',
  'Adventure',
  'Blue Yonder',
  'Litware',
  'Proseware',
  'Woodgrove',
  'Alpine',
  'Coho',
  'Lucerne',
  'Margie',
  'Trey',
  'Fourth Coffee',
  'Graphic',
  'Humongous',
  'Southridge',
  'Wide World',
  'Relecloud',
  'Datum',
  'Consolidated',
  'Nod',
  'Bellows',
  'Lamna',
  'Tasmanian',
  'Granite',
  'Harbor',
  'Summit',
  'Crescent',
  'Evergreen',
  'Ironbridge',
  'Keystone',
  'Pinnacle',
  'Redwood',
  'Sterling',
  'Vertex',
] as const;

export const COMPANY_WORDS_B = [
  'Logistics',
  'Health',
  'Bank',
  'Insurance',
  'Energy',
  'Retail',
  'Foods',
  'Motors',
  'Pharma',
  'Telecom',
  'Systems',
  'Capital',
  'Airlines',
  'Mining',
  'Media',
  'Utilities',
  'Freight',
  'Labs',
  'Partners',
  'Industries',
] as const;

export const FIRST_NAMES = [
  'Ava',
  'Liam',
  'Noah',
  'Emma',
  'Olivia',
  'Mia',
  'Lucas',
  'Amir',
  'Priya',
  'Chen',
  'Sofia',
  'Mateo',
  'Hannah',
  'Jonas',
  'Freya',
  'Arjun',
  'Yuki',
  'Zara',
  'Elena',
  'Omar',
  'Grace',
  'Ethan',
  'Isla',
  'Leon',
  'Maya',
  'Ravi',
  'Sara',
  'Tomas',
  'Nina',
  'Kofi',
  'Aisha',
  'Felix',
  'Ingrid',
  'Diego',
  'Lena',
  'Hugo',
] as const;

export const LAST_NAMES = [
  'Smith',
  'Patel',
  'Garcia',
  'Müller',
  'Nguyen',
  'Kim',
  'Brown',
  'Rossi',
  'Schmidt',
  'Okafor',
  'Silva',
  'Larsen',
  'Dubois',
  'Tanaka',
  'Walsh',
  "O'Brien",
  'Kowalski',
  'Haddad',
  'Andersen',
  'Fischer',
  'Moreau',
  'Chen',
  'Singh',
  'Novak',
  'Costa',
  'Becker',
  'Murphy',
  'Ahmed',
  'Jensen',
  'Lopez',
] as const;
