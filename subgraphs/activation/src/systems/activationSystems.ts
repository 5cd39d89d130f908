/**
 * The system subgraphs' operations the activation saga uses, one method per operation, each naming the step it
 * serves (for the fault seam and the logs) and the business key of its write (`<opportunityId>:<step>`, sent as
 * the `idempotency-key` header). The writes are idempotent by each system's own lever — Salesforce's
 * external-ID upsert, NetSuite's `eid:` upsert, a search before every Kantata create — so a call retried after a
 * lost answer changes nothing twice.
 */
import type { StepName } from '../saga/activationStates.js';
import type { ActivationFacts, ActivationPlan, CustomerPlan, ErpCustomerFacts, Region } from '../saga/activationPlan.js';
import type { CallSite } from './faults.js';
import type { SystemClient } from './systemClient.js';

/** On whose behalf a call is made. */
export interface CallContext {
  readonly runId: string;
  readonly opportunityId: string;
  readonly step: StepName;
  readonly phase: CallSite['phase'];
}

interface OpportunityAnswer {
  opportunity: {
    id: string;
    name: string;
    isWon: boolean;
    stage: string;
    amount: { amount: string; currency: string };
    closeDate: string;
    contractType: 'FIXED_FEE' | 'TIME_AND_MATERIALS' | 'MILESTONE' | 'RETAINER';
    serviceLine: string;
    deliveryRegion: Region;
    poRequired: boolean;
    poNumber: string | null;
    externalIds: { projectId: string | null };
    lineItems: Array<{ id: string; role: string; hours: number; unitPrice: { amount: string } }>;
    account: AccountAnswer & { hierarchy: AccountAnswer[] };
  } | null;
}

interface AccountAnswer {
  id: string;
  name: string;
  region: string;
  currency: string;
  taxId: string | null;
  parent: { id: string } | null;
}

const OPPORTUNITY_QUERY = `query ActivationOpportunity($id: ID!) {
  opportunity(id: $id) {
    id name isWon stage amount { amount currency } closeDate contractType serviceLine deliveryRegion poRequired poNumber
    externalIds { projectId }
    lineItems { id role hours unitPrice { amount } }
    account { id name region currency taxId parent { id } hierarchy { id name region currency taxId parent { id } } }
  }
}`;

const ERP_CONTEXT_QUERY = `query ActivationErpContext($accounts: [_Any!]!) {
  legalEntities { id name region currency rateCard { id lines { role } } }
  _entities(representations: $accounts) { ... on Account { id erpCustomerId creditStatus taxProfile { exempt } paymentTerms { days } } }
}`;

const MANAGERS_QUERY = `query ActivationProjectManagers {
  resources(filter: { role: ["PROJECT_MANAGER", "ENGAGEMENT_MANAGER"] }, first: 100) { nodes { id region } }
}`;

const toAccountFacts = (account: AccountAnswer) => ({
  id: account.id,
  name: account.name,
  region: account.region,
  currency: account.currency,
  taxId: account.taxId,
  parentId: account.parent?.id ?? null,
});

export class ActivationSystems {
  constructor(private readonly client: SystemClient) {}

  private site(context: CallContext, system: CallSite['system'], operationName: string): CallSite {
    return { system, operationName, step: context.step, phase: context.phase, runId: context.runId };
  }

  private key(context: CallContext): string {
    return `${context.opportunityId}:${context.step}${context.phase === 'compensate' ? ':undo' : ''}`;
  }

