/**
 * Serves the operations console — a static single-page app built by gateway/console/buildConsole.ts into
 * gateway/dist/console — at /console. Hashed assets are cached for a year (their names change with their
 * content); index.html is revalidated on every load and answers every client route (/console/exceptions, …).
 * The page itself is public and static: the data it shows comes from /graphql, where identity and the
 * operations scope apply as to any client.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { type HttpHandler, sendJsonError } from '../../../subgraphs/platform/src/http/graphqlHttpHandler.js';

export const CONSOLE_PATH = '/console';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page may load only what the gateway serves and talk only to the gateway (fetch, and WebSocket: CSP 3's
 * 'self' covers ws:/wss: to the same host); recharts sets inline styles, hence 'unsafe-inline' for styles only.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * The built console: gateway/dist/console, found from this module whether it runs from its source
 * (gateway/src/console/) or from the gateway's bundle (gateway/dist/gateway.js).
 */
export function defaultConsoleDirectory(moduleUrl: string = import.meta.url): string {
  const here = fileURLToPath(moduleUrl);
  const gatewayDir = here.slice(0, here.lastIndexOf(`${sep}gateway${sep}`) + `${sep}gateway${sep}`.length);
  return join(gatewayDir, 'dist', 'console');
}

export interface ConsoleRouteOptions {
  /** The built console's folder. @default gateway/dist/console */
  readonly directory?: string;
}

/** The routes to add to the gateway's server: `/console` and everything below it. */
export function consoleRoutes(options: ConsoleRouteOptions = {}): Record<string, HttpHandler> {
  const directory = normalize(options.directory ?? defaultConsoleDirectory());
  const handler: HttpHandler = async (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      sendJsonError(response, 405, ErrorCode.BAD_REQUEST, `The console is served over GET, not ${request.method}.`);
      return;
    }
    const path = decodePath((request.url ?? '/').split('?')[0]!);
    if (path === null) return sendJsonError(response, 400, ErrorCode.BAD_REQUEST, 'The path is not valid URL encoding.');
    const relative = path.slice(CONSOLE_PATH.length).replace(/^\/+/, '');
    const file = normalize(join(directory, relative));
    // `..` in the path must never reach outside the console's folder.
    if (file !== directory && !file.startsWith(directory + sep)) return sendJsonError(response, 404, ErrorCode.NOT_FOUND, `No route ${path}.`);
    const isAsset = relative !== '' && extname(relative) !== '';
    const target = isAsset ? file : join(directory, 'index.html');
    const found = await stat(target).catch(() => null);
    if (!found?.isFile()) {
      if (isAsset) return sendJsonError(response, 404, ErrorCode.NOT_FOUND, `No file ${path}.`);
      return sendJsonError(response, 503, ErrorCode.SERVICE_UNAVAILABLE, 'The operations console is not built: run `npm run build`.');
    }
    const body = await readFile(target);
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(target)] ?? 'application/octet-stream',
      'content-length': body.length,
      // Vite names assets by their content hash: a new build has new names, so the old ones never change.
      'cache-control': relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      ...(target.endsWith('.html') ? { 'content-security-policy': CONTENT_SECURITY_POLICY } : {}),
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  };
  return { [CONSOLE_PATH]: handler, [`${CONSOLE_PATH}/*`]: handler };
}

function decodePath(path: string): string | null {
  try {
    return decodeURIComponent(path);
  } catch {
    return null;
  }
}
