/**
 * GraphQL request metrics, for the gateway and every subgraph alike: a duration histogram by operation name and
 * outcome, and errors by code, recorded by one Apollo Server plugin. Label values are bounded so that a client
 * sending made-up operation names cannot grow the scrape without limit.
 */
import type { ApolloServerPlugin, BaseContext, GraphQLRequestContextWillSendResponse } from '@apollo/server';
import { Kind } from 'graphql';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import type { MetricLabels, Metrics } from './metrics.js';

/** Operation label of a request that names no operation. */
export const ANONYMOUS_OPERATION = '__anonymous__';
/** Operation label of every name beyond the bounded set. */
export const OTHER_OPERATION = '__other__';
/** Operation label of a request refused before its body was read (identity, rate limits, audience). */
export const UNREAD_OPERATION = '__unread__';
/** Error code label of an error with a code outside the known list. */
export const OTHER_ERROR_CODE = '__other__';
/** Error code label of an error without `extensions.code`. */
export const NO_ERROR_CODE = '__none__';

/** How a request ended: answered without errors, executed with errors, or refused before execution. */
export type RequestOutcome = 'success' | 'error' | 'refused';

/** Codes psgraph and Apollo Server put on errors; any other code is counted as `__other__`. */
const KNOWN_ERROR_CODES: ReadonlySet<string> = new Set([
  ...Object.values(ErrorCode),
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'DOWNSTREAM_SERVICE_ERROR',
]);

/** The `code` label for an error code: itself if known, else grouped. */
export function errorCodeLabel(code: unknown): string {
  if (code === undefined || code === null) return NO_ERROR_CODE;
  return typeof code === 'string' && KNOWN_ERROR_CODES.has(code) ? code : OTHER_ERROR_CODE;
}

export interface OperationNamesOptions {
  /** Names always kept as they are (the trusted-documents manifests' operations). */
  readonly known?: Iterable<string>;
  /** Further distinct names kept as they are, first come first kept; later ones are `__other__`. @default 200 */
  readonly maxSeen?: number;
}

/** Bounds the `operation` label: known names, then the first `maxSeen` distinct names, then `__other__`. */
export class OperationNames {
  private readonly known: Set<string>;
  private readonly seen = new Set<string>();
  private readonly maxSeen: number;

  constructor(options: OperationNamesOptions = {}) {
    this.known = new Set(options.known ?? []);
    this.maxSeen = options.maxSeen ?? 200;
  }

  /** Adds names that are always kept (a manifest loaded later, another endpoint's). */
  addKnown(names: Iterable<string>): void {
    for (const name of names) this.known.add(name);
  }

  label(name: string | null | undefined): string {
    if (!name) return ANONYMOUS_OPERATION;
    if (this.known.has(name) || this.seen.has(name)) return name;
    if (this.seen.size >= this.maxSeen) return OTHER_OPERATION;
    this.seen.add(name);
    return name;
  }
}

/** The request duration histogram and error counter of one service, declared on its `Metrics`. */
export interface RequestMetrics {
  readonly operationNames: OperationNames;
  /** Records one request (duration in seconds). */
  observe(operation: string, outcome: RequestOutcome, seconds: number): void;
  /** Counts an error by its code. */
  countError(code: unknown): void;
}

export interface RequestMetricsOptions {
  /** The histogram's name, e.g. `psgraph_gateway_request_duration_seconds`. */
  readonly durationName: string;
  readonly durationHelp: string;
  readonly operationNames?: OperationNames;
}

/** Declares the request histogram and `psgraph_graphql_errors_total` on `metrics`. */
export function createRequestMetrics(metrics: Metrics, options: RequestMetricsOptions): RequestMetrics {
  const duration = metrics.histogram(options.durationName, options.durationHelp, ['operation', 'outcome']);
  const errors = metrics.counter('psgraph_graphql_errors_total', 'GraphQL errors answered to clients, by extensions.code.', ['code']);
  return {
    operationNames: options.operationNames ?? new OperationNames(),
    observe: (operation, outcome, seconds) => duration({ operation, outcome } satisfies MetricLabels, seconds),
    countError: (code) => errors({ code: errorCodeLabel(code) }),
  };
}

/**
 * Times each GraphQL request from the start of Apollo Server's processing to its response, and counts its errors.
 * A request with errors that never reached execution (parse, validation, cost, trusted documents) was refused.
 */
export function requestMetricsPlugin<TContext extends BaseContext>(requestMetrics: RequestMetrics): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      const startedAt = performance.now();
      let executed = false;
      return {
        async executionDidStart() {
          executed = true;
        },
        async willSendResponse(requestContext: GraphQLRequestContextWillSendResponse<TContext>) {
          const body = requestContext.response.body;
          const errors = body.kind === 'single' ? body.singleResult.errors : body.initialResult.errors;
          for (const error of errors ?? []) requestMetrics.countError(error.extensions?.['code']);
          const outcome: RequestOutcome = !errors || errors.length === 0 ? 'success' : executed ? 'error' : 'refused';
          requestMetrics.observe(requestMetrics.operationNames.label(operationName(requestContext)), outcome, (performance.now() - startedAt) / 1000);
        },
      };
    },
  };
}

/**
 * The request's operation name: as resolved, else as the request states it, else — for a document refused before
 * its operation was resolved (validation) — the name of its only operation.
 */
function operationName(requestContext: GraphQLRequestContextWillSendResponse<BaseContext>): string | null | undefined {
  if (requestContext.operation) return requestContext.operationName;
  if (requestContext.request.operationName) return requestContext.request.operationName;
  const operations = requestContext.document?.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION) ?? [];
  return operations.length === 1 && operations[0]!.kind === Kind.OPERATION_DEFINITION ? operations[0]!.name?.value : undefined;
}
