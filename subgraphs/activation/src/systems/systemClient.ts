/**
 * How the activation service calls the system subgraphs: GraphQL over HTTP to their own endpoints (never their
 * stores), with a deadline on every call, an `idempotency-key` header naming the business key of the write, and
 * every failure classified as transient (retry with backoff) or permanent (compensate). The fault seam sits
 * here, around the real exchange.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { PRINCIPAL_HEADER } from '../../../platform/src/security/principalTokens.js';
import { SpanKind, injectTraceContext, tracingOn, withSpan } from '../../../platform/src/telemetry/index.js';
import type { CallSite, FaultInjector } from './faults.js';

/** Codes that say "this request can never succeed as it is": retrying would only repeat the refusal. */
const PERMANENT_CODES: ReadonlySet<string> = new Set([
  ErrorCode.BAD_USER_INPUT,
  ErrorCode.INVALID_ID,
  ErrorCode.NOT_FOUND,
  ErrorCode.CONFLICT,
  ErrorCode.INVALID_STATE_TRANSITION,
  ErrorCode.INVALID_DATE_RANGE,
  ErrorCode.GRAPHQL_PARSE_FAILED,
  ErrorCode.GRAPHQL_VALIDATION_FAILED,
  ErrorCode.IDEMPOTENCY_KEY_REUSED,
]);

/** A failed call to a system, and whether trying again may help. */
export class SystemCallError extends Error {
  override name = 'SystemCallError';
  readonly system: CallSite['system'];
  readonly transient: boolean;
  readonly code: string;

  constructor(options: { system: CallSite['system']; transient: boolean; code: string; message: string }) {
    super(options.message);
    this.system = options.system;
    this.transient = options.transient;
    this.code = options.code;
  }
}

export interface SystemClientOptions {
  /** GraphQL endpoint of each system subgraph. */
  readonly urls: Readonly<Record<CallSite['system'], string>>;
  /** Deadline of one call. @default 5000 */
  readonly timeoutMs?: number;
  /** The fault seam; null in production. */
  readonly faults?: FaultInjector | null;
  /** Told when an injected hang begins (a crash test waits for it, then kills the process). */
  readonly onHang?: (call: CallSite) => void;
  /**
   * The process layer's own principal token (`psgraph-principal`), signed with its key: the system subgraphs let
   * only this identity make the saga's writes. None without a signing key (development).
   */
  readonly principal?: () => Promise<string>;
}

export interface SystemRequest {
  readonly site: CallSite;
  readonly query: string;
  readonly variables?: Record<string, unknown>;
  /** Business key of a write, e.g. `006…:ERP_PROJECT`; sent as the `idempotency-key` header. */
  readonly idempotencyKey?: string;
}

export class SystemClient {
  private readonly timeoutMs: number;

  constructor(private readonly options: SystemClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  async request<T>(request: SystemRequest): Promise<T> {
    const { site } = request;
    const fault = this.options.faults?.(site) ?? null;
    if (fault === 'unavailable')
      throw new SystemCallError({
        system: site.system,
        transient: true,
        code: ErrorCode.SUBGRAPH_UNAVAILABLE,
        message: `${site.system} answered HTTP 503 (injected)`,
      });
    if (fault === 'timeout-before') throw this.timeoutError(site, true);
    if (fault === 'permanent') {
      throw new SystemCallError({
        system: site.system,
        transient: false,
        code: ErrorCode.INVALID_STATE_TRANSITION,
        message: `${site.system} refused ${site.operationName} (injected permanent failure)`,
      });
    }
    const data = await (tracingOn()
      ? withSpan(
          'subgraph_request',
          { 'subgraph.name': site.system, 'subgraph.graphql.operation.name': site.operationName, 'http.request.method': 'POST' },
          () => this.exchange<T>(request),
          { kind: SpanKind.CLIENT },
        )
      : this.exchange<T>(request));
    if (fault === 'timeout-after') throw this.timeoutError(site, true);
    if (fault === 'hang') {
      this.options.onHang?.(site);
      await new Promise<never>(() => {});
    }
    return data;
  }

  private timeoutError(site: CallSite, injected: boolean): SystemCallError {
    return new SystemCallError({
      system: site.system,
      transient: true,
      code: ErrorCode.SUBGRAPH_TIMEOUT,
      message: `${site.system} did not answer ${site.operationName} within ${this.timeoutMs} ms${injected ? ' (injected)' : ''}`,
    });
  }

  private async exchange<T>({ site, query, variables, idempotencyKey }: SystemRequest): Promise<T> {
    let response: Response;
    const principal = this.options.principal ? await this.options.principal() : undefined;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      ...(principal ? { [PRINCIPAL_HEADER]: principal } : {}),
    };
    // The system's server span becomes a child of this call's span: the saga step and its write are one trace.
    injectTraceContext(headers);
    try {
      response = await fetch(this.options.urls[site.system], {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables: variables ?? {}, operationName: site.operationName }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') throw this.timeoutError(site, false);
      throw new SystemCallError({
        system: site.system,
        transient: true,
        code: ErrorCode.SUBGRAPH_UNAVAILABLE,
        message: `${site.system} could not be reached: ${(error as Error).message}`,
      });
    }
    let body: { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw new SystemCallError({
        system: site.system,
        transient: response.status >= 500 || response.status === 429,
        code: ErrorCode.SUBGRAPH_UNAVAILABLE,
        message: `${site.system} answered HTTP ${response.status} without a GraphQL body`,
      });
    }
    if (body.errors && body.errors.length > 0) {
      const first = body.errors[0]!;
      const code = first.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR;
      throw new SystemCallError({
        system: site.system,
        transient: !PERMANENT_CODES.has(code),
        code,
        message: `${site.system} ${site.operationName}: ${first.message}`,
      });
    }
    if (!response.ok || body.data === undefined) {
      throw new SystemCallError({
        system: site.system,
        transient: response.status >= 500 || response.status === 429,
        code: ErrorCode.SUBGRAPH_UNAVAILABLE,
        message: `${site.system} answered HTTP ${response.status}`,
      });
    }
    return body.data;
  }
}
