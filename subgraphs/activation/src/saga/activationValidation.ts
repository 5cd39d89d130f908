/**
 * Validation of one activation, a pure function of what the systems answered (the reads happen once, in
 * `readActivationFacts`): every problem becomes one exception that says what is wrong, where and who owns the
 * fix, and a deal with none can be planned (`activationPlan.ts`).
 */
import { parseMinor } from '../../../platform/src/index.js';
import type { ActivationFacts } from './activationPlan.js';
import type { SystemName } from './activationStates.js';

/** A problem to record as an exception (validation finds these; a failed compensation raises one too). */
export interface ProblemInput {
  readonly type: string;
  readonly message: string;
  readonly system: SystemName;
  readonly recordType: string;
  readonly recordId: string;
  readonly field: string | null;
}

/** Every problem that stops the deal from being activated; empty when it can be. */
export function validateActivation(opportunityId: string, facts: ActivationFacts, projectId: string): ProblemInput[] {
  const opportunity = facts.opportunity;
  if (!opportunity) {
    return [problem('OPPORTUNITY_NOT_FOUND', `Opportunity ${opportunityId} does not exist in CRM.`, 'CRM', 'Opportunity', opportunityId, null)];
  }
  const problems: ProblemInput[] = [];
  const add = (...args: Parameters<typeof problem>) => problems.push(problem(...args));
  if (!opportunity.isWon) {
    add(
      'OPPORTUNITY_NOT_WON',
      `Opportunity "${opportunity.name}" is at stage "${opportunity.stage}", which is not a won stage.`,
      'CRM',
      'Opportunity',
      opportunity.id,
      'IsWon',
    );
  }
  if (opportunity.linkedProjectId !== null && opportunity.linkedProjectId !== projectId) {
    add(
      'OPPORTUNITY_ALREADY_ACTIVATED',
      `Opportunity "${opportunity.name}" is already linked to project ${opportunity.linkedProjectId}.`,
      'CRM',
      'Opportunity',
      opportunity.id,
      'Project_Id__c',
    );
  }
  const top = opportunity.hierarchy[0];
  if (!top || top.parentId !== null || opportunity.hierarchy[opportunity.hierarchy.length - 1]?.id !== opportunity.account.id) {
    add(
      'ACCOUNT_HIERARCHY_UNRESOLVED',
      `Account "${opportunity.account.name}" has a parent chain that does not end at a top-level account.`,
      'CRM',
      'Account',
      opportunity.account.id,
      'ParentId',
    );
  }
  const entity = facts.legalEntities.find((candidate) => candidate.region === opportunity.deliveryRegion);
  if (!entity) {
    add(
      'LEGAL_ENTITY_MISSING',
      `No legal entity in ERP contracts for delivery region ${opportunity.deliveryRegion}.`,
      'ERP',
      'Opportunity',
      opportunity.id,
      'Delivery_Region__c',
    );
  } else if (entity.currency !== opportunity.amount.currency) {
    add(
      'DELIVERY_REGION_CURRENCY_MISMATCH',
      `The deal is priced in ${opportunity.amount.currency}, but ${entity.name} (delivery region ${opportunity.deliveryRegion}) bills in ${entity.currency}.`,
      'CRM',
      'Opportunity',
      opportunity.id,
      'CurrencyIsoCode',
    );
  }
  if (!facts.legalEntities.some((candidate) => candidate.region === opportunity.account.region)) {
    add(
      'LEGAL_ENTITY_MISSING',
      `No legal entity in ERP for the account's region ${opportunity.account.region}.`,
      'ERP',
      'Account',
      opportunity.account.id,
      'Region',
    );
  }
  const customer = facts.erpCustomers.get(opportunity.account.id);
  if (opportunity.account.taxId === null && !customer?.taxExempt) {
    add(
      'TAX_ID_MISSING',
      `Account "${opportunity.account.name}" has no tax registration; ERP cannot invoice it.`,
      'CRM',
      'Account',
      opportunity.account.id,
      'Tax_Id__c',
    );
  }
  if (opportunity.lineItems.length === 0 || parseMinor(opportunity.amount.amount) <= 0) {
    add(
      'CONTRACT_TERMS_MISSING',
      `Opportunity "${opportunity.name}" has no priced line items, so it has no contract value.`,
      'CRM',
      'Opportunity',
      opportunity.id,
      'OpportunityLineItems',
    );
  }
  if (customer?.creditStatus === 'ON_HOLD') {
    add(
      'CUSTOMER_ON_CREDIT_HOLD',
      `Customer ${customer.erpCustomerId} is on credit hold in ERP; finance must release it before new work is billed.`,
      'ERP',
      'Customer',
      opportunity.account.id,
      'creditStatus',
    );
  }
  if (opportunity.poRequired && !opportunity.poNumber) {
    add(
      'PO_MISSING',
      `The contract of "${opportunity.name}" requires a purchase order, and the opportunity has no PO number.`,
      'CRM',
      'Opportunity',
      opportunity.id,
      'PO_Number__c',
    );
  }
  if (entity) {
    for (const line of opportunity.lineItems) {
      if (!entity.rateCardRoles.includes(line.role)) {
        add(
          'ROLE_NOT_ON_RATE_CARD',
          `Line item ${line.id} sells ${line.role}, which the ${entity.name} rate card does not price.`,
          'ERP',
          'RateCard',
          entity.rateCardId ?? entity.id,
          line.role,
        );
      }
    }
  }
  if (facts.projectManagerIds.length === 0) {
    add('NO_PROJECT_MANAGER', 'PSA has no project or engagement manager to lead the project.', 'PSA', 'Region', opportunity.deliveryRegion, 'PROJECT_MANAGER');
  }
  return problems;
}

function problem(type: string, message: string, system: ProblemInput['system'], recordType: string, recordId: string, field: string | null): ProblemInput {
  return { type, message, system, recordType, recordId, field };
}
