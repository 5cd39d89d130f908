/**
 * How the gateway talks to a subgraph. @apollo/gateway's default RemoteGraphQLDataSource fetches through
 * make-fetch-happen with no timeout and unlimited sockets, and a transport failure surfaces as a bare error with
 * no subgraph name. This data source instead uses a pooled keep-alive undici client, bounds every fetch with a
 * deadline, never retries (a retried mutation could act twice), and turns every failure into a GraphQL error
 * with a stable code that the gateway then tags with `serviceName`.
 */
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { Agent, errors as undiciErrors } from 'undici';
import { ErrorCode } from '../../contracts/errorCodes.js';
import { type Span, SpanKind, SpanStatusCode, injectTraceContext, tracingOn, withSpan } from '../../subgraphs/platform/src/telemetry/index.js';
import { PRINCIPAL_HEADER } from './guards/principalForwarding.js';
import type { InflightRequests } from './inflightDeduplication.js';
import { type GraphQLResponseBody, type OperationRequest, isEntityFetch, isMergeable, mergeOperations, splitResponse } from './operationMerging.js';

export interface SubgraphDataSourceOptions {
  readonly name: string;
  readonly url: string;
  /** Deadline of one fetch, from sending the request to the end of the response body. */
  readonly timeoutMs: number;
  /** The pooled HTTP client shared by all subgraphs (one pool per origin inside). */
  readonly agent: Agent;
  /** Incoming request headers passed on to the subgraph (lower case). */
  readonly forwardHeaders: readonly string[];
  /** The `psgraph-principal` header for a client request (by its context): who the subgraph serves. */
  readonly principal?: (context: unknown) => Promise<string | undefined>;
  /**
   * Merge the query operations issued to this subgraph in the same tick (one plan level) into one HTTP request.
   * Mutations are never merged: their order matters.
   * @default true
   */
  readonly mergeOperations?: boolean;
  /**
   * While this subgraph already has requests in flight from this gateway, a new batch waits this long (instead of
   * one event-loop turn) for more operations to join it: a busy subgraph would queue the request anyway, and one
   * larger request costs it less than several small ones. An idle subgraph is never waited for. 0: one turn always.
   * @default 0
   */
  readonly busyBatchWindowMs?: number;
  /** Called once per HTTP request sent, with its outcome, how many operations it carried and its duration in seconds, for metrics. */
  readonly onFetch?: (name: string, outcome: 'ok' | ErrorCode, operations: number, seconds: number) => void;
  /**
   * Queries in flight, shared by every subgraph's data source: a query identical to one in flight (same
   * operation, variables and forwarded headers) joins it; a mutation closes them all when sent and when done.
   * Without it, only identical queries in the same batch are sent once.
   */
  readonly inflight?: InflightRequests;
}

interface PendingBatch {
  readonly headers: Record<string, string>;
  readonly members: Array<{ request: OperationRequest; key: string | undefined; resolve: (response: GatewayGraphQLResponse) => void }>;
  /** The client requests (their context objects) whose operations the batch carries. */
  readonly clientRequests: Set<object>;
  /** Work carried, in entities: each entity fetch weighs its representations, each root field ROOT_FIELD_WEIGHT. */
  weight: number;
}

/**
 * Merging concurrent client requests' fetches saves subgraph round trips, but every caller in a batch waits for
 * all of it, in lockstep: past this much work (in entities) a batch takes no further client request (the
 * operations of a request it already carries always join it, so each request still sends one HTTP request per
 * subgraph per plan level).
 */
const BATCH_WEIGHT_LIMIT = 200;
/** A root field (a page, a report) weighs as much as this many entities. */
const ROOT_FIELD_WEIGHT = 50;

/** Headers forwarded by default: the caller's identity and the request's trace context. */
export const DEFAULT_FORWARD_HEADERS = ['authorization', 'x-request-id', 'traceparent'] as const;

export function createSubgraphAgent(connectionsPerOrigin: number): Agent {
  return new Agent({
    connections: connectionsPerOrigin,
    // Shorter than the subgraphs' server-side keep-alive (65 s), so the gateway closes idle sockets first.
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
  });
}

/**
 * A deep copy of a subgraph response, for each further caller sharing it: the query plan executor merges fetched
 * objects into its result tree and goes on writing into them, so two executions must never hold the same object.
 */
function copyResponse(response: GatewayGraphQLResponse): GatewayGraphQLResponse {
  return copyJson(response) as GatewayGraphQLResponse;
}

function copyJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyJson);
  const copy: Record<string, unknown> = {};
  for (const key in value) copy[key] = copyJson((value as Record<string, unknown>)[key]);
  return copy;
}

export class SubgraphDataSource implements GraphQLDataSource {
  private readonly origin: string;
  private readonly path: string;