  /** Everything validation and planning need, read from CRM, then ERP and PSA together. */
  async readFacts(context: CallContext): Promise<ActivationFacts> {
    const { opportunity } = await this.client.request<OpportunityAnswer>({
      site: this.site(context, 'crm', 'ActivationOpportunity'),
      query: OPPORTUNITY_QUERY,
      variables: { id: context.opportunityId },
    });
    const hierarchy = opportunity?.account.hierarchy ?? [];
    const [erp, psa] = await Promise.all([
      this.client.request<{
        legalEntities: Array<{ id: string; name: string; region: string; currency: string; rateCard: { id: string; lines: Array<{ role: string }> } | null }>;
        _entities: Array<{
          id: string;
          erpCustomerId: string | null;
          creditStatus: 'GOOD' | 'ON_HOLD' | null;
          taxProfile: { exempt: boolean } | null;
          paymentTerms: { days: number } | null;
        } | null>;
      }>({
        site: this.site(context, 'erp', 'ActivationErpContext'),
        query: ERP_CONTEXT_QUERY,
        variables: { accounts: hierarchy.map((account) => ({ __typename: 'Account', id: account.id })) },
      }),
      opportunity
        ? this.client.request<{ resources: { nodes: Array<{ id: string; region: string }> } }>({
            site: this.site(context, 'psa', 'ActivationProjectManagers'),
            query: MANAGERS_QUERY,
          })
        : Promise.resolve({ resources: { nodes: [] } }),
    ]);
    const erpCustomers = new Map<string, ErpCustomerFacts>();
    for (const entity of erp._entities) {
      if (entity?.erpCustomerId) {
        erpCustomers.set(entity.id, {
          erpCustomerId: entity.erpCustomerId,
          creditStatus: entity.creditStatus,
          taxExempt: entity.taxProfile?.exempt ?? false,
          paymentTermsDays: entity.paymentTerms?.days ?? null,
        });
      }
    }
    return {
      opportunity: opportunity
        ? {
            id: opportunity.id,
            name: opportunity.name,
            isWon: opportunity.isWon,
            stage: opportunity.stage,
            amount: opportunity.amount,
            closeDate: opportunity.closeDate,
            contractType: opportunity.contractType,
            serviceLine: opportunity.serviceLine,
            deliveryRegion: opportunity.deliveryRegion,
            poRequired: opportunity.poRequired,
            poNumber: opportunity.poNumber,
            linkedProjectId: opportunity.externalIds.projectId,
            lineItems: opportunity.lineItems,
            account: toAccountFacts(opportunity.account),
            hierarchy: hierarchy.map(toAccountFacts),
          }
        : null,
      legalEntities: erp.legalEntities.map((entity) => ({
        id: entity.id,
        name: entity.name,
        region: entity.region,
        currency: entity.currency,
        rateCardId: entity.rateCard?.id ?? null,
        rateCardRoles: entity.rateCard?.lines.map((line) => line.role) ?? [],
      })),
      erpCustomers,
      // A manager from the delivery region when there is one, as staffing prefers; else one from anywhere.
      projectManagerIds: (() => {
        const local = psa.resources.nodes.filter((node) => node.region === opportunity?.deliveryRegion);
        return (local.length > 0 ? local : psa.resources.nodes).map((node) => node.id);
      })(),
    };
  }

  /** NetSuite `PUT customer/eid:<accountId>`. */
  async upsertCustomer(context: CallContext, customer: CustomerPlan): Promise<{ erpCustomerId: string; customerNumber: string; created: boolean }> {
    const data = await this.client.request<{ upsertErpCustomer: { erpCustomerId: string; customerNumber: string; created: boolean } }>({
      site: this.site(context, 'erp', 'ActivationUpsertCustomer'),
      idempotencyKey: `${this.key(context)}:${customer.accountId}`,
      query: `mutation ActivationUpsertCustomer($input: CustomerUpsertInput!) { upsertErpCustomer(input: $input) { erpCustomerId customerNumber created } }`,
      variables: {
        input: {
          accountId: customer.accountId,
          companyName: customer.companyName,
          parentAccountId: customer.parentAccountId,
          legalEntityId: customer.legalEntityId,
          additionalLegalEntityIds: customer.additionalLegalEntityIds,
          currency: customer.currency,
          taxId: customer.taxId,
          paymentTermsDays: customer.paymentTermsDays,
        },
      },
    });
    return data.upsertErpCustomer;
  }

  /** NetSuite `PUT job/eid:<projectId>`. */
  async upsertErpProject(context: CallContext, projectId: string, plan: ActivationPlan): Promise<{ erpProjectId: string; code: string; created: boolean }> {
    const data = await this.client.request<{ upsertErpProject: { erpProjectId: string; code: string; created: boolean } }>({
      site: this.site(context, 'erp', 'ActivationUpsertProject'),
      idempotencyKey: this.key(context),
      query: `mutation ActivationUpsertProject($input: ProjectUpsertInput!) { upsertErpProject(input: $input) { erpProjectId code created } }`,
      variables: {
        input: {
          projectId,
          name: plan.projectName,
          accountId: plan.accountId,
          legalEntityId: plan.legalEntityId,
          contractType: plan.contractType,
          currency: plan.currency,
          value: plan.value,
          poRequired: plan.poRequired,
          poNumber: plan.poNumber,
          startDate: plan.startDate,
          endDate: plan.endDate,
          ...(plan.contractRates ? { contractRates: plan.contractRates } : {}),
        },
      },
    });
    return data.upsertErpProject;
  }

  async upsertBillingSchedule(context: CallContext, projectId: string, plan: ActivationPlan): Promise<{ billingScheduleId: string; created: boolean }> {
    const data = await this.client.request<{ upsertErpBillingSchedule: { billingSchedule: { id: string }; created: boolean } }>({
      site: this.site(context, 'erp', 'ActivationUpsertBillingSchedule'),
      idempotencyKey: this.key(context),
      query: `mutation ActivationUpsertBillingSchedule($input: BillingScheduleUpsertInput!) { upsertErpBillingSchedule(input: $input) { billingSchedule { id } created } }`,
      variables: { input: { projectId, ...plan.billingSchedule } },
    });
    return { billingScheduleId: data.upsertErpBillingSchedule.billingSchedule.id, created: data.upsertErpBillingSchedule.created };
  }

