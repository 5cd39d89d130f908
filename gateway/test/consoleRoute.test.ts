import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeGracefully, createHttpServer, listen } from '../../subgraphs/platform/src/http/httpServer.js';
import { consoleRoutes, defaultConsoleDirectory } from '../src/console/consoleRoute.js';

/** A raw GET (fetch would normalise `..` away before it reaches the server). */
function get(base: string, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: url.hostname, port: url.port, path, method }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('the console route', () => {
  let dir: string;
  let server: Server;
  let missingServer: Server;
  let base: string;
  let missingBase: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'psgraph-console-'));
    mkdirSync(join(dir, 'console', 'assets'), { recursive: true });
    writeFileSync(join(dir, 'console', 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(dir, 'console', 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'console', 'assets', 'index-abc123.css'), 'body{}');
    writeFileSync(join(dir, 'secret.txt'), 'outside the console');
    server = createHttpServer({ ...consoleRoutes({ directory: join(dir, 'console') }), '/console-like': async (_q, response) => void response.end('other') });
    base = await listen(server, 0, '127.0.0.1');
    missingServer = createHttpServer(consoleRoutes({ directory: join(dir, 'not-built') }));
    missingBase = await listen(missingServer, 0, '127.0.0.1');
  });
  afterAll(async () => {
    await closeGracefully(server, 1_000);
    await closeGracefully(missingServer, 1_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the page and every client route with index.html, revalidated on each load, under a self-only CSP', async () => {
    for (const path of ['/console', '/console/', '/console/exceptions', '/console/dead-letters?status=OPEN']) {
      const response = await get(base, path);
      expect(response.status, path).toBe(200);
      expect(response.body).toBe('<!doctype html><title>console</title>');
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers['content-security-policy']).toMatch(/^default-src 'self'; script-src 'self';/);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('serves hashed assets with their content type, cached for a year', async () => {
    const script = await get(base, '/console/assets/index-abc123.js');
    expect([script.status, script.headers['content-type'], script.headers['cache-control'], script.body]).toEqual([
      200,
      'text/javascript; charset=utf-8',
      'public, max-age=31536000, immutable',
      'console.log(1)',
    ]);
    expect((await get(base, '/console/assets/index-abc123.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    const head = await get(base, '/console/assets/index-abc123.js', 'HEAD');
    expect([head.status, head.headers['content-length'], head.body]).toEqual([200, '14', '']);
  });

  it('refuses a missing asset, a path outside its folder, bad encoding and a POST with stable codes', async () => {
    const missing = await get(base, '/console/assets/gone.js');
    expect([missing.status, JSON.parse(missing.body).errors[0].extensions.code]).toEqual([404, 'NOT_FOUND']);
    for (const path of ['/console/../secret.txt', '/console/%2e%2e/secret.txt', '/console/assets/..%2f..%2fsecret.txt']) {
      const response = await get(base, path);
      expect(response.status, path).toBe(404);
      expect(response.body).not.toContain('outside the console');
    }
    expect((await get(base, '/console/%E0%A4%A')).status).toBe(400);
    const post = await get(base, '/console', 'POST');
    expect([post.status, post.headers['allow'], JSON.parse(post.body).errors[0].extensions.code]).toEqual([405, 'GET, HEAD', 'BAD_REQUEST']);
    // An exact route wins over the prefix; a path that only starts like it is not the console's.
    expect((await get(base, '/console-like')).body).toBe('other');
  });

  it('says how to build the console when it is not built', async () => {
    const response = await get(missingBase, '/console/');
    expect(response.status).toBe(503);
    expect(JSON.parse(response.body).errors[0]).toMatchObject({
      message: 'The operations console is not built: run `npm run build`.',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
  });

  it('finds gateway/dist/console from its source and from the gateway bundle alike', () => {
    const root = join(tmpdir(), 'repo');
    const expected = join(root, 'gateway', 'dist', 'console');
    expect(defaultConsoleDirectory(pathToFileURL(join(root, 'gateway', 'src', 'console', 'consoleRoute.ts')).href)).toBe(expected);
    expect(defaultConsoleDirectory(pathToFileURL(join(root, 'gateway', 'dist', 'gateway.js')).href)).toBe(expected);
  });
});
