/**
 * How GraphQL Code Generator types this subgraph's resolvers (the repository's `codegen.ts` runs it): the
 * context every resolver gets, and the record each schema type is resolved from (paths from `src/generated/`).
 */
import { PLATFORM, type SubgraphCodegen } from '../platform/codegen/subgraphCodegen.js';

export const activationCodegen: SubgraphCodegen = {
  contextType: '../activationLoaders.js#ActivationContext',
  mappers: {
    ActivationRun: '../store/activationRecords.js#ActivationRunRecord',
    ActivationStep: '../store/activationRecords.js#StepRecord',
    ActivationTransition: '../store/activationRecords.js#TransitionRecord',
    IntegrationException: '../store/activationRecords.js#ExceptionRecord',
    BillingException: '../posting/postingStore.js#BillingExceptionRecord',
    DeliveryLine: '../posting/postingStore.js#LineRecord',
    InvoiceRun: '../invoicing/invoicingStore.js#InvoiceRunRecord',
    DeadLetter: '../store/deadLetters.js#DeadLetterView',
    EventDeadLetter: '../store/eventDeadLetterAudit.js#EventDeadLetterView',
    Invoice: `${PLATFORM}#EntityReference`,
    Opportunity: `${PLATFORM}#EntityReference`,
    Project: `${PLATFORM}#EntityReference`,
  },
};
