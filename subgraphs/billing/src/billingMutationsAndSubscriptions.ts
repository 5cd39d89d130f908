/**
 * Billing's writes and its subscription. Each mutation is one state change in the billing system, which
 * records the matching business event in the same transaction; the subscription streams those events from the
 * bus, so any replica of the billing subgraph serves any subscriber, whichever replica made the change.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { type BusEvent, eventStream } from '../../platform/src/events/index.js';
import { inputError, isCanonicalProjectId, isSalesforceId, isStripeId, mayReadAccount, parseMinor, requireIdFormat } from '../../platform/src/index.js';
import { type BillingContext, createBillingLoaders } from './billingLoaders.js';
import type { Resolvers, ResolversTypes, SubscriptionInvoiceStatusChangedArgs, SubscriptionResolveFn } from './generated/resolverTypes.js';
import { INVOICE_STATUS_EVENT_TYPES, type InvoiceStatusEvent } from './invoiceEvents.js';
import { BillingSystemError } from './invoiceLifecycle.js';

const invoiceId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (v) => isStripeId(v, 'in'), 'a billing invoice ID (in_ followed by 24 letters and digits)');

/** Runs a billing-system write, mapping its typed refusals to GraphQL errors with their stable codes. */
async function write<T>(context: BillingContext, change: () => Promise<T>): Promise<T> {
  try {
    const result = await change();
    context.events?.notify();
    return result;
  } catch (error) {
    if (error instanceof BillingSystemError) throw new GraphQLError(error.message, { extensions: { code: error.code } });
    throw error;
  }
}

// The bus carries every event's data untyped; the invoice status types carry InvoiceStatusEventData (built by invoiceStatusEvent).
const statusEvent = (event: BusEvent) => event as InvoiceStatusEvent;

/**
 * What `resolve` is: the generated type leaves its parent `any` (it cannot know what `subscribe` streams), so it
 * is named here as the bus event `subscribe` streams; what it returns is checked against InvoiceStatusChange.
 */
type ResolveStatusChange = SubscriptionResolveFn<
  ResolversTypes['InvoiceStatusChange'],
  InvoiceStatusEvent,
  BillingContext,
  Partial<SubscriptionInvoiceStatusChangedArgs>
>;

/** A line's amount in minor units; the port refuses amounts that are not above 0. */
function lineAmountMinor(index: number, amount: string): number {
  try {
    return parseMinor(amount);
  } catch {
    throw inputError(ErrorCode.BAD_USER_INPUT, `input.lines[${index}].amount must be a positive amount with at most 2 decimals, got "${amount}".`, {
      argument: `input.lines[${index}].amount`,
    });
  }
}

export const billingMutationResolvers: Resolvers = {
  Mutation: {
    createBillingInvoice: (_, { input }, context) => {
      const draft = {
        key: input.key,
        projectId: requireIdFormat('input.projectId', input.projectId, isCanonicalProjectId, 'a canonical project ID (prj_ + ULID)'),
        description: input.description,
        servicePeriodStart: input.servicePeriodStart,
        servicePeriodEnd: input.servicePeriodEnd,
        lines: input.lines.map((line, index) => ({
          sourceKey: line.sourceKey,
          description: line.description,
          amountMinor: lineAmountMinor(index, line.amount),
        })),
      };
      return write(context, () => context.billing.createInvoice(draft));
    },
    finalizeInvoice: (_, args, context) => write(context, () => context.billing.finalizeInvoice(invoiceId('id', args.id))),
    recordPayment: (_, args, context) => {
      const id = invoiceId('invoiceId', args.invoiceId);
      let amountMinor: number | undefined;
      if (args.amount != null) {
        try {
          amountMinor = parseMinor(args.amount);
        } catch {
          throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "amount" must be a positive amount with at most 2 decimals, got "${args.amount}".`, {
            argument: 'amount',
          });
        }
      }
      return write(context, () => context.billing.payInvoice(id, amountMinor));
    },
    issueCreditNote: (_, { input }, context) => {
      const draft = {
        key: input.key,
        invoiceId: invoiceId('input.invoiceId', input.invoiceId),
        reason: input.reason,
        memo: input.memo ?? null,
        lines: input.lines.map((line, index) => ({ sourceKey: line.sourceKey, amountMinor: lineAmountMinor(index, line.amount) })),
      };
      return write(context, () => context.billing.issueCreditNote(draft));
    },
    voidInvoice: (_, args, context) => write(context, () => context.billing.voidInvoice(invoiceId('id', args.id))),
    markInvoiceUncollectible: (_, args, context) => write(context, () => context.billing.markUncollectible(invoiceId('id', args.id))),
  },

  Subscription: {
    invoiceStatusChanged: {
      subscribe: (_, args, context) => {
        if (args.projectId == null && args.accountId == null) {
          throw inputError(ErrorCode.BAD_USER_INPUT, 'invoiceStatusChanged needs projectId or accountId (or both).', { argument: 'projectId' });
        }
        const projectId =
          args.projectId == null ? null : requireIdFormat('projectId', args.projectId, isCanonicalProjectId, 'a canonical project ID (prj_ + ULID)');
        const accountId =
          args.accountId == null
            ? null
            : requireIdFormat('accountId', args.accountId, (v) => isSalesforceId(v, 'Account'), 'an 18-character Salesforce Account ID (prefix 001)');
        if (!context.bus) throw new GraphQLError('Subscriptions need an event bus.', { extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } });
        return eventStream(context.bus, INVOICE_STATUS_EVENT_TYPES, (event) => {
          const { data } = statusEvent(event);
          // A client user hears of its own accounts' invoices only, whatever it subscribed to.
          return (
            (projectId === null || data.projectId === projectId) &&
            (accountId === null || data.crmAccountId === accountId) &&
            mayReadAccount(context.caller, data.crmAccountId)
          );
        });
      },
      resolve: (async (event, _, context) => {
        // One subscription keeps one context for its lifetime: give each event fresh loaders, or an invoice
        // read for an earlier event would be served from the DataLoader cache with its old status.
        const today = context.billing.today();
        context.loaders = createBillingLoaders(context.billing, today);
        context.today = today;
        const invoice = await context.loaders.invoiceById.load(event.data.invoiceId);
        if (!invoice) throw new GraphQLError(`Invoice ${event.data.invoiceId} no longer exists.`, { extensions: { code: ErrorCode.NOT_FOUND } });
        return { eventId: event.id, invoice, previousStatus: event.data.previousStatus, status: event.data.status, changedAt: event.data.changedAt };
      }) satisfies ResolveStatusChange,
    },
  },
};
