/**
 * The system subgraphs' operations invoicing uses, over the process layer's system client: what ERP says is due,
 * billing's invoice creation (under the run's idempotency key) and finalization, and the status writes back to
 * ERP, CRM and the PSA. Each write is safe to repeat: billing creates once per key, and ERP, CRM and the PSA keep
 * the newest billing event's status.
 */
import { formatMinor, parseMinor } from '../../../platform/src/index.js';
import type { CallSite } from '../systems/faults.js';
import type { SystemClient } from '../systems/systemClient.js';
import type { PlannedInvoice } from './invoicingStore.js';

export type ContractType = 'FIXED_FEE' | 'TIME_AND_MATERIALS' | 'MILESTONE' | 'RETAINER';
export type BillingStatus = 'DRAFT' | 'OPEN' | 'PAID' | 'VOID' | 'UNCOLLECTIBLE';

export interface BillablePosting {
  readonly externalId: string;
  readonly kind: 'TIME' | 'EXPENSE' | 'MILESTONE';
  readonly date: string;
  readonly item: string | null;
  readonly minutes: number | null;
  readonly rateMinor: number | null;
  readonly billableMinor: number;
  readonly memo: string;
}

export interface DueLine {
  readonly sourceKey: string;
  readonly date: string;
  readonly description: string;
  readonly amountMinor: number;
}

export interface ProjectBillables {
  readonly projectId: string;
  readonly contractType: ContractType;
  readonly currency: string;
  readonly postings: readonly BillablePosting[];
  readonly scheduleLines: readonly DueLine[];
}

export interface BillingInvoiceView {
  readonly id: string;
  readonly number: string | null;
  readonly status: BillingStatus;
  readonly projectId: string;
  readonly accountId: string;
  readonly currency: string;
  readonly totalMinor: number;
  readonly amountPaidMinor: number;
  readonly date: string;
  readonly sourceKeys: readonly string[];
}

export interface ProjectPosition {
  readonly billedMinor: number;
  readonly unbilledMinor: number;
  readonly currency: string;
}

const money = (value: { amount: string }) => parseMinor(value.amount);

const BILLABLES = `query Billables($upTo: Date!, $projectIds: [ID!]) {
  erpBillables(upTo: $upTo, projectIds: $projectIds) {
    projectId contractType currency
    postings { externalId kind date item minutes rate { amount } billableAmount { amount } memo }
    scheduleLines { sourceKey date description amount { amount } }
  }
}`;
const CREATE = `mutation CreateInvoice($input: CreateBillingInvoiceInput!) { createBillingInvoice(input: $input) { created invoice { id status number } } }`;
const FINALIZE = `mutation FinalizeInvoice($id: ID!) { finalizeInvoice(id: $id) { id status number } }`;
const INVOICE = `query Invoice($id: ID!) {
  invoice(id: $id) { id number status currency total { amount } amountPaid { amount } createdDate finalizedDate project { id } account { id } lines { sourceKey } }
}`;
const RECORD_CREDIT_NOTE = `mutation RecordCreditNote($input: ErpCreditNoteInput!) { recordErpCreditNote(input: $input) { applied } }`;
const RECORD_ERP = `mutation RecordInvoice($input: ErpInvoiceStatusInput!) { recordErpInvoiceStatus(input: $input) { applied } }`;
const POSITIONS = `query Positions($projectIds: [ID!]!) { erpBillingPositions(projectIds: $projectIds) { projectId unbilled { amount currency } billed { amount } } }`;
const BILLING_VIEW = `query BillingView($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Account { id receivables { currency outstanding { amount } overdue { amount } } }
    ... on Project { id invoiceSummary { billed { amount currency } } }
  }
}`;
const UNBILLED_WIP = `query UnbilledWip { erpUnbilledWip { unbilled { amount currency } postings projects } }`;
const RECORD_CRM = `mutation RecordAccountBillingStatus($input: AccountBillingStatusInput!) { recordAccountBillingStatus(input: $input) { applied } }`;
const RECORD_PSA_PROJECT = `mutation RecordProjectBillingStatus($input: ProjectBillingStatusInput!) { recordProjectBillingStatus(input: $input) { applied } }`;
const RECORD_PSA_MILESTONE = `mutation RecordMilestoneInvoice($input: MilestoneInvoiceInput!) { recordMilestoneInvoice(input: $input) { applied } }`;

export class InvoicingSystems {
  constructor(private readonly client: SystemClient) {}

  private site(system: CallSite['system'], operationName: string, phase: CallSite['phase']): CallSite {
    return { system, operationName, step: null, phase, runId: null };
  }

