/**
 * Shapes every error the gateway returns: each carries a stable `extensions.code` (subgraph errors also keep
 * `serviceName`), and in production anything unexpected is masked as "Unexpected error." so that internals
 * (stack traces, SQL, hostnames) never reach a client.
 */
import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../../contracts/errorCodes.js';

/** Codes whose messages are written for clients and are safe to show in production. */
const CLIENT_SAFE_CODES = new Set<string>(Object.values(ErrorCode).filter((code) => code !== ErrorCode.INTERNAL_SERVER_ERROR));
CLIENT_SAFE_CODES.add('PERSISTED_QUERY_NOT_FOUND');
CLIENT_SAFE_CODES.add('PERSISTED_QUERY_NOT_SUPPORTED');
CLIENT_SAFE_CODES.add('OPERATION_RESOLUTION_FAILURE');
CLIENT_SAFE_CODES.add('BAD_REQUEST');

export function createErrorFormatter(production: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const extensions = { ...(formatted.extensions ?? {}) } as Record<string, unknown>;
    // Apollo Server re-codes every validation error GRAPHQL_VALIDATION_FAILED; keep the more precise code a
    // psgraph rule set (QUERY_TOO_COMPLEX).
    // Duck-typed: graphql-js may be loaded twice (ESM and CommonJS copies), which defeats instanceof.
    const original = (error as { originalError?: { extensions?: Record<string, unknown> } } | null)?.originalError;
    if (original?.extensions?.['code'] === ErrorCode.QUERY_TOO_COMPLEX) {
      extensions['code'] = ErrorCode.QUERY_TOO_COMPLEX;
      for (const key of ['limit', 'maximum']) extensions[key] = original.extensions[key];
    }
    // graphql-js's token limit is a parse error to Apollo Server; to clients it is a limit like depth and aliases.
    // (graphql-js 16 words it "more that 5000 tokens"; both spellings are matched.)
    if (/Document contains more (?:than|that) \d+ tokens/.test(formatted.message)) extensions['code'] = ErrorCode.QUERY_TOO_COMPLEX;
    // Federation tags subgraph errors that had no code DOWNSTREAM_SERVICE_ERROR: the subgraph did not say
    // what went wrong, so it is as unexpected as an error without code.
    let code = typeof extensions['code'] === 'string' ? (extensions['code'] as string) : ErrorCode.INTERNAL_SERVER_ERROR;
    if (code === 'DOWNSTREAM_SERVICE_ERROR') code = ErrorCode.INTERNAL_SERVER_ERROR;
    extensions['code'] = code;
    delete extensions['exception'];
    if (production) {
      delete extensions['stacktrace'];
      if (!CLIENT_SAFE_CODES.has(code)) {
        const masked: Record<string, unknown> = { code: ErrorCode.INTERNAL_SERVER_ERROR };
        if (extensions['serviceName']) masked['serviceName'] = extensions['serviceName'];
        return {
          message: 'Unexpected error.',
          ...(formatted.locations ? { locations: formatted.locations } : {}),
          ...(formatted.path ? { path: formatted.path } : {}),
          extensions: masked,
        };
      }
    }
    return { ...formatted, extensions };
  };
}
