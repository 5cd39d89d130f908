import { Writable } from 'node:stream';
import { ApolloServer } from '@apollo/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeGracefully, createHttpServer, listen } from '../../src/http/httpServer.js';
import { type LogLevel, createLogger, readableLogLine, requestLogPlugin } from '../../src/logging/index.js';

function capture(level: LogLevel) {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('gateway', { level, destination }), lines };
}

describe('request IDs, with a logger at debug', () => {
  // At debug each request runs in a context carrying its ID (requestContextAtInfo.test.ts: not at info).
  const { logger, lines } = capture('debug');
  const server = createHttpServer({
    '/work': async (_request, response) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.info('working');
      response.end('done');
    },
  });
  let baseUrl: string;
  beforeAll(async () => {
    baseUrl = await listen(server, 0, '127.0.0.1');
  });
  afterAll(() => closeGracefully(server, 1_000));

  it('echoes the caller’s x-request-id and puts it on every line logged while serving the request', async () => {
    const response = await fetch(`${baseUrl}/work`, { headers: { 'x-request-id': 'checkout-7f3a' } });
    expect(response.headers.get('x-request-id')).toBe('checkout-7f3a');
    expect(lines.at(-1)).toMatchObject({ msg: 'working', request_id: 'checkout-7f3a' });
  });

  it('makes one up when there is none, or when it is not a plain token (no forged log lines or headers)', async () => {
    for (const given of [undefined, 'two words', 'x'.repeat(129), '{"level":"fatal"}']) {
      const response = await fetch(`${baseUrl}/work`, given === undefined ? {} : { headers: { 'x-request-id': given } });
      const requestId = response.headers.get('x-request-id');
      expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(lines.at(-1)).toMatchObject({ msg: 'working', request_id: requestId });
    }
  });

  it('is given to a request for no route too', async () => {
    const response = await fetch(`${baseUrl}/nowhere`, { headers: { 'x-request-id': 'lost-1' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('x-request-id')).toBe('lost-1');
  });
});

describe('the request log line', () => {
  const typeDefs = 'type Query { hello(who: String): String, broken: String }';
  const resolvers = {
    Query: {
      hello: () => 'world',
      broken: () => {
        throw new Error('no');
      },
    },
  };
  const serve = async (level: LogLevel) => {
    const { logger, lines } = capture(level);
    const apollo = new ApolloServer({ typeDefs, resolvers, plugins: [requestLogPlugin(logger)] });
    await apollo.start();
    return { apollo, lines };
  };

  it('is written at debug with operation, duration and outcome, never the document or variables', async () => {
    const { apollo, lines } = await serve('debug');
    await apollo.executeOperation({ query: 'query Greeting($who: String) { hello(who: $who) }', variables: { who: 'secret-person' } });
    await apollo.executeOperation({ query: 'query Partly { hello broken }' });
    await apollo.executeOperation({ query: '{ nope }' });
    await apollo.stop();
    expect(lines.map(({ time: _time, pid: _pid, duration_ms: duration, ...line }) => ({ ...line, timed: typeof duration === 'number' }))).toEqual([
      { level: 'debug', service: 'gateway', msg: 'graphql request', operation_name: 'Greeting', operation_type: 'query', outcome: 'ok', timed: true },
      {
        level: 'debug',
        service: 'gateway',
        msg: 'graphql request',
        operation_name: 'Partly',
        operation_type: 'query',
        outcome: 'partial',
        error_codes: ['INTERNAL_SERVER_ERROR'],
        timed: true,
      },
      {
        level: 'debug',
        service: 'gateway',
        msg: 'graphql request',
        operation_name: null,
        operation_type: null,
        outcome: 'error',
        error_codes: ['GRAPHQL_VALIDATION_FAILED'],
        timed: true,
      },
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret-person');
  });

  it('is not written at info', async () => {
    const { apollo, lines } = await serve('info');
    await apollo.executeOperation({ query: '{ hello }' });
    await apollo.stop();
    expect(lines).toEqual([]);
  });
});

describe('a log line read at a terminal', () => {
  it('shows time, service, level and message, then the other fields', () => {
    const line = JSON.stringify({
      level: 'warn',
      time: '2026-12-03T08:17:41.512Z',
      service: 'activation',
      pid: 1,
      run_id: 'act_1',
      step: 'ERP_PROJECT',
      problems: ['TAX_ID_MISSING'],
      msg: 'step ERP_PROJECT failed; compensating',
    });
    expect(readableLogLine(line)).toBe(
      '08:17:41.512 [activation] WARN step ERP_PROJECT failed; compensating run_id=act_1 step=ERP_PROJECT problems=["TAX_ID_MISSING"]',
    );
  });

  it('leaves what is not a log line as it was', () => {
    expect(readableLogLine('    at main (file.ts:1:1)')).toBe('    at main (file.ts:1:1)');
    expect(readableLogLine('{not json')).toBe('{not json');
  });
});
