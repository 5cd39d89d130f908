/**
 * The gateway's options, read from the environment and validated at start-up: a wrong setting stops the
 * gateway with a message naming the variable and what would be valid.
 */
import { fileURLToPath } from 'node:url';
import { AUDIENCES_DIR, type AudienceDefinition, readAudiences } from '../../contracts/audiences.js';
import { ConfigError, readChoice, readNumber, readPort } from '../../subgraphs/platform/src/config.js';
import { type DemandControlOptions, loadDemandControlOptions } from './guards/demandControl.js';
import { type AuthorizationOptions, loadAuthorizationOptions } from './guards/fieldAuthorization.js';
import { type IdentityOptions, loadIdentityOptions } from './guards/identity.js';
import { type RateLimitOptions, loadRateLimitOptions } from './guards/rateLimits.js';
import { TRUSTED_DOCUMENT_MODES, type TrustedDocumentMode } from './guards/trustedDocuments.js';
import { DEFAULT_FORWARD_HEADERS } from './subgraphDataSource.js';

export interface GatewayConfig {
  /** The interface the gateway listens on. @default 127.0.0.1 (PSGRAPH_HOST) */
  readonly host: string;
  /** The gateway's port (HTTP and WebSocket). @default 4000 (PSGRAPH_GATEWAY_PORT) */
  readonly port: number;
  /** The composed supergraph, watched for changes. @default supergraph/supergraph.graphql (PSGRAPH_SUPERGRAPH_PATH) */
  readonly supergraphPath: string;
  /** Where the gateway reaches each subgraph, e.g. PSGRAPH_CRM_URL; `npm start` sets them from the ports. @default the supergraph's routing URLs (PSGRAPH_<NAME>_URL) */
  readonly subgraphUrls: Readonly<Record<string, string>>;
  /** A subgraph fetch that takes longer is abandoned with SUBGRAPH_TIMEOUT. @default 10000 (PSGRAPH_SUBGRAPH_TIMEOUT_MS) */
  readonly subgraphTimeoutMs: number;
  /** Pooled keep-alive connections per subgraph. @default 64 (PSGRAPH_SUBGRAPH_CONNECTIONS) */
  readonly subgraphConnections: number;
  /** Merge the fetches a plan level sends to one subgraph into one HTTP request. @default true (PSGRAPH_MERGE_SUBGRAPH_OPERATIONS) */
  readonly mergeSubgraphOperations: boolean;
  /**
   * While a subgraph has requests in flight, how long a new batch of fetches to it waits for more to join (0: one
   * event-loop turn). An idle subgraph is never waited for. @default 2 (PSGRAPH_BUSY_BATCH_WINDOW_MS)
   */
  readonly busyBatchWindowMs: number;
  /**
   * Identical queries in flight (same operation, variables and forwarded headers) are answered once, for client
   * requests and for subgraph requests; mutations and subscription events close what is in flight to newcomers.
   * Off: only identical fetches of one batch are sent once. @default true (PSGRAPH_DEDUPLICATE_INFLIGHT)
   */
  readonly deduplicateInflight: boolean;
  /**
   * Request headers passed on to subgraphs (lower case; `none` for none). Identical requests are shared only
   * between requests that agree on these headers (and, for client requests, on `authorization` always).
   * @default authorization, x-request-id, traceparent (PSGRAPH_FORWARD_HEADERS, comma-separated)
   */
  readonly forwardHeaders: readonly string[];
  /** Largest request body, in bytes (413 above). @default 1048576 (PSGRAPH_MAX_BODY_BYTES) */
  readonly maxBodyBytes: number;
  /** Deepest selection nesting allowed. @default 15 (PSGRAPH_MAX_DEPTH) */
  readonly maxDepth: number;
  /** Most aliases allowed in one document. @default 30 (PSGRAPH_MAX_ALIASES) */
  readonly maxAliases: number;
  /** Most lexical tokens allowed in one document: a bound on parsing work before any other check. @default 5000 (PSGRAPH_MAX_TOKENS) */
  readonly maxTokens: number;
  /** The cost every operation is estimated at before planning, and the maximum it may have (see the demand-control settings). */
  readonly demandControl: DemandControlOptions;
  /** How many requests each principal may make (see the rate-limit settings). */
  readonly rateLimits: RateLimitOptions;
  /**
   * The audiences served beside `/graphql`, each at its own path with its own filtered schema (defined in
   * `contracts/audiences/`, built by `npm run compose`); `none` for none. @default every defined audience (PSGRAPH_AUDIENCES, comma-separated)
   */
  readonly audiences: readonly AudienceEndpoint[];
  /**
   * Whether client users (principals limited to CRM accounts) may use `/graphql`; else they are refused (403) and
   * use the portal audience, whose documents are trusted ones. @default false (PSGRAPH_GRAPHQL_CLIENT_USERS)
   */
  readonly clientUsersOnGraphql: boolean;
  /** Which documents may run on `/graphql`: `off`, `log_unknown`, `safelist` or `require_id`. @default off (PSGRAPH_TRUSTED_DOCUMENTS) */
  readonly trustedDocuments: TrustedDocumentMode;
  /** Manifests of trusted documents in Apollo's format, comma-separated paths. @default none (PSGRAPH_TRUSTED_DOCUMENTS_MANIFESTS) */
  readonly trustedDocumentManifests: readonly string[];
  /** Masks unexpected errors and hides stack traces when NODE_ENV is production, as every service does. */
  readonly production: boolean;
  /** Schema introspection (and so the IDE's docs). @default true, false in production (PSGRAPH_INTROSPECTION) */
  readonly introspection: boolean;
  /** How long SIGTERM waits for requests in flight. @default 10000 (PSGRAPH_DRAIN_TIMEOUT_MS) */
  readonly drainTimeoutMs: number;
  /**
   * Who may call, and as whom: JWTs verified against a key set, or shared development tokens (see the identity
   * settings). Without either, every request is a developer with every right.
   */
  readonly identity: IdentityOptions;
  /** What a caller may see, by the access directives of the subgraph schemas (see the authorization settings). */
  readonly authorization: AuthorizationOptions;
  /** Events a subscriber may fall behind by before the oldest are dropped. @default 128 (PSGRAPH_SUBSCRIPTION_QUEUE) */
  readonly subscriptionQueueCapacity: number;
  /**
   * Distinct operation names, beyond those of the trusted-documents manifests, that label the request metrics;
   * later names are counted as `__other__`, so made-up names cannot grow /metrics. @default 200 (PSGRAPH_METRICS_OPERATION_NAMES)
   */
  readonly metricsOperationNames: number;
  /** Share identical upstream subscriptions (same subgraph operation, variables and authorization). @default true (PSGRAPH_DEDUPLICATE_SUBSCRIPTIONS) */
  readonly deduplicateSubscriptions: boolean;
  /** Largest WebSocket frame accepted (1009 above). @default 65536 (PSGRAPH_WS_MAX_PAYLOAD_BYTES) */
  readonly wsMaxPayloadBytes: number;
  /** WebSocket keep-alive ping interval. @default 12000 (PSGRAPH_WS_KEEPALIVE_MS) */
  readonly wsKeepAliveMs: number;
  /** Time a WebSocket client has to send connection_init (4408 after). @default 3000 (PSGRAPH_WS_INIT_TIMEOUT_MS) */
  readonly wsConnectionInitTimeoutMs: number;
  /**
   * Who executes query plans: `psgraph` (plans, operations and result shapes prepared once per distinct
   * operation), or `apollo`, the executor of `@apollo/gateway`. Responses are identical. @default psgraph (PSGRAPH_EXECUTOR)
   */
  readonly executor: 'psgraph' | 'apollo';
}