  async billables(upTo: string, projectIds: readonly string[] | null): Promise<ProjectBillables[]> {
    const answer = await this.client.request<{
      erpBillables: Array<
        Omit<ProjectBillables, 'postings' | 'scheduleLines'> & {
          postings: Array<Omit<BillablePosting, 'rateMinor' | 'billableMinor'> & { rate: { amount: string } | null; billableAmount: { amount: string } }>;
          scheduleLines: Array<Omit<DueLine, 'amountMinor'> & { amount: { amount: string } }>;
        }
      >;
    }>({ site: this.site('erp', 'Billables', 'read'), query: BILLABLES, variables: { upTo, projectIds } });
    return answer.erpBillables.map((project) => ({
      ...project,
      postings: project.postings.map(({ rate, billableAmount, ...posting }) => ({
        ...posting,
        rateMinor: rate ? money(rate) : null,
        billableMinor: money(billableAmount),
      })),
      scheduleLines: project.scheduleLines.map(({ amount, ...line }) => ({ ...line, amountMinor: money(amount) })),
    }));
  }

  /** Creates the draft invoice under its key (once, however often called). */
  async createInvoice(invoice: PlannedInvoice): Promise<{ id: string; status: BillingStatus; number: string | null }> {
    const answer = await this.client.request<{
      createBillingInvoice: { created: boolean; invoice: { id: string; status: BillingStatus; number: string | null } };
    }>({
      site: this.site('billing', 'CreateInvoice', 'forward'),
      query: CREATE,
      idempotencyKey: invoice.key,
      variables: {
        input: {
          key: invoice.key,
          projectId: invoice.projectId,
          description: invoice.description,
          servicePeriodStart: invoice.servicePeriodStart,
          servicePeriodEnd: invoice.servicePeriodEnd,
          lines: invoice.lines.map((line) => ({ sourceKey: line.sourceKey, description: line.description, amount: formatMinor(line.amountMinor) })),
        },
      },
    });
    return answer.createBillingInvoice.invoice;
  }

  async finalize(invoiceId: string): Promise<{ status: BillingStatus; number: string | null }> {
    const answer = await this.client.request<{ finalizeInvoice: { status: BillingStatus; number: string | null } }>({
      site: this.site('billing', 'FinalizeInvoice', 'forward'),
      query: FINALIZE,
      idempotencyKey: `finalize:${invoiceId}`,
      variables: { id: invoiceId },
    });
    return answer.finalizeInvoice;
  }

  async invoice(invoiceId: string): Promise<BillingInvoiceView | null> {
    const answer = await this.client.request<{
      invoice: {
        id: string;
        number: string | null;
        status: BillingStatus;
        currency: string;
        total: { amount: string };
        amountPaid: { amount: string };
        createdDate: string;
        finalizedDate: string | null;
        project: { id: string };
        account: { id: string };
        lines: Array<{ sourceKey: string | null }>;
      } | null;
    }>({ site: this.site('billing', 'Invoice', 'read'), query: INVOICE, variables: { id: invoiceId } });
    const invoice = answer.invoice;
    if (!invoice) return null;
    return {
      id: invoice.id,
      number: invoice.number,
      status: invoice.status,
      projectId: invoice.project.id,
      accountId: invoice.account.id,
      currency: invoice.currency,
      totalMinor: money(invoice.total),
      amountPaidMinor: money(invoice.amountPaid),
      date: invoice.finalizedDate ?? invoice.createdDate,
      sourceKeys: invoice.lines.map((line) => line.sourceKey).filter((key): key is string => key !== null),
    };
  }

  async recordInErp(invoice: BillingInvoiceView, status: BillingStatus, asOf: string, amountPaidMinor: number): Promise<boolean> {
    const answer = await this.client.request<{ recordErpInvoiceStatus: { applied: boolean } }>({
      site: this.site('erp', 'RecordInvoice', 'forward'),
      query: RECORD_ERP,
      idempotencyKey: `invoice-status:${invoice.id}:${asOf}`,
      variables: {
        input: {
          invoiceId: invoice.id,
          number: invoice.number,
          projectId: invoice.projectId,
          status,
          date: invoice.date,
          asOf,
          currency: invoice.currency,
          total: formatMinor(invoice.totalMinor),
          amountPaid: formatMinor(amountPaidMinor),
          sourceKeys: invoice.sourceKeys,
        },
      },
    });
    return answer.recordErpInvoiceStatus.applied;
  }

  async recordCreditNoteInErp(creditNote: {
    creditNoteId: string;
    invoiceId: string;
    projectId: string;
    date: string;
    currency: string;
    totalMinor: number;
    sourceKeys: readonly string[];
  }): Promise<boolean> {
    const answer = await this.client.request<{ recordErpCreditNote: { applied: boolean } }>({
      site: this.site('erp', 'RecordCreditNote', 'forward'),
      query: RECORD_CREDIT_NOTE,
      idempotencyKey: `credit-note:${creditNote.creditNoteId}`,
      variables: {
        input: {
          creditNoteId: creditNote.creditNoteId,
          invoiceId: creditNote.invoiceId,
          projectId: creditNote.projectId,
          date: creditNote.date,
          currency: creditNote.currency,
          total: formatMinor(creditNote.totalMinor),
          sourceKeys: creditNote.sourceKeys,
        },
      },
    });
    return answer.recordErpCreditNote.applied;
  }

