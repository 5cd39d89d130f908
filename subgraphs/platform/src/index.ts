export { ConfigError, DEFAULT_PORTS, loadSubgraphConfig, readChoice, readNumber, readPort } from './config.js';
export type { ServiceName, SubgraphConfig, SystemName } from './config.js';
export { cutoff, loadRetentionConfig, readDuration } from './retentionConfig.js';
export type { RetentionConfig } from './retentionConfig.js';
export { addMonths, dayFromIso, firstDayOfMonth, isIsoDate, isoFromDay, lastDayOfMonth, mondayOf, monthOf, weekdayOf } from './values/dates.js';
export { inputError, invalidIdError } from './subgraph/errors.js';
export { graphqlHttpHandler, sendJson, sendJsonError } from './http/graphqlHttpHandler.js';
export type { HttpHandler } from './http/graphqlHttpHandler.js';
export { closeGracefully, createHttpServer, listen } from './http/httpServer.js';
export { canonicalProjectId, isCanonicalProjectId, isNumericId, isSalesforceId, isStripeId, salesforceId, stripeId } from './values/ids.js';
export { Metrics, parseMetrics } from './metrics.js';
export { formatMinor, money, parseMinor } from './values/money.js';
export type { Money } from './values/money.js';
export { MAX_PAGE_SIZE, connection, encodeCursor, pageRequest } from './subgraph/paging.js';
export type { Connection, PageRequest, SearchResult } from './subgraph/paging.js';
export { Prng, hashSeed } from './values/prng.js';
export { SqliteStore, columnsOf, hasColumn, jsonList } from './storage/sqliteStore.js';
export { WhereBuilder, groupBy, searchPage } from './storage/sqlQueries.js';
export { existing, listLoader, recordLoader } from './subgraph/loaders.js';
export { BoundedQueue } from './boundedQueue.js';
export type { BoundedQueueOptions } from './boundedQueue.js';
export type { CountedStatement } from './storage/sqliteStore.js';
export { createSubgraphService } from './subgraph/subgraphService.js';
export type { SubgraphService } from './subgraph/subgraphService.js';
export { dateRange, referenceKey, requireIdFormat, requireMonth } from './subgraph/validation.js';
export type { DayRange, EntityReference } from './subgraph/validation.js';
export { mergeResolverMaps } from './subgraph/resolverMaps.js';
export type { EventRelay, SystemAdapter } from './subgraph/systemAdapter.js';
export {
  DEVELOPMENT_CALLER,
  accountsInScope,
  forbidden,
  isClient,
  mayReadAccount,
  readable,
  readableLists,
  requireProcess,
  requireStaff,
} from './security/caller.js';
export type { Caller } from './security/caller.js';
export { PRINCIPAL_HEADER, PrincipalSigner, PrincipalVerifier, loadPrincipalVerificationOptions, unsignedPrincipal } from './security/principalTokens.js';
export type { PrincipalStatement, PrincipalVerificationOptions } from './security/principalTokens.js';
export { LogCode, createLogger, logLines, withLogContext } from './logging/index.js';
export type { Logger } from './logging/index.js';
