import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { type ProxyTracerProvider, trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/configError.js';
import { closeGracefully, createHttpServer, listen } from '../../src/http/httpServer.js';
import { createLogger } from '../../src/logging/index.js';
import { SqliteStore } from '../../src/storage/sqliteStore.js';
import { VendorCalls } from '../../src/vendor/vendorCalls.js';
import {
  activeTraceparent,
  contextFromTraceparent,
  injectTraceContext,
  loadTracingConfig,
  startTracing,
  stopTracing,
  tracingOn,
  withSpan,
} from '../../src/telemetry/index.js';
import { type OtlpReceiver, SPAN_KIND, startOtlpReceiver } from '../../../../test/support/otlpReceiver.js';

describe('tracing settings', () => {
  it('is off unless an OTLP endpoint or an exporter is configured', () => {
    expect(loadTracingConfig('crm', {}).enabled).toBe(false);
    expect(loadTracingConfig('crm', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).enabled).toBe(true);
    expect(loadTracingConfig('crm', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }).enabled).toBe(true);
    expect(loadTracingConfig('crm', { OTEL_TRACES_EXPORTER: 'otlp' }).enabled).toBe(true);
    expect(loadTracingConfig('crm', { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).enabled).toBe(false);
    expect(loadTracingConfig('crm', { OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }).enabled).toBe(false);
  });

  it('names the service psgraph-<service> unless OTEL_SERVICE_NAME says otherwise, and appends /v1/traces to a base endpoint', () => {
    const config = loadTracingConfig('gateway', {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test',
    });
    expect(config.serviceName).toBe('psgraph-gateway');
    expect(config.tracesUrl).toBe('http://collector:4318/v1/traces');
    expect(config.resourceAttributes).toEqual({ 'deployment.environment': 'test' });
    expect(loadTracingConfig('crm', { OTEL_SERVICE_NAME: 'crm-eu' }).serviceName).toBe('crm-eu');
    expect(loadTracingConfig('crm', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/otlp/traces' }).tracesUrl).toBe('http://tempo:4318/otlp/traces');
  });

  it('refuses a setting it cannot honour, naming the variable', () => {
    expect(() => loadTracingConfig('crm', { OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(ConfigError);
    expect(() => loadTracingConfig('crm', { OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER=sometimes/);
    expect(() => loadTracingConfig('crm', { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG=2/);
    expect(() => loadTracingConfig('crm', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/http\/json/);
    expect(() => loadTracingConfig('crm', { OTEL_BSP_SCHEDULE_DELAY: 'soon' })).toThrow(/OTEL_BSP_SCHEDULE_DELAY=soon/);
  });
});

describe('tracing', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(() => stopTracing());
  afterAll(() => receiver.close());

  it('off: registers no provider, exports nothing, and runs the work as it is', async () => {
    expect(startTracing('crm', {})).toBe(false);
    expect(tracingOn()).toBe(false);
    expect((trace.getTracerProvider() as ProxyTracerProvider).getDelegate().constructor.name).toBe('NoopTracerProvider');
    const result = await withSpan('work', { 'psgraph.test': true }, async () => activeTraceparent());
    expect(result).toBeUndefined();
    const headers: Record<string, string> = {};
    injectTraceContext(headers);
    expect(headers).toEqual({});
    await stopTracing();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.requests()).toBe(0);
  });

  it('on: exports a span tree over OTLP/HTTP JSON, continues a traceparent, and flushes on stop', async () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '60000', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test' };
    expect(startTracing('crm', env)).toBe(true);
    const remote = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    let published: string | undefined;
    await withSpan(
      'parent',
      { 'psgraph.test': 'yes' },
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        withSpan('child', undefined, () => {
          published = activeTraceparent();
        });
      },
      { parent: contextFromTraceparent(remote) },
    );
    await expect(withSpan('failing', undefined, async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    // A long batch delay: only the flush on stop exports them.
    expect(receiver.spans()).toHaveLength(0);
    await stopTracing();
    const spans = receiver.spans();
    const byName = Object.fromEntries(spans.map((span) => [span.name, span]));
    expect(Object.keys(byName).sort()).toEqual(['child', 'failing', 'parent']);
    expect(byName['parent']).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      parentSpanId: 'b7ad6b7169203331',
      kind: SPAN_KIND.INTERNAL,
      service: 'psgraph-crm',
    });
    expect(byName['parent']!.attributes).toEqual({ 'psgraph.test': 'yes' });
    expect(byName['child']).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', parentSpanId: byName['parent']!.spanId });
    expect(published).toBe(`00-0af7651916cd43dd8448eb211c80319c-${byName['child']!.spanId}-01`);
    expect(byName['failing']!.status).toBe(2);
    expect(byName['failing']!.parentSpanId).toBe('');
  });

  it('traces SQL statements only inside a trace, with their text and not their values, and vendor calls as client spans', async () => {
    startTracing('erp', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '60000' });
    const dir = mkdtempSync(join(tmpdir(), 'psgraph-tracing-'));
    const store = new SqliteStore(join(dir, 'erp.db'));
    try {
      store.exec('CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT)');
      const insert = store.prepare('INSERT INTO customer (name) VALUES (?)');
      insert.run(['outside any trace']);
      const vendor = new VendorCalls({ system: 'NetSuite', maxAttempts: 1 });
      await withSpan('request', undefined, async () => {
        insert.run(['Acme Ltd']);
        await vendor.call('getCustomer', true, async () => store.prepare('SELECT name FROM customer WHERE id = ?').get([2]));
      });
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
    await stopTracing();
    const spans = receiver.spans().filter((span) => span.service === 'psgraph-erp');
    const byName = Object.fromEntries(spans.map((span) => [span.name, span]));
    expect(spans.map((span) => span.name).sort()).toEqual(['INSERT', 'NetSuite getCustomer', 'SELECT', 'request']);
    expect(byName['INSERT']).toMatchObject({ parentSpanId: byName['request']!.spanId });
    expect(byName['INSERT']!.attributes).toEqual({
      'db.system.name': 'sqlite',
      'db.namespace': 'erp',
      'db.operation.name': 'INSERT',
      'db.query.text': 'INSERT INTO customer (name) VALUES (?)',
    });
    expect(byName['NetSuite getCustomer']).toMatchObject({
      kind: SPAN_KIND.CLIENT,
      parentSpanId: byName['request']!.spanId,
      attributes: { 'psgraph.vendor.system': 'NetSuite', 'psgraph.vendor.operation': 'getCustomer' },
    });
    expect(byName['SELECT']!.parentSpanId).toBe(byName['NetSuite getCustomer']!.spanId);
  });

  it('on: lines logged while serving a request carry its request_id and the trace, even at info', async () => {
    startTracing('crm', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '60000' });
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const logger = createLogger('crm', { level: 'info', destination });
    const server = createHttpServer({
      '/work': (_request, response) =>
        withSpan('work', undefined, async () => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          logger.info('working');
          response.end('done');
        }),
    });
    const baseUrl = await listen(server, 0, '127.0.0.1');
    try {
      await fetch(`${baseUrl}/work`, { headers: { 'x-request-id': 'traced-1' } });
    } finally {
      await closeGracefully(server, 1_000);
    }
    expect(lines.at(-1)).toMatchObject({ msg: 'working', request_id: 'traced-1', trace_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });
});
