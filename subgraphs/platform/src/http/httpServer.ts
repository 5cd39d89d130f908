/**
 * The `node:http` server every psgraph service runs: a path router, keep-alive tuned for a gateway in front,
 * and a graceful close that lets requests in flight finish.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { LogCode } from '../logging/logCodes.js';
import { assignRequestId, inRequestContext } from '../logging/logContext.js';
import { createLogger } from '../logging/logger.js';
import { type HttpHandler, sendJsonError } from './graphqlHttpHandler.js';

/** Path → handler; a path ending in `/*` also takes every path below it (e.g. `/console/*`). */
export type Routes = Record<string, HttpHandler>;

/** The handler of the longest `/*` route `path` lies below (looked up only when no exact route matched). */
function prefixRoute(routes: Routes, path: string): HttpHandler | undefined {
  let found: [string, HttpHandler] | undefined;
  for (const [route, handler] of Object.entries(routes)) {
    if (route.endsWith('/*') && path.startsWith(route.slice(0, -1)) && (!found || route.length > found[0].length)) found = [route, handler];
  }
  return found?.[1];
}

/** What a service does with an error its handler threw (the caller gets a 500). @default logged at error */
export type UnhandledErrorHandler = (error: unknown, requestId: string) => void;

const logUnhandled: UnhandledErrorHandler = (error, requestId) =>
  createLogger('http').error({ err: error, code: LogCode.UNHANDLED_REQUEST_ERROR, request_id: requestId }, 'request failed with an unexpected error');

export function createHttpServer(routes: Routes, onError: UnhandledErrorHandler = logUnhandled): Server {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    // The request's ID, echoed to the caller; at debug, on every line logged while serving it (and by what it starts).
    const requestId = assignRequestId(request, response);
    inRequestContext(requestId, () => route(request, response, requestId));
  });
  const route = (request: IncomingMessage, response: ServerResponse, requestId: string) => {
    const path = (request.url ?? '/').split('?')[0]!;
    const handler = routes[path] ?? prefixRoute(routes, path);
    if (!handler) {
      sendJsonError(response, 404, ErrorCode.NOT_FOUND, `No route ${path}.`);
      return;
    }
    handler(request, response).catch((error: unknown) => {
      onError(error, requestId);
      if (!response.headersSent) sendJsonError(response, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Unexpected error.');
      else response.destroy();
    });
  };
  // Longer than the gateway's pooled-connection idle time, so the gateway closes idle sockets first and never
  // writes a request onto a socket the server is closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

/** Listens and resolves with the base URL (`http://host:port`); port 0 picks a free port. */
export function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      resolve(`http://${host.includes(':') ? `[${host}]` : host}:${address.port}`);
    });
  });
}

/**
 * Stops accepting connections, lets requests in flight complete, closes idle keep-alive sockets, and after
 * `drainMs` closes whatever is still open.
 */
export function closeGracefully(server: Server, drainMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    const forceClose = setTimeout(() => server.closeAllConnections(), drainMs);
    // A keep-alive connection becomes idle when its last response is sent: close it then, not at the deadline.
    const closeIdle = setInterval(() => server.closeIdleConnections(), 25);
    server.close(() => {
      clearTimeout(forceClose);
      clearInterval(closeIdle);
      resolve();
    });
    server.closeIdleConnections();
  });
}
