/**
 * Builds the activation subgraph service, without listening: its store, the saga runner over the system
 * subgraphs' HTTP endpoints, the consumer of CRM's opportunity events, the outbox relay of its own events, and
 * the GraphQL service. Everything a test needs to reach in (the fault seam, the bus, the runner) is an option.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parse } from 'graphql';
import { type EventBus, InMemoryEventBus, startOutboxRelay } from '../../platform/src/events/index.js';
import {
  type Logger,
  type PrincipalSigner,
  type SubgraphService,
  LogCode,
  createLogger,
  createSubgraphService,
  loadRetentionConfig,
  mergeResolverMaps,
  requireStaff,
} from '../../platform/src/index.js';
import type { ActivationConfig } from './activationConfig.js';
import { instrumentActivation } from './activationMetrics.js';
import { type ActivationContext, createActivationLoaders } from './activationLoaders.js';
import { activationSubscriptionResolvers } from './activationSubscriptions.js';
import { activationResolvers } from './activationResolvers.js';
import { EventContracts } from './events/eventContracts.js';
import { consumeOpportunityEvents } from './events/opportunityEventsConsumer.js';
import { ActivationRunner } from './saga/activationRunner.js';
import { type ActivationStore, openActivationStore } from './store/activationStore.js';
import { ActivationSystems } from './systems/activationSystems.js';
import { type CallSite, type FaultInjector, faultRules } from './systems/faults.js';
import { SystemClient } from './systems/systemClient.js';
import { DeliveryPoster } from './posting/deliveryPoster.js';
import { consumeDeliveryEvents } from './posting/deliveryEventsConsumer.js';
import { postingResolvers } from './posting/postingResolvers.js';
import { postingSubscriptionResolvers } from './posting/postingSubscriptions.js';
import { PostingSystems } from './posting/postingSystems.js';
import { consumeStaffingEvents } from './invoicing/cashFigures.js';
import { Invoicer } from './invoicing/invoicer.js';
import { ReconciliationSchedule } from './invoicing/reconciliationSchedule.js';
import { InvoiceStatusSync, consumeInvoiceEvents } from './invoicing/invoiceStatusSync.js';
import { invoicingResolvers } from './invoicing/invoicingResolvers.js';
import { deadLetterResolvers } from './store/deadLetterResolvers.js';
import { eventDeadLetterResolvers } from './store/eventDeadLetterResolvers.js';
import { operationsResolvers } from './operationsResolvers.js';
import { RetentionSweep } from './retentionSweep.js';
import { InvoicingSystems } from './invoicing/invoicingSystems.js';

export const activationTypeDefs = parse(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface ActivationSubgraphOptions {
  /** Where opportunity events come from and activation events go. @default a process-local bus, closed with the service */
  readonly bus?: EventBus;
  /** The fault seam of the subgraph client. @default the config's rules, if any */
  readonly faults?: FaultInjector | null;
  /** Told when an injected hang begins. @default prints a line (crash tests wait for it) */
  readonly onHang?: (call: CallSite) => void;
  /** Where the service, the saga and the consumers log. @default createLogger('activation') (PSGRAPH_LOG_LEVEL) */
  readonly logger?: Logger;
  /** Signs the process layer's own principal for its calls to the system subgraphs (`PSGRAPH_SIGNING_KEY`). @default none: development */
  readonly signer?: PrincipalSigner;
}

/** The process layer's own identity, as its calls to the system subgraphs state it. */
const PROCESS_PRINCIPAL = { subject: 'psgraph:activation', scopes: [], roles: ['process'], accountIds: null };

export interface ActivationSubgraph extends SubgraphService {
  readonly store: ActivationStore;
  readonly runner: ActivationRunner;
  /** Posts approved delivery to ERP (the posting process). */
  readonly poster: DeliveryPoster;
  /** Runs invoicing (invoice runs, and their resumption). */
  readonly invoicer: Invoicer;
  /** Reconciliation on a schedule (and on demand). */
  readonly reconciliations: ReconciliationSchedule;
  readonly bus: EventBus;
  /** Trims processed events, old dead letters and finished runs on a schedule; `sweep()` trims now. */
  readonly retentionSweep: RetentionSweep;
  /** Resolves once every event committed so far is on the bus. */
  flushEvents(): Promise<void>;
}

