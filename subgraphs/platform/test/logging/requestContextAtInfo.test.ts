/**
 * At info and above, no request runs in a log context (a context per request costs every promise async hooks on
 * Node 20): the ID is still echoed, and the HTTP layer's own line for an unexpected error names it. A file of
 * its own, because one logger at debug turns request contexts on for the whole process.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeGracefully, createHttpServer, listen } from '../../src/http/httpServer.js';
import { createLogger } from '../../src/logging/index.js';

describe('request IDs with every logger at info', () => {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger('gateway', { level: 'info', destination });
  const server = createHttpServer(
    {
      '/work': async (_request, response) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        logger.info('working');
        response.end('done');
      },
      '/fail': async () => {
        throw new Error('boom');
      },
    },
    (error, requestId) => logger.error({ err: error, request_id: requestId }, 'request failed with an unexpected error'),
  );
  let baseUrl: string;
  beforeAll(async () => {
    baseUrl = await listen(server, 0, '127.0.0.1');
  });
  afterAll(() => closeGracefully(server, 1_000));

  it('echoes the ID, and lines logged while serving carry none', async () => {
    const response = await fetch(`${baseUrl}/work`, { headers: { 'x-request-id': 'checkout-7f3a' } });
    expect(response.headers.get('x-request-id')).toBe('checkout-7f3a');
    expect(lines.at(-1)).toMatchObject({ msg: 'working' });
    expect(lines.at(-1)).not.toHaveProperty('request_id');
  });

  it('names the request in the line of an unexpected error, and answers 500 with a code', async () => {
    const response = await fetch(`${baseUrl}/fail`, { headers: { 'x-request-id': 'broken-1' } });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    expect(lines.at(-1)).toMatchObject({ level: 'error', request_id: 'broken-1', msg: 'request failed with an unexpected error' });
  });
});
