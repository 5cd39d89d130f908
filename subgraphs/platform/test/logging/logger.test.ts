import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/configError.js';
import { type LogLevel, createLogger, loadLoggingConfig, redactSecrets, withLogContext } from '../../src/logging/index.js';
import { VendorError } from '../../src/vendor/vendorError.js';

/** A logger writing into an array of parsed lines (and the raw text, to search for leaks). */
function capture(level: LogLevel = 'trace') {
  const lines: Array<Record<string, unknown>> = [];
  let raw = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw += chunk.toString('utf8');
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('crm', { level, destination }), lines, raw: () => raw };
}

describe('log level configuration', () => {
  it('is info unless PSGRAPH_LOG_LEVEL says otherwise', () => {
    expect(loadLoggingConfig({})).toEqual({ level: 'info' });
    expect(loadLoggingConfig({ PSGRAPH_LOG_LEVEL: 'debug' })).toEqual({ level: 'debug' });
    expect(loadLoggingConfig({ PSGRAPH_LOG_LEVEL: 'WARN' })).toEqual({ level: 'warn' });
    expect(loadLoggingConfig({ PSGRAPH_LOG_LEVEL: 'silent' })).toEqual({ level: 'silent' });
  });

  it('refuses a level pino does not have, naming the variable and the levels', () => {
    expect(() => loadLoggingConfig({ PSGRAPH_LOG_LEVEL: 'verbose' })).toThrow(ConfigError);
    expect(() => loadLoggingConfig({ PSGRAPH_LOG_LEVEL: 'verbose' })).toThrow(
      'PSGRAPH_LOG_LEVEL=verbose is not a log level: expected one of fatal, error, warn, info, debug, trace, silent.',
    );
  });

  it('writes lines at or above the level only', () => {
    const { logger, lines } = capture('warn');
    logger.info('not written');
    logger.debug('not written');
    logger.warn('written');
    logger.error('written too');
    expect(lines.map((line) => [line['level'], line['msg']])).toEqual([
      ['warn', 'written'],
      ['error', 'written too'],
    ]);
  });
});

describe('log lines', () => {
  it('are JSON with the service, an ISO time and the level by name', () => {
    const { logger, lines } = capture();
    logger.info({ step: 'ERP_CUSTOMER' }, 'step done');
    expect(lines[0]).toMatchObject({ level: 'info', service: 'crm', pid: process.pid, step: 'ERP_CUSTOMER', msg: 'step done' });
    expect(new Date(lines[0]!['time'] as string).toISOString()).toBe(lines[0]!['time']);
  });

  it('carry the request and run IDs of the work in progress, and a child logger’s run_id once', async () => {
    const { logger, lines } = capture();
    await withLogContext({ request_id: 'req-1' }, async () => {
      await Promise.resolve();
      logger.info('in the request');
      withLogContext({ run_id: 'act_1' }, () => logger.info('in the run'));
      logger.child({ run_id: 'act_2' }).info('a child logger');
    });
    logger.info('outside');
    expect(lines.map(({ request_id, run_id }) => ({ request_id, run_id }))).toEqual([
      { request_id: 'req-1', run_id: undefined },
      { request_id: 'req-1', run_id: 'act_1' },
      { request_id: 'req-1', run_id: 'act_2' },
      { request_id: undefined, run_id: undefined },
    ]);
  });
});

describe('trace and span IDs', () => {
  const contextManager = new AsyncLocalStorageContextManager();
  const provider = new TracerProvider();
  beforeAll(() => {
    context.setGlobalContextManager(contextManager.enable());
    trace.setGlobalTracerProvider(provider);
  });
  afterAll(async () => {
    trace.disable();
    context.disable();
    await provider.shutdown();
  });

  it('are those of the active span, across awaits, and absent without one', async () => {
    const { logger, lines } = capture();
    const tracer = trace.getTracer('logger-test');
    const ids = await tracer.startActiveSpan('activation', async (span) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.info('inside the span');
      span.end();
      return span.spanContext();
    });
    logger.info('after the span');
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(lines[0]).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId });
    expect(lines[1]).not.toHaveProperty('trace_id');
    expect(lines[1]).not.toHaveProperty('span_id');
  });
});

