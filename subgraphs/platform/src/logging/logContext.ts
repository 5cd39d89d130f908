/**
 * The IDs a log line is about, carried with the asynchronous work they belong to: the request ID of the HTTP
 * request being served (and of everything it starts), the activation run being driven. The logger's mixin adds
 * them to every line written inside, so code deep in a resolver or a saga step logs them without passing them on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The header a caller (or a load balancer) names its request with; psgraph echoes it, or the ID it made up. */
export const REQUEST_ID_HEADER = 'x-request-id';

export interface LogContext {
  readonly request_id?: string;
  readonly run_id?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/**
 * Whether each HTTP request runs in a context carrying its ID (`inRequestContext`). Only once a logger of the
 * process logs at debug or trace, where requests are followed one by one, or tracing is on (its context manager
 * already pays for a context on every promise): on Node 20 a context per request makes every promise pay for async
 * hooks — about 8 % of the gateway's CPU on the project view (`npm run bench`). Otherwise the HTTP layer's own
 * lines name the request ID themselves.
 */
let requestContexts = false;

/** Called by `createLogger` for a logger at debug or trace, and by `startTracing`. */
export function carryRequestIds(): void {
  requestContexts = true;
}

/** Runs `work` (the serving of one HTTP request) with its ID in the log context, when request contexts are on. */
export function inRequestContext<T>(requestId: string, work: () => T): T {
  return requestContexts ? withLogContext({ request_id: requestId }, work) : work();
}

/** The IDs of the work running now (empty outside any). */
export function currentLogContext(): LogContext {
  return storage.getStore() ?? {};
}

/** Runs `work` with `ids` added to the IDs around it, for every line it (and what it starts) logs. */
export function withLogContext<T>(ids: LogContext, work: () => T): T {
  return storage.run({ ...storage.getStore(), ...ids }, work);
}

// Written into log lines and response headers as it came: anything beyond a plain token is replaced, so a
// caller cannot forge log lines or headers through it.
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request's ID: the caller's `x-request-id` when it is a plain token, else a new UUID; echoed in the response. */
export function assignRequestId(request: IncomingMessage, response: ServerResponse): string {
  const given = request.headers[REQUEST_ID_HEADER];
  const requestId = typeof given === 'string' && ACCEPTABLE_REQUEST_ID.test(given) ? given : randomUUID();
  response.setHeader(REQUEST_ID_HEADER, requestId);
  return requestId;
}
