/**
 * The posting process's subscriptions, streamed from the bus so that any replica serves any subscriber: billing
 * exceptions as they are raised and closed (filtered by region, project or owning team, from what each event
 * carries), and each approval posted to ERP with its latency. Each update is hydrated from the store as it is now.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { type BusEvent, type EventBus, eventStream } from '../../../platform/src/events/index.js';
import { inputError, isCanonicalProjectId, requireIdFormat } from '../../../platform/src/index.js';
import type { ActivationContext } from '../activationLoaders.js';
import type { Resolvers, ResolversTypes, SubscriptionResolveFn } from '../generated/resolverTypes.js';

interface ExceptionEventData {
  readonly exceptionId: string;
  readonly projectId: string;
  readonly ownerTeam: string;
  readonly region: string | null;
  readonly resolution?: 'RESOLVED' | 'WAIVED';
  readonly detectedAt?: string;
  readonly resolvedAt?: string;
}

interface PostedEventData {
  readonly kind: string;
  readonly recordId: string;
  readonly version: number;
  readonly projectId: string;
  readonly sourceKeys: readonly string[];
  readonly approvedAt: string;
  readonly postedAt: string;
}

type ResolveChange = SubscriptionResolveFn<ResolversTypes['BillingExceptionChange'], BusEvent<ExceptionEventData>, ActivationContext, unknown>;
type ResolveProgress = SubscriptionResolveFn<ResolversTypes['PostingProgress'], BusEvent<PostedEventData>, ActivationContext, unknown>;

const projectIdOf = (id: string | null | undefined) =>
  id == null ? null : requireIdFormat('projectId', id, isCanonicalProjectId, 'a canonical project ID (prj_ and a 26-character ULID)');

export function postingSubscriptionResolvers(bus: EventBus): Resolvers {
  return {
    Subscription: {
      billingExceptionChanged: {
        subscribe: (_, args) => {
          const projectId = projectIdOf(args.projectId);
          const ownerTeam = args.ownerTeam ?? null;
          const region = args.region ?? null;
          return eventStream(bus, ['billing_exception.raised', 'billing_exception.resolved'], (event) => {
            const data = event.data as unknown as ExceptionEventData;
            return (
              (projectId === null || data.projectId === projectId) &&
              (ownerTeam === null || data.ownerTeam === ownerTeam) &&
              (region === null || data.region === region)
            );
          });
        },
        resolve: (async (event, _, { store }) => {
          const exception = store.postings.exceptionsById([event.data.exceptionId]).get(event.data.exceptionId);
          if (!exception) throw inputError(ErrorCode.NOT_FOUND, `Billing exception ${event.data.exceptionId} is not in this process's store.`);
          return {
            eventId: event.id,
            change: event.type === 'billing_exception.raised' ? 'RAISED' : (event.data.resolution ?? 'RESOLVED'),
            exception,
            at: event.data.resolvedAt ?? event.data.detectedAt ?? event.occurredAt,
          };
        }) satisfies ResolveChange,
      },
      postingProgress: {
        subscribe: (_, args) => {
          const projectId = projectIdOf(args.projectId);
          return eventStream(
            bus,
            ['delivery.posted_to_erp'],
            (event) => projectId === null || (event.data as unknown as PostedEventData).projectId === projectId,
          );
        },
        resolve: ((event) => ({
          eventId: event.id,
          kind: event.data.kind,
          recordId: event.data.recordId,
          version: event.data.version,
          project: { id: event.data.projectId },
          postedLines: event.data.sourceKeys.length,
          approvedAt: event.data.approvedAt,
          postedAt: event.data.postedAt,
          latencySeconds: (Date.parse(event.data.postedAt) - Date.parse(event.data.approvedAt)) / 1000,
        })) satisfies ResolveProgress,
      },
    },
  };
}