  async deleteBillingSchedule(context: CallContext, projectId: string): Promise<boolean> {
    const data = await this.client.request<{ deleteErpBillingSchedule: boolean }>({
      site: this.site(context, 'erp', 'ActivationDeleteBillingSchedule'),
      idempotencyKey: this.key(context),
      query: `mutation ActivationDeleteBillingSchedule($projectId: ID!) { deleteErpBillingSchedule(projectId: $projectId) }`,
      variables: { projectId },
    });
    return data.deleteErpBillingSchedule;
  }

  async deleteErpProject(context: CallContext, projectId: string): Promise<boolean> {
    const data = await this.client.request<{ deleteErpProject: boolean }>({
      site: this.site(context, 'erp', 'ActivationDeleteProject'),
      idempotencyKey: this.key(context),
      query: `mutation ActivationDeleteProject($projectId: ID!) { deleteErpProject(projectId: $projectId) }`,
      variables: { projectId },
    });
    return data.deleteErpProject;
  }

  /** Kantata has no idempotency key: look the project up by its external reference before creating it. */
  async findPsaProject(context: CallContext, projectId: string): Promise<{ psaId: string; resourceRequests: Array<{ id: string; status: string }> } | null> {
    const data = await this.client.request<{ project: { psaId: string; resourceRequests: Array<{ id: string; status: string }> } | null }>({
      site: this.site(context, 'psa', 'ActivationFindProject'),
      query: `query ActivationFindProject($id: ID!) { project(id: $id) { psaId resourceRequests { id status } } }`,
      variables: { id: projectId },
    });
    return data.project;
  }

  async createPsaProject(context: CallContext, projectId: string, code: string, plan: ActivationPlan): Promise<{ psaId: string }> {
    const data = await this.client.request<{ createPsaProject: { psaId: string } }>({
      site: this.site(context, 'psa', 'ActivationCreateProject'),
      idempotencyKey: this.key(context),
      query: `mutation ActivationCreateProject($input: CreateProjectInput!) { createPsaProject(input: $input) { psaId } }`,
      variables: {
        input: {
          id: projectId,
          accountId: plan.accountId,
          code,
          name: plan.projectName,
          region: plan.region,
          serviceLine: plan.serviceLine,
          contractType: plan.contractType,
          currency: plan.currency,
          startDate: plan.startDate,
          endDate: plan.endDate,
          managerId: plan.managerId,
        },
      },
    });
    return data.createPsaProject;
  }

  async createResourceRequests(context: CallContext, projectId: string, plan: ActivationPlan): Promise<string[]> {
    const data = await this.client.request<{ createResourceRequests: Array<{ id: string }> }>({
      site: this.site(context, 'psa', 'ActivationCreateResourceRequests'),
      idempotencyKey: this.key(context),
      query: `mutation ActivationCreateResourceRequests($projectId: ID!, $requests: [ResourceRequestInput!]!) { createResourceRequests(projectId: $projectId, requests: $requests) { id } }`,
      variables: { projectId, requests: plan.resourceRequests },
    });
    return data.createResourceRequests.map((request) => request.id);
  }

  async cancelResourceRequests(context: CallContext, projectId: string): Promise<void> {
    await this.client.request({
      site: this.site(context, 'psa', 'ActivationCancelResourceRequests'),
      idempotencyKey: this.key(context),
      query: `mutation ActivationCancelResourceRequests($projectId: ID!) { cancelResourceRequests(projectId: $projectId) { id } }`,
      variables: { projectId },
    });
  }

  async deletePsaProject(context: CallContext, projectId: string): Promise<boolean> {
    const data = await this.client.request<{ deletePsaProject: boolean }>({
      site: this.site(context, 'psa', 'ActivationDeletePsaProject'),
      idempotencyKey: this.key(context),
      query: `mutation ActivationDeletePsaProject($id: ID!) { deletePsaProject(id: $id) }`,
      variables: { id: projectId },
    });
    return data.deletePsaProject;
  }

  /** Salesforce external-ID upsert of the link: writing the same IDs again changes nothing. */
  async linkProject(context: CallContext, link: { projectId: string; erpProjectId: string; psaProjectId: string; erpCustomerId: string }): Promise<void> {
    await this.client.request({
      site: this.site(context, 'crm', 'ActivationLinkProject'),
      idempotencyKey: this.key(context),
      query: `mutation ActivationLinkProject($input: LinkProjectInput!) { linkOpportunityToProject(input: $input) { id } }`,
      variables: { input: { opportunityId: context.opportunityId, ...link } },
    });
  }

  async unlinkProject(context: CallContext, projectId: string): Promise<void> {
    await this.client.request({
      site: this.site(context, 'crm', 'ActivationUnlinkProject'),
      idempotencyKey: this.key(context),
      query: `mutation ActivationUnlinkProject($opportunityId: ID!, $projectId: ID!) { unlinkOpportunityFromProject(opportunityId: $opportunityId, projectId: $projectId) { id } }`,
      variables: { opportunityId: context.opportunityId, projectId },
    });
  }
}
