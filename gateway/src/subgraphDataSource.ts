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

export interface SubgraphDataSourceOptions {
  readonly name: string;
  readonly url: string;
  /** Deadline of one fetch, from sending the request to the end of the response body. */
  readonly timeoutMs: number;
  /** The pooled HTTP client shared by all subgraphs (one pool per origin inside). */
  readonly agent: Agent;
  /** Incoming request headers passed on to the subgraph (lower case). */
  readonly forwardHeaders: readonly string[];
  /** Called once per fetch, with its outcome, for metrics. */
  readonly onFetch?: (name: string, outcome: 'ok' | ErrorCode) => void;
}

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

  async process(processOptions: GraphQLDataSourceProcessOptions): Promise<GatewayGraphQLResponse> {
    const { request } = processOptions;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (processOptions.kind === 'incoming operation') {
      const incoming = processOptions.incomingRequestContext.request.http?.headers;
      if (incoming) {
        for (const name of this.options.forwardHeaders) {
          const value = incoming.get(name);
          if (value != null) headers[name] = value;
        }
      }
    }
    const body = JSON.stringify({ query: request.query, variables: request.variables, operationName: request.operationName });
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(), this.options.timeoutMs);
    try {
      const response = await this.options.agent.request({ origin: this.origin, path: this.path, method: 'POST', headers, body, signal: abort.signal });
      const text = await response.body.text();
      if (response.statusCode !== 200 && !(response.headers['content-type'] ?? '').toString().includes('json')) {
        return this.failure(ErrorCode.SUBGRAPH_UNAVAILABLE, `Subgraph "${this.options.name}" answered HTTP ${response.statusCode}.`, { status: response.statusCode });
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return this.failure(ErrorCode.SUBGRAPH_UNAVAILABLE, `Subgraph "${this.options.name}" answered HTTP ${response.statusCode} with a body that is not JSON.`, {
          status: response.statusCode,
        });
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        return this.failure(ErrorCode.SUBGRAPH_UNAVAILABLE, `Subgraph "${this.options.name}" answered with a JSON value that is not a GraphQL response.`);
      }
      this.options.onFetch?.(this.options.name, 'ok');
      return parsed as GatewayGraphQLResponse;
    } catch (error) {
      if (abort.signal.aborted) {
        return this.failure(ErrorCode.SUBGRAPH_TIMEOUT, `Subgraph "${this.options.name}" did not answer within ${this.options.timeoutMs} ms.`, {
          timeoutMs: this.options.timeoutMs,
        });
      }
      const reason = error instanceof undiciErrors.UndiciError || error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
      return this.failure(ErrorCode.SUBGRAPH_UNAVAILABLE, `Subgraph "${this.options.name}" could not be reached (${reason}).`);
    } finally {
      clearTimeout(deadline);
    }
  }

  private failure(code: ErrorCode, message: string, details: Record<string, unknown> = {}): GatewayGraphQLResponse {
    this.options.onFetch?.(this.options.name, code);
    return { errors: [{ message, extensions: { code, ...details } }] } as unknown as GatewayGraphQLResponse;
  }
}