  /** Billing's live view of an account's receivables and a project's billed amount. */
  async billingView(
    accountId: string,
    projectId: string,
  ): Promise<{ receivables: Array<{ currency: string; outstandingMinor: number; overdueMinor: number }>; billedMinor: number | null }> {
    // _entities answers in the order of the representations: the account, then the project.
    const answer = await this.client.request<{
      _entities: [
        { receivables?: Array<{ currency: string; outstanding: { amount: string }; overdue: { amount: string } }> | null } | null,
        { invoiceSummary?: { billed: { amount: string } } | null } | null,
      ];
    }>({
      site: this.site('billing', 'BillingView', 'read'),
      query: BILLING_VIEW,
      variables: {
        representations: [
          { __typename: 'Account', id: accountId },
          { __typename: 'Project', id: projectId },
        ],
      },
    });
    const [account, project] = answer._entities;
    return {
      receivables: (account?.receivables ?? []).map((receivable) => ({
        currency: receivable.currency,
        outstandingMinor: money(receivable.outstanding),
        overdueMinor: money(receivable.overdue),
      })),
      billedMinor: project?.invoiceSummary ? money(project.invoiceSummary.billed) : null,
    };
  }

  async position(projectId: string): Promise<ProjectPosition | null> {
    const answer = await this.client.request<{
      erpBillingPositions: Array<{ projectId: string; unbilled: { amount: string; currency: string }; billed: { amount: string } }>;
    }>({
      site: this.site('erp', 'Positions', 'read'),
      query: POSITIONS,
      variables: { projectIds: [projectId] },
    });
    const position = answer.erpBillingPositions[0];
    return position ? { unbilledMinor: money(position.unbilled), billedMinor: money(position.billed), currency: position.unbilled.currency } : null;
  }

  /** ERP's unbilled work in progress, live, per currency. */
  async unbilledWip(): Promise<Array<{ unbilled: { amount: string; currency: string }; postings: number; projects: number }>> {
    const answer = await this.client.request<{ erpUnbilledWip: Array<{ unbilled: { amount: string; currency: string }; postings: number; projects: number }> }>(
      {
        site: this.site('erp', 'UnbilledWip', 'read'),
        query: UNBILLED_WIP,
      },
    );
    return answer.erpUnbilledWip;
  }

  async recordInCrm(input: {
    accountId: string;
    asOf: string;
    receivables: ReadonlyArray<{ currency: string; outstandingMinor: number; overdueMinor: number }>;
    invoice: BillingInvoiceView;
    status: BillingStatus;
  }): Promise<boolean> {
    const answer = await this.client.request<{ recordAccountBillingStatus: { applied: boolean } }>({
      site: this.site('crm', 'RecordAccountBillingStatus', 'forward'),
      query: RECORD_CRM,
      idempotencyKey: `account-status:${input.accountId}:${input.asOf}`,
      variables: {
        input: {
          accountId: input.accountId,
          asOf: input.asOf,
          receivables: input.receivables.map((receivable) => ({
            currency: receivable.currency,
            outstanding: formatMinor(receivable.outstandingMinor),
            overdue: formatMinor(receivable.overdueMinor),
          })),
          lastInvoiceId: input.invoice.id,
          lastInvoiceNumber: input.invoice.number,
          lastInvoiceStatus: input.status,
        },
      },
    });
    return answer.recordAccountBillingStatus.applied;
  }

  async recordProjectInPsa(input: {
    projectId: string;
    asOf: string;
    currency: string;
    billedMinor: number;
    unbilledMinor: number;
    invoice: BillingInvoiceView;
    status: BillingStatus;
  }): Promise<boolean> {
    const answer = await this.client.request<{ recordProjectBillingStatus: { applied: boolean } }>({
      site: this.site('psa', 'RecordProjectBillingStatus', 'forward'),
      query: RECORD_PSA_PROJECT,
      idempotencyKey: `project-status:${input.projectId}:${input.asOf}`,
      variables: {
        input: {
          projectId: input.projectId,
          asOf: input.asOf,
          currency: input.currency,
          billed: formatMinor(input.billedMinor),
          unbilled: formatMinor(input.unbilledMinor),
          lastInvoiceId: input.invoice.id,
          lastInvoiceNumber: input.invoice.number,
          lastInvoiceStatus: input.status,
        },
      },
    });
    return answer.recordProjectBillingStatus.applied;
  }

  async recordMilestoneInPsa(input: { milestoneId: string; asOf: string; invoice: BillingInvoiceView; status: BillingStatus }): Promise<boolean> {
    const answer = await this.client.request<{ recordMilestoneInvoice: { applied: boolean } }>({
      site: this.site('psa', 'RecordMilestoneInvoice', 'forward'),
      query: RECORD_PSA_MILESTONE,
      idempotencyKey: `milestone-invoice:${input.milestoneId}:${input.asOf}`,
      variables: {
        input: {
          milestoneId: input.milestoneId,
          asOf: input.asOf,
          invoiceId: input.invoice.id,
          invoiceNumber: input.invoice.number,
          invoiceStatus: input.status,
        },
      },
    });
    return answer.recordMilestoneInvoice.applied;
  }
}