export const DEFAULT_SUPERGRAPH_PATH = fileURLToPath(new URL('../../supergraph/supergraph.graphql', import.meta.url));
const AUDIENCE_SUPERGRAPHS = new URL('../../supergraph/audiences/', import.meta.url);

/** An audience as the gateway serves it: its definition and its supergraph file. */
export interface AudienceEndpoint extends AudienceDefinition {
  readonly supergraphPath: string;
}

function loadAudiences(env: NodeJS.ProcessEnv): AudienceEndpoint[] {
  const defined = readAudiences(fileURLToPath(AUDIENCES_DIR));
  const raw = env['PSGRAPH_AUDIENCES'];
  const wanted = raw === undefined || raw === '' ? defined.map((audience) => audience.name) : raw === 'none' ? [] : raw.split(',').map((name) => name.trim());
  const unknown = wanted.filter((name) => !defined.some((audience) => audience.name === name));
  if (unknown.length > 0) {
    throw new ConfigError(
      `PSGRAPH_AUDIENCES names ${unknown.join(', ')}, which contracts/audiences/ does not define (it has ${defined.map((a) => a.name).join(', ') || 'none'}).`,
    );
  }
  return defined
    .filter((audience) => wanted.includes(audience.name))
    .map((audience) => ({ ...audience, supergraphPath: fileURLToPath(new URL(`${audience.name}.graphql`, AUDIENCE_SUPERGRAPHS)) }));
}

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const production = env['NODE_ENV'] === 'production';
  const subgraphUrls: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const match = /^PSGRAPH_([A-Z0-9]+)_URL$/.exec(key);
    if (!match || !value || match[1] === 'GATEWAY') continue;
    try {
      const url = new URL(value);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
    } catch {
      throw new ConfigError(`${key}=${value} is not an http(s) URL: expected e.g. http://127.0.0.1:4001/graphql.`);
    }
    subgraphUrls[match[1]!.toLowerCase()] = value;
  }
  const introspection = readBoolean(env, 'PSGRAPH_INTROSPECTION');
  return {
    host: env['PSGRAPH_HOST'] || '127.0.0.1',
    port: readPort(env, 'PSGRAPH_GATEWAY_PORT', 4000),
    supergraphPath: env['PSGRAPH_SUPERGRAPH_PATH'] || DEFAULT_SUPERGRAPH_PATH,
    subgraphUrls,
    subgraphTimeoutMs: readNumber(env, 'PSGRAPH_SUBGRAPH_TIMEOUT_MS', 10_000, 50, 600_000),
    subgraphConnections: readNumber(env, 'PSGRAPH_SUBGRAPH_CONNECTIONS', 64, 1, 4_096),
    maxBodyBytes: readNumber(env, 'PSGRAPH_MAX_BODY_BYTES', 1_048_576, 1_024, 104_857_600),
    maxDepth: readNumber(env, 'PSGRAPH_MAX_DEPTH', 15, 2, 100),
    maxAliases: readNumber(env, 'PSGRAPH_MAX_ALIASES', 30, 0, 1_000),
    maxTokens: readNumber(env, 'PSGRAPH_MAX_TOKENS', 5_000, 100, 1_000_000),
    demandControl: loadDemandControlOptions(env),
    rateLimits: loadRateLimitOptions(env),
    audiences: loadAudiences(env),
    clientUsersOnGraphql: readBoolean(env, 'PSGRAPH_GRAPHQL_CLIENT_USERS') ?? false,
    trustedDocuments: readChoice(env, 'PSGRAPH_TRUSTED_DOCUMENTS', TRUSTED_DOCUMENT_MODES, 'off'),
    trustedDocumentManifests: (env['PSGRAPH_TRUSTED_DOCUMENTS_MANIFESTS'] ?? '')
      .split(',')
      .map((path) => path.trim())
      .filter(Boolean),
    production,
    introspection: introspection ?? !production,
    mergeSubgraphOperations: readBoolean(env, 'PSGRAPH_MERGE_SUBGRAPH_OPERATIONS') ?? true,
    busyBatchWindowMs: readNumber(env, 'PSGRAPH_BUSY_BATCH_WINDOW_MS', 2, 0, 100),
    deduplicateInflight: readBoolean(env, 'PSGRAPH_DEDUPLICATE_INFLIGHT') ?? true,
    forwardHeaders: readHeaderList(env, 'PSGRAPH_FORWARD_HEADERS') ?? DEFAULT_FORWARD_HEADERS,
    drainTimeoutMs: readNumber(env, 'PSGRAPH_DRAIN_TIMEOUT_MS', 10_000, 0, 600_000),
    identity: loadIdentityOptions(env),
    authorization: loadAuthorizationOptions(env),
    subscriptionQueueCapacity: readNumber(env, 'PSGRAPH_SUBSCRIPTION_QUEUE', 128, 1, 100_000),
    metricsOperationNames: readNumber(env, 'PSGRAPH_METRICS_OPERATION_NAMES', 200, 0, 10_000),
    deduplicateSubscriptions: readBoolean(env, 'PSGRAPH_DEDUPLICATE_SUBSCRIPTIONS') ?? true,
    wsMaxPayloadBytes: readNumber(env, 'PSGRAPH_WS_MAX_PAYLOAD_BYTES', 65_536, 1_024, 104_857_600),
    wsKeepAliveMs: readNumber(env, 'PSGRAPH_WS_KEEPALIVE_MS', 12_000, 10, 600_000),
    wsConnectionInitTimeoutMs: readNumber(env, 'PSGRAPH_WS_INIT_TIMEOUT_MS', 3_000, 10, 600_000),
    executor: readExecutor(env),
  };
}

function readHeaderList(env: NodeJS.ProcessEnv, variable: string): readonly string[] | undefined {
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'none') return [];
  const names = raw.split(',').map((name) => name.trim().toLowerCase());
  const invalid = names.find((name) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name));
  if (invalid !== undefined) throw new ConfigError(`${variable}=${raw}: "${invalid}" is not a header name; expected comma-separated names, or none.`);
  return names;
}

function readExecutor(env: NodeJS.ProcessEnv): GatewayConfig['executor'] {
  const raw = env['PSGRAPH_EXECUTOR'];
  if (raw === undefined || raw === '') return 'psgraph';
  if (raw !== 'psgraph' && raw !== 'apollo') throw new ConfigError(`PSGRAPH_EXECUTOR=${raw}: expected psgraph or apollo.`);
  return raw;
}

function readBoolean(env: NodeJS.ProcessEnv, variable: string): boolean | undefined {
  const raw = env[variable];
  if (raw === undefined || raw === '') return undefined;
  if (raw !== 'true' && raw !== 'false') throw new ConfigError(`${variable}=${raw}: expected true or false.`);
  return raw === 'true';
}