  constructor(private readonly options: SubgraphDataSourceOptions) {
    const url = new URL(options.url);
    this.origin = url.origin;
    this.path = `${url.pathname}${url.search}`;
  }

  get url(): string {
    return this.options.url;
  }

  /** Batches filling in this tick, by forwarded headers. */
  private readonly pending = new Map<string, PendingBatch[]>();
  /** HTTP requests to this subgraph awaiting their answer. */
  private requestsInFlight = 0;

  async process(processOptions: GraphQLDataSourceProcessOptions): Promise<GatewayGraphQLResponse> {
    const { request } = processOptions;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (processOptions.kind === 'incoming operation') {
      const incoming = processOptions.incomingRequestContext.request.http?.headers;
      if (incoming) {
        // Traced, the gateway's own span is the subgraph's parent (injected when sent), not the client's.
        const traced = tracingOn();
        for (const name of this.options.forwardHeaders) {
          if (traced && (name === 'traceparent' || name === 'tracestate')) continue;
          const value = incoming.get(name);
          if (value != null) headers[name] = value;
        }
      }
      if (this.options.principal) {
        const principal = await this.options.principal(processOptions.context);
        // Part of the headers, so of every sharing key: requests of different principals never share an answer.
        if (principal) headers[PRINCIPAL_HEADER] = principal;
      }
    }
    const operation: OperationRequest = { query: request.query!, variables: request.variables, operationName: request.operationName };
    const inflight = this.options.inflight;
    if (!isMergeable(operation)) {
      // A mutation (or anything not a plain query): queries in flight may have read what it changes.
      if (!inflight) return this.send(operation, headers, 1);
      inflight.closeAll();
      try {
        return await this.send(operation, headers, 1);
      } finally {
        inflight.closeAll();
      }
    }
    const key = JSON.stringify(headers);
    if (inflight) {
      const operationKey = `${this.options.name}\u0000${key}\u0000${operation.operationName ?? ''}\u0000${operation.query}\u0000${JSON.stringify(operation.variables ?? {})}`;
      const joined = inflight.join<GatewayGraphQLResponse>(operationKey);
      if (joined) return joined.then(copyResponse);
      return inflight.lead(operationKey, this.batchOrSend(processOptions, operation, headers, key, operationKey), copyResponse);
    }
    return this.batchOrSend(processOptions, operation, headers, key, undefined);
  }

  private batchOrSend(
    processOptions: GraphQLDataSourceProcessOptions,
    operation: OperationRequest,
    headers: Record<string, string>,
    headersKey: string,
    operationKey: string | undefined,
  ): Promise<GatewayGraphQLResponse> {
    if (this.options.mergeOperations === false || processOptions.kind !== 'incoming operation') return this.send(operation, headers, 1);
    // Fetches with the same forwarded headers (the same caller) issued in this tick travel together: all those of
    // one client request, and those of concurrent client requests up to a bounded amount of work.
    const clientRequest: object = processOptions.context ?? processOptions.incomingRequestContext;
    const representations = operation.variables?.['representations'];
    const weight = isEntityFetch(operation) ? Math.max(1, Array.isArray(representations) ? representations.length : 1) : ROOT_FIELD_WEIGHT;
    const open = this.pending.get(headersKey) ?? [];
    let batch = open.find((candidate) => candidate.clientRequests.has(clientRequest));
    if (!batch && open.length > 0 && open[open.length - 1]!.weight < BATCH_WEIGHT_LIMIT) batch = open[open.length - 1];
    if (!batch) {
      const created: PendingBatch = { headers, members: [], clientRequests: new Set(), weight: 0 };
      batch = created;
      if (open.length === 0) this.pending.set(headersKey, open);
      open.push(created);
      const flush = () => {
        open.splice(open.indexOf(created), 1);
        if (open.length === 0 && this.pending.get(headersKey) === open) this.pending.delete(headersKey);
        void this.flush(created);
      };
      const window = this.options.busyBatchWindowMs ?? 0;
      if (window > 0 && this.requestsInFlight > 0) setTimeout(flush, window);
      else setImmediate(flush);
    }
    batch.clientRequests.add(clientRequest);
    batch.weight += weight;
    const members = batch.members;
    return new Promise((resolve) => members.push({ request: operation, key: operationKey, resolve }));
  }

