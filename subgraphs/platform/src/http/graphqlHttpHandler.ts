/**
 * Serves an Apollo Server over plain `node:http`, without a web framework: the body is read with a hard size
 * limit (413 before anything is parsed), malformed JSON is a 400 with a stable code, and everything else is
 * Apollo Server's own GraphQL-over-HTTP handling.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ApolloServer, type BaseContext, HeaderMap } from '@apollo/server';
import { ErrorCode } from '../../../../contracts/errorCodes.js';

export interface GraphQLHttpHandlerOptions<TContext extends BaseContext> {
  readonly server: ApolloServer<TContext>;
  /** Builds the per-request context (DataLoaders, the caller's identity). */
  readonly context: (request: IncomingMessage) => Promise<TContext> | TContext;
  /** Largest request body accepted, in bytes; larger bodies get 413 REQUEST_TOO_LARGE. */
  readonly maxBodyBytes: number;
  /**
   * Sees a JSON request body before Apollo Server does: to put the document an ID stands for in its place (trusted
   * documents), or to refuse it with a status and a stable code.
   */
  readonly prepareBody?: (body: Record<string, unknown>) => { body: Record<string, unknown> } | { refused: { status: number; code: string; message: string } };
}

export type HttpHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

export function graphqlHttpHandler<TContext extends BaseContext>(options: GraphQLHttpHandlerOptions<TContext>): HttpHandler {
  return async (request, response) => {
    // GraphQL over HTTP has two methods; any other is answered before the body is read.
    const method = (request.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'POST') {
      response.setHeader('allow', 'GET, POST');
      sendJsonError(response, 405, ErrorCode.BAD_REQUEST, `GraphQL is served over GET and POST, not ${method}.`);
      return;
    }
    const body = await readBody(request, options.maxBodyBytes);
    if (body === TOO_LARGE) {
      sendJsonError(response, 413, ErrorCode.REQUEST_TOO_LARGE, `Request body exceeds the limit of ${options.maxBodyBytes} bytes.`);
      return;
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let parsedBody: unknown = undefined;
    if (body.length > 0 && (headers.get('content-type') ?? '').includes('json')) {
      try {
        parsedBody = JSON.parse(body.toString('utf8'));
      } catch {
        sendJsonError(response, 400, ErrorCode.BAD_REQUEST, 'Request body is not valid JSON.');
        return;
      }
    } else if (body.length > 0) {
      parsedBody = body.toString('utf8');
    }
    if (options.prepareBody && parsedBody !== null && typeof parsedBody === 'object' && !Array.isArray(parsedBody)) {
      const prepared = options.prepareBody(parsedBody as Record<string, unknown>);
      if ('refused' in prepared) {
        sendJsonError(response, prepared.refused.status, prepared.refused.code, prepared.refused.message);
        return;
      }
      parsedBody = prepared.body;
    }
    const url = request.url ?? '/';
    const queryIndex = url.indexOf('?');
    const result = await options.server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method,
        headers,
        search: queryIndex >= 0 ? url.slice(queryIndex) : '',
        body: parsedBody,
      },
      context: async () => options.context(request),
    });
    response.statusCode = result.status ?? 200;
    for (const [key, value] of result.headers) response.setHeader(key, value);
    if (result.body.kind === 'complete') {
      response.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) response.write(chunk);
    response.end();
  };
}

const TOO_LARGE = Symbol('too large');

function readBody(request: IncomingMessage, limit: number): Promise<Buffer | typeof TOO_LARGE> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) {
    request.resume();
    return Promise.resolve(TOO_LARGE);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let exceeded = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) exceeded = true;
      if (!exceeded) chunks.push(chunk);
    });
    request.on('end', () => resolve(exceeded ? TOO_LARGE : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export function sendJsonError(response: ServerResponse, status: number, code: string, message: string): void {
  sendJson(response, status, { errors: [{ message, extensions: { code } }] });
}

export function sendJson(response: ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
