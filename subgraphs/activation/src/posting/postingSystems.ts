/**
 * The ERP subgraph's operations the posting process uses, over the process layer's system client (GraphQL over
 * HTTP, a deadline on every call, its own principal): the context lines are checked against, and the postings and
 * reversals, each keyed by its source record and version so that a call retried after a lost answer changes
 * nothing twice.
 */
import { formatMinor, parseMinor } from '../../../platform/src/index.js';
import type { CallSite } from '../systems/faults.js';
import type { SystemClient } from '../systems/systemClient.js';
import type { ContractTerms, DeliveryLine, PostingContext } from './postingChecks.js';
import type { PostingStore } from './postingStore.js';
import { type Reconciliation, reconcileProject } from './reconciliation.js';

const CONTEXT_QUERY = `query PostingContext($projectIds: [ID!]!, $resourceIds: [ID!]!, $periods: [String!]!) {
  erpPostingContext(projectIds: $projectIds, resourceIds: $resourceIds, periods: $periods) {
    terms { projectId status region contractType currency poRequired
      contractRates { role effectiveFrom effectiveTo billRate { amount } }
      purchaseOrder { number expiresOn amount { amount } consumed { amount } }
      budget { amount } postedCost { amount } }
    employees { resourceId active }
    periods { period closed }
  }
}`;

const POST_MUTATION = `mutation PostDelivery($postings: [DeliveryPostingInput!]!) { postErpDelivery(postings: $postings) { externalId created } }`;
const REVERSE_MUTATION = `mutation ReverseDelivery($externalIds: [ID!]!) { reverseErpDelivery(externalIds: $externalIds) { externalId reversed } }`;

interface ContextAnswer {
  erpPostingContext: {
    terms: Array<
      Omit<ContractTerms, 'contractRates' | 'purchaseOrder' | 'budgetMinor' | 'postedCostMinor'> & {
        budget: { amount: string };
        postedCost: { amount: string };
        region: string;
        contractRates: Array<{ role: string; effectiveFrom: string; effectiveTo: string | null; billRate: { amount: string } }>;
        purchaseOrder: { number: string; expiresOn: string; amount: { amount: string }; consumed: { amount: string } } | null;
      }
    >;
    employees: Array<{ resourceId: string; active: boolean }>;
    periods: Array<{ period: string; closed: boolean }>;
  };
}

/** A line as ERP posts it: what it bills under the contract, and what it cost. */
export interface LineToPost {
  readonly line: DeliveryLine;
  readonly billableMinor: number;
}

export interface PostingContextWithRegions extends PostingContext {
  readonly regions: ReadonlyMap<string, string>;
}

export class PostingSystems {
  constructor(private readonly client: SystemClient) {}

  private site(operationName: string, phase: CallSite['phase']): CallSite {
    return { system: 'erp', operationName, step: null, phase, runId: null };
  }

  async context(lines: readonly DeliveryLine[]): Promise<PostingContextWithRegions> {
    const unique = (values: Array<string | null>) => [...new Set(values.filter((value): value is string => value !== null))];
    const answer = await this.client.request<ContextAnswer>({
      site: this.site('PostingContext', 'read'),
      query: CONTEXT_QUERY,
      variables: {
        projectIds: unique(lines.map((line) => line.projectId)),
        resourceIds: unique(lines.map((line) => line.resourceId)),
        periods: unique(lines.map((line) => line.date.slice(0, 7))),
      },
    });
    const { terms, employees, periods } = answer.erpPostingContext;
    return {
      terms: new Map(
        terms.map((term) => [
          term.projectId,
          {
            ...term,
            contractRates: term.contractRates.map((rate) => ({
              role: rate.role,
              effectiveFrom: rate.effectiveFrom,
              effectiveTo: rate.effectiveTo,
              billRateMinor: parseMinor(rate.billRate.amount),
            })),
            purchaseOrder: term.purchaseOrder
              ? {
                  number: term.purchaseOrder.number,
                  expiresOn: term.purchaseOrder.expiresOn,
                  amountMinor: parseMinor(term.purchaseOrder.amount.amount),
                  consumedMinor: parseMinor(term.purchaseOrder.consumed.amount),
                }
              : null,
            budgetMinor: parseMinor(term.budget.amount),
            postedCostMinor: parseMinor(term.postedCost.amount),
          },
        ]),
      ),
      regions: new Map(terms.map((term) => [term.projectId, term.region])),
      employees: new Map(employees.map((employee) => [employee.resourceId, employee.active])),
      periodsClosed: new Map(periods.map((period) => [period.period, period.closed])),
    };
  }

  /** Posts all of them or none; each once by its source key. */
  async post(lines: readonly LineToPost[]): Promise<void> {
    await this.client.request({
      site: this.site('PostDelivery', 'forward'),
      query: POST_MUTATION,
      idempotencyKey: lines.length === 1 ? lines[0]!.line.sourceKey : `${lines[0]!.line.sourceKey}+${lines.length - 1}`,
      variables: {
        postings: lines.map(({ line, billableMinor }) => ({
          externalId: line.sourceKey,
          kind: line.kind,
          projectId: line.projectId,
          resourceId: line.resourceId,
          item: line.item,
          date: line.date,
          minutes: line.minutes,
          rate: line.rateMinor === null ? null : formatMinor(line.rateMinor),
          billable: billableMinor > 0,
          billableAmount: formatMinor(billableMinor),
          cost: formatMinor(line.costMinor),
          currency: line.currency,
          memo: `${line.kind.toLowerCase()} ${line.recordId} v${line.version}${line.parentId ? ` (timesheet ${line.parentId})` : ''}`,
        })),
      },
    });
  }

  /** Compares one project across the PSA, the process's lines and ERP (reconciliation.ts). */
  reconcile(projectId: string, store: PostingStore): Promise<Reconciliation> {
    return reconcileProject(projectId, store, this.client);
  }

  async reverse(sourceKeys: readonly string[]): Promise<void> {
    await this.client.request({
      site: this.site('ReverseDelivery', 'compensate'),
      query: REVERSE_MUTATION,
      idempotencyKey: `reverse:${sourceKeys[0]}+${sourceKeys.length - 1}`,
      variables: { externalIds: sourceKeys },
    });
  }
}