  private async flush(batch: PendingBatch): Promise<void> {
    // Identical operations in one batch (same query and variables, and the batch shares its headers) are sent
    // once and answered alike: per-event hydration for many subscribers, or many clients asking for the same
    // page at once, then cost one subgraph operation instead of one each.
    const unique = new Map<string, Array<PendingBatch['members'][number]>>();
    for (const member of batch.members) {
      const key = member.key ?? `${member.request.operationName ?? ''}\u0000${member.request.query}\u0000${JSON.stringify(member.request.variables ?? {})}`;
      const same = unique.get(key);
      if (same) same.push(member);
      else unique.set(key, [member]);
    }
    const groups = [...unique.values()];
    if (groups.length === 1) {
      const response = await this.send(groups[0]![0]!.request, batch.headers, 1);
      groups[0]!.forEach((member, i) => member.resolve(i === 0 ? response : copyResponse(response)));
      return;
    }
    const merged = mergeOperations(groups.map((group) => group[0]!.request));
    const response = (await this.send(merged, batch.headers, groups.length)) as GraphQLResponseBody;
    const parts =
      response.data === undefined && response.errors
        ? groups.map((_, i) => (i === 0 ? response : copyResponse(response as GatewayGraphQLResponse)))
        : splitResponse(response, groups.length);
    groups.forEach((group, i) => {
      group.forEach((member, j) => member.resolve((j === 0 ? parts[i] : copyResponse(parts[i] as GatewayGraphQLResponse)) as GatewayGraphQLResponse));
    });
  }

  private send(operation: OperationRequest, headers: Record<string, string>, operations: number): Promise<GatewayGraphQLResponse> {
    if (!tracingOn()) return this.sendOverHttp(operation, headers, operations, undefined);
    // One span per HTTP request; a batch's request is a child of the fetch that opened the batch.
    return withSpan(
      'subgraph_request',
      {
        'subgraph.name': this.options.name,
        'http.request.method': 'POST',
        'url.full': this.options.url,
        'psgraph.subgraph.operations': operations,
        ...(operation.operationName ? { 'subgraph.graphql.operation.name': operation.operationName } : {}),
      },
      async (span) => {
        const traced = { ...headers };
        injectTraceContext(traced);
        const response = await this.sendOverHttp(operation, traced, operations, span);
        // A subgraph that timed out or could not be reached is the request's failure; GraphQL errors it answered are not.
        const code = response.errors?.[0]?.extensions?.['code'];
        if (code === ErrorCode.SUBGRAPH_TIMEOUT || code === ErrorCode.SUBGRAPH_UNAVAILABLE) span.setStatus({ code: SpanStatusCode.ERROR, message: code });
        return response;
      },
      { kind: SpanKind.CLIENT },
    );
  }

  private async sendOverHttp(
    operation: OperationRequest,
    headers: Record<string, string>,
    operations: number,
    span: Span | undefined,
  ): Promise<GatewayGraphQLResponse> {
    const body = JSON.stringify({ query: operation.query, variables: operation.variables, operationName: operation.operationName });
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(), this.options.timeoutMs);
    const startedAt = performance.now();
    this.requestsInFlight++;
    try {
      const response = await this.options.agent.request({ origin: this.origin, path: this.path, method: 'POST', headers, body, signal: abort.signal });
      span?.setAttribute('http.response.status_code', response.statusCode);
      const text = await response.body.text();
      if (response.statusCode !== 200 && !(response.headers['content-type'] ?? '').toString().includes('json')) {
        return this.failure(operations, startedAt, ErrorCode.SUBGRAPH_UNAVAILABLE, `Subgraph "${this.options.name}" answered HTTP ${response.statusCode}.`, {
          status: response.statusCode,
        });
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return this.failure(
          operations,
          startedAt,
          ErrorCode.SUBGRAPH_UNAVAILABLE,
          `Subgraph "${this.options.name}" answered HTTP ${response.statusCode} with a body that is not JSON.`,
          {
            status: response.statusCode,
          },
        );
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        return this.failure(
          operations,
          startedAt,
          ErrorCode.SUBGRAPH_UNAVAILABLE,
          `Subgraph "${this.options.name}" answered with a JSON value that is not a GraphQL response.`,
        );
      }
      this.options.onFetch?.(this.options.name, 'ok', operations, (performance.now() - startedAt) / 1000);
      return parsed as GatewayGraphQLResponse;
    } catch (error) {
      if (abort.signal.aborted) {
        return this.failure(
          operations,
          startedAt,
          ErrorCode.SUBGRAPH_TIMEOUT,
          `Subgraph "${this.options.name}" did not answer within ${this.options.timeoutMs} ms.`,
          {
            timeoutMs: this.options.timeoutMs,
          },
        );
      }
      const reason =
        error instanceof undiciErrors.UndiciError || error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
      return this.failure(operations, startedAt, ErrorCode.SUBGRAPH_UNAVAILABLE, `Subgraph "${this.options.name}" could not be reached (${reason}).`);
    } finally {
      this.requestsInFlight--;
      clearTimeout(deadline);
    }
  }

  private failure(operations: number, startedAt: number, code: ErrorCode, message: string, details: Record<string, unknown> = {}): GatewayGraphQLResponse {
    this.options.onFetch?.(this.options.name, code, operations, (performance.now() - startedAt) / 1000);
    return { errors: [{ message, extensions: { code, ...details } }] } as unknown as GatewayGraphQLResponse;
  }
}