export function createActivationSubgraph(config: ActivationConfig, options: ActivationSubgraphOptions = {}): ActivationSubgraph {
  const log = options.logger ?? createLogger('activation');
  const bus = options.bus ?? new InMemoryEventBus();
  const store = openActivationStore(config.dataDir);
  // Defaults, not this process' environment, when the caller built the configuration itself (tests).
  const retention = config.retention ?? loadRetentionConfig({});
  const relay = startOutboxRelay(store.sqlite, bus, { pollMs: 100, retention });
  const client = new SystemClient({
    urls: config.systemUrls,
    timeoutMs: config.callTimeoutMs,
    faults: options.faults !== undefined ? options.faults : config.faults ? faultRules(config.faults) : null,
    onHang:
      options.onHang ??
      ((call) =>
        log.warn(
          { step: call.step ?? 'read', operation: call.operationName },
          `fault: hanging after ${call.operationName} (${call.step ?? 'read'}, run ${call.runId})`,
        )),
    ...(options.signer ? { principal: () => options.signer!.sign(PROCESS_PRINCIPAL) } : {}),
  });
  const runner = new ActivationRunner({
    store,
    systems: new ActivationSystems(client),
    retry: config.retry,
    leaseMs: config.leaseMs,
    maxConcurrentRuns: config.maxConcurrentRuns,
    onCommit: () => relay.notify(),
    log,
  });
  const consumer = consumeOpportunityEvents({
    bus,
    store,
    runner,
    contracts: new EventContracts(),
    consumer: `activation-${process.pid}-${randomBytes(3).toString('hex')}`,
    log,
  });
  const poster = new DeliveryPoster({ store: store.postings, systems: new PostingSystems(client), onCommit: () => relay.notify(), log });
  const deliveryConsumer = consumeDeliveryEvents({
    bus,
    poster,
    deadLetters: store.deadLetters,
    contracts: new EventContracts(),
    consumer: `posting-${process.pid}-${randomBytes(3).toString('hex')}`,
    log,
  });
  const invoicingSystems = new InvoicingSystems(client);
  const invoicer = new Invoicer({ store: store.invoicing, systems: invoicingSystems, log });
  const invoiceConsumer = consumeInvoiceEvents({
    bus,
    sync: new InvoiceStatusSync(store.invoicing, invoicingSystems, log),
    deadLetters: store.deadLetters,
    contracts: new EventContracts(),
    consumer: `billing-status-${process.pid}-${randomBytes(3).toString('hex')}`,
    log,
  });
  const staffingConsumer = consumeStaffingEvents({
    bus,
    figures: store.cashFigures,
    deadLetters: store.deadLetters,
    contracts: new EventContracts(),
    consumer: `staffing-figures-${process.pid}-${randomBytes(3).toString('hex')}`,
    log,
  });
  const reconciliations = new ReconciliationSchedule(store.sqlite, (projectId) => poster.reconcile(projectId), log);
  reconciliations.start(config.reconcileEveryMinutes ?? 0);
  runner.start();
  const retentionSweep = new RetentionSweep({ bus, store, retention, log });
  retentionSweep.start();
  // Invoices a crashed run left planned or created are carried on once the systems answer.
  void invoicer
    .resume()
    .catch((error: Error) => log.error({ err: error, code: LogCode.PROCESS_FAILED, process: 'invoicing' }, 'resuming invoices at start-up failed'));
  const service = createSubgraphService<ActivationContext>({
    name: 'activation',
    logger: log,
    typeDefs: activationTypeDefs,
    resolvers: forStaffOnly(
      mergeResolverMaps(
        activationResolvers,
        postingResolvers,
        invoicingResolvers,
        deadLetterResolvers,
        eventDeadLetterResolvers,
        operationsResolvers,
        activationSubscriptionResolvers(bus),
        postingSubscriptionResolvers(bus),
      ),
    ),
    context: (caller) => ({ caller, store, runner, poster, invoicer, reconciliations, bus, loaders: createActivationLoaders(store), awaitMs: config.awaitMs }),
    ...(config.principals ? { principals: config.principals } : {}),
    instrument: (metrics) => {
      metrics.gauge('psgraph_sql_statements_total', 'SQL statements executed by this subgraph since start.', () => store.statementCount);
      instrumentActivation(metrics, store, bus);
    },
    close: async () => {
      await consumer.stop();
      await deliveryConsumer.stop();
      await invoiceConsumer.stop();
      await staffingConsumer.stop();
      await reconciliations.stop();
      await retentionSweep.stop();
      await runner.stop();
      await relay.stop();
      if (!options.bus) await bus.close();
      store.close();
    },
    production: config.production,
  });
  return Object.assign(service, { store, runner, poster, invoicer, reconciliations, bus, retentionSweep, flushEvents: () => relay.flush() });
}

type FieldResolver = (parent: unknown, args: unknown, context: ActivationContext, info: unknown) => unknown;

/**
 * The process API is for the firm's staff: every root field (query, mutation, subscription) refuses a client user
 * with FORBIDDEN, here where the runs live as well as at the gateway.
 */
function forStaffOnly<T extends object>(resolvers: T): T {
  const guarded: Record<string, unknown> = { ...(resolvers as Record<string, unknown>) };
  for (const root of ['Query', 'Mutation', 'Subscription']) {
    const fields = (resolvers as Record<string, Record<string, unknown> | undefined>)[root];
    if (!fields) continue;
    guarded[root] = Object.fromEntries(
      Object.entries(fields).map(([name, resolver]) => {
        const guard =
          (resolve: FieldResolver): FieldResolver =>
          (parent, args, context, info) => {
            requireStaff(context.caller, 'The activation process API');
            return resolve(parent, args, context, info);
          };
        if (typeof resolver === 'function') return [name, guard(resolver as FieldResolver)];
        const subscription = resolver as { subscribe: FieldResolver; resolve?: FieldResolver };
        return [name, { ...subscription, subscribe: guard(subscription.subscribe) }];
      }),
    );
  }
  return guarded as T;
}