describe('redaction', () => {
  const SECRETS = {
    bearer: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl',
    principal: 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJnYXRld2F5In0.c2lnbmVk',
    cookie: 'session=s3cr3t-cookie-value',
    accessToken: 'tok-00DRSXyzAccess',
    clientSecret: 'cs-9f8e7d6c5b4a',
    apiKey: 'sk_test_51AbCdEfGhIjKlMnOp',
    password: 'hunter2-but-longer',
    taxId: 'DE811907980',
    tokenSecret: 'ts-abcdef123456',
    webhookSecret: 'whsec_1234567890abcdef',
  };

  it('withholds each kind of secret and tax ID, at the top and nested in objects and arrays', () => {
    const { logger, lines, raw } = capture();
    logger.info(
      {
        headers: { authorization: SECRETS.bearer, cookie: SECRETS.cookie, 'psgraph-principal': SECRETS.principal, accept: 'application/json' },
        taxId: SECRETS.taxId,
        account: { name: 'Globex', taxId: SECRETS.taxId, billing: { contact: { password: SECRETS.password } } },
        salesforce: { accessToken: SECRETS.accessToken, clientSecret: SECRETS.clientSecret },
        netsuite: { config: { tokenSecret: SECRETS.tokenSecret } },
        stripe: { apiKey: SECRETS.apiKey, webhookSecret: SECRETS.webhookSecret },
        rows: [{ tax_id: SECRETS.taxId }, { Tax_Id__c: SECRETS.taxId }],
      },
      'everything at once',
    );
    for (const secret of Object.values(SECRETS)) expect(raw()).not.toContain(secret);
    expect(lines[0]).toMatchObject({
      headers: { authorization: '[redacted]', cookie: '[redacted]', 'psgraph-principal': '[redacted]', accept: 'application/json' },
      taxId: '[redacted]',
      account: { name: 'Globex', taxId: '[redacted]', billing: { contact: { password: '[redacted]' } } },
      salesforce: { accessToken: '[redacted]', clientSecret: '[redacted]' },
      netsuite: { config: { tokenSecret: '[redacted]' } },
      stripe: { apiKey: '[redacted]', webhookSecret: '[redacted]' },
      rows: [{ tax_id: '[redacted]' }, { Tax_Id__c: '[redacted]' }],
    });
  });

  it('scrubs credentials out of messages', () => {
    const { logger, lines, raw } = capture();
    logger.warn(`calling https://example.my.salesforce.com/services/oauth2/token?client_secret=${SECRETS.clientSecret}&grant_type=x`);
    logger.warn(`refused header ${SECRETS.bearer}`);
    logger.warn(`Stripe: Invalid API Key provided: ${SECRETS.apiKey}`);
    for (const secret of Object.values(SECRETS)) expect(raw()).not.toContain(secret);
    expect(lines.map((line) => line['msg'])).toEqual([
      'calling https://example.my.salesforce.com/services/oauth2/token?client_secret=[redacted]&grant_type=x',
      'refused header Bearer [redacted]',
      'Stripe: Invalid API Key provided: [redacted]',
    ]);
  });

  it('logs an error as type, scrubbed message, code, system and cause only — never a vendor SDK’s raw request', () => {
    const { logger, lines, raw } = capture();
    // What a vendor SDK's error looks like: the request it made (headers and all) on its own properties.
    const sdkError = Object.assign(new Error(`invalid_grant: assertion=${SECRETS.principal}`), {
      raw: { headers: { Authorization: SECRETS.bearer }, body: { tax_id: SECRETS.taxId } },
      config: { password: SECRETS.password },
    });
    const vendorError = new VendorError('Salesforce', 'AUTHENTICATION', `Salesforce refused psgraph's credentials (token=${SECRETS.accessToken}).`, {
      cause: sdkError,
    });
    logger.error({ err: vendorError }, 'token request failed');
    logger.error({ error: sdkError }, 'the same error under `error`');
    for (const secret of Object.values(SECRETS)) expect(raw()).not.toContain(secret);
    expect(lines[0]!['err']).toMatchObject({
      type: 'VendorError',
      message: "Salesforce refused psgraph's credentials (token=[redacted]).",
      code: 'SYSTEM_PERMISSION_DENIED',
      system: 'Salesforce',
      cause: { type: 'Error', message: 'invalid_grant: assertion=[redacted]' },
    });
    expect(Object.keys(lines[1]!['error'] as object).sort()).toEqual(['message', 'stack', 'type']);
  });

  it('treats an error or a secret anywhere in a line the same way, and withholds what is nested too deep to check', () => {
    const { logger, lines, raw } = capture();
    const sdkError = Object.assign(new Error('refused'), { raw: { headers: { Authorization: SECRETS.bearer } } });
    const deep = { l1: { l2: { l3: { l4: { l5: { l6: { l7: { l8: { anything: SECRETS.taxId } } } } } } } } };
    logger.warn({ failure: { attempts: [{ error: sdkError }] }, reason: `ERP said: ${SECRETS.bearer}`, deep }, 'step failed');
    for (const secret of Object.values(SECRETS)) expect(raw()).not.toContain(secret);
    expect(lines[0]).toMatchObject({
      failure: { attempts: [{ error: { type: 'Error', message: 'refused' } }] },
      reason: 'ERP said: Bearer [redacted]',
      deep: { l1: { l2: { l3: { l4: { l5: { l6: { l7: '[redacted]' } } } } } } },
    });
  });

  it('leaves a line with nothing to withhold as it was logged (no copy)', () => {
    const fields = { step: 'ERP_PROJECT', ids: ['a', 'b'], at: new Date(0) };
    expect(redactSecrets(fields)).toBe(fields);
  });
});
