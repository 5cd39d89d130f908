import { describe, expect, it } from 'vitest';
import { Metrics, parseMetrics } from '../src/metrics.js';
import { ANONYMOUS_OPERATION, OTHER_ERROR_CODE, OTHER_OPERATION, OperationNames, errorCodeLabel } from '../src/requestMetrics.js';

describe('Metrics', () => {
  it('keeps each service to its own registry: two in one process never see each other’s figures', async () => {
    const gateway = new Metrics();
    const subgraph = new Metrics();
    gateway.counter('psgraph_test_requests_total', 'Requests.', [])();
    subgraph.counter('psgraph_test_requests_total', 'Requests.', [])({}, 5);
    expect(parseMetrics(await gateway.render()).get('psgraph_test_requests_total')).toBe(1);
    expect(parseMetrics(await subgraph.render()).get('psgraph_test_requests_total')).toBe(5);
  });

  it('counts by labels, one counter however often it is declared, its labels taken from the first increment when undeclared', async () => {
    const metrics = new Metrics();
    const first = metrics.counter('psgraph_test_calls_total', 'Calls.');
    const second = metrics.counter('psgraph_test_calls_total', 'Calls.');
    first({ system: 'Stripe', outcome: 'ok' });
    second({ system: 'Stripe', outcome: 'ok' }, 2);
    second({ system: 'Kantata', outcome: 'rate_limited' });
    const samples = parseMetrics(await metrics.render());
    expect(samples.get('psgraph_test_calls_total{system="Stripe",outcome="ok"}')).toBe(3);
    expect(samples.get('psgraph_test_calls_total{system="Kantata",outcome="rate_limited"}')).toBe(1);
    expect(() => first({ region: 'EMEA' })).toThrow(/region/);
  });

  it('shows a declared counter at zero before anything is counted', async () => {
    const metrics = new Metrics();
    metrics.counter('psgraph_test_dropped_total', 'Dropped.', []);
    expect(parseMetrics(await metrics.render()).get('psgraph_test_dropped_total')).toBe(0);
  });

  it('renders histograms as cumulative buckets, sum and count that parseMetrics reads', async () => {
    const metrics = new Metrics();
    const observe = metrics.histogram('psgraph_test_duration_seconds', 'Durations.', ['operation'], [0.01, 0.1, 1]);
    observe({ operation: 'ProjectCard' }, 0.005);
    observe({ operation: 'ProjectCard' }, 0.05);
    observe({ operation: 'ProjectCard' }, 5);
    const text = await metrics.render();
    expect(text).toContain('# TYPE psgraph_test_duration_seconds histogram');
    const samples = parseMetrics(text);
    expect(samples.get('psgraph_test_duration_seconds_bucket{le="0.01",operation="ProjectCard"}')).toBe(1);
    expect(samples.get('psgraph_test_duration_seconds_bucket{le="0.1",operation="ProjectCard"}')).toBe(2);
    expect(samples.get('psgraph_test_duration_seconds_bucket{le="1",operation="ProjectCard"}')).toBe(2);
    expect(samples.get('psgraph_test_duration_seconds_bucket{le="+Inf",operation="ProjectCard"}')).toBe(3);
    expect(samples.get('psgraph_test_duration_seconds_count{operation="ProjectCard"}')).toBe(3);
    expect(samples.get('psgraph_test_duration_seconds_sum{operation="ProjectCard"}')).toBeCloseTo(5.055, 6);
  });

  it('reads gauges at scrape time, labelled ones asynchronously, dropping label sets no longer reported', async () => {
    const metrics = new Metrics();
    let open = 2;
    metrics.gauge('psgraph_test_open', 'Open.', () => open);
    let states: Array<{ labels: Record<string, string>; value: number }> = [
      { labels: { state: 'RUNNING' }, value: 3 },
      { labels: { state: 'FAILED' }, value: 1 },
    ];
    metrics.labelledGauge('psgraph_test_runs', 'Runs.', ['state'], async () => states);
    let samples = parseMetrics(await metrics.render());
    expect(samples.get('psgraph_test_open')).toBe(2);
    expect(samples.get('psgraph_test_runs{state="RUNNING"}')).toBe(3);
    expect(samples.get('psgraph_test_runs{state="FAILED"}')).toBe(1);
    open = 0;
    states = [{ labels: { state: 'RUNNING' }, value: 4 }];
    samples = parseMetrics(await metrics.render());
    expect(samples.get('psgraph_test_open')).toBe(0);
    expect(samples.get('psgraph_test_runs{state="RUNNING"}')).toBe(4);
    expect(samples.has('psgraph_test_runs{state="FAILED"}')).toBe(false);
  });

  it('reports a counter kept elsewhere as it stands at scrape time', async () => {
    const metrics = new Metrics();
    let hits = 1;
    metrics.counterFrom('psgraph_test_hits_total', 'Hits.', ['endpoint'], () => [{ labels: { endpoint: 'graphql' }, value: hits }]);
    expect(parseMetrics(await metrics.render()).get('psgraph_test_hits_total{endpoint="graphql"}')).toBe(1);
    hits = 7;
    expect(parseMetrics(await metrics.render()).get('psgraph_test_hits_total{endpoint="graphql"}')).toBe(7);
  });

  it('adds Node’s default metrics under their standard names when asked', async () => {
    const samples = parseMetrics(await new Metrics({ defaultMetrics: true }).render());
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(samples.has(name), name).toBe(true);
    }
    expect([...parseMetrics(await new Metrics().render()).keys()]).toEqual([]);
  });
});

describe('request metric labels', () => {
  it('keeps known names and the first distinct ones, groups the rest and names anonymous operations', () => {
    const names = new OperationNames({ known: ['ProjectCard'], maxSeen: 2 });
    expect(names.label('A')).toBe('A');
    expect(names.label('B')).toBe('B');
    expect(names.label('C')).toBe(OTHER_OPERATION);
    expect(names.label('A')).toBe('A');
    expect(names.label('ProjectCard')).toBe('ProjectCard');
    expect(names.label(undefined)).toBe(ANONYMOUS_OPERATION);
    expect(names.label(null)).toBe(ANONYMOUS_OPERATION);
  });

  it('labels known error codes as they are and any other code as __other__', () => {
    expect(errorCodeLabel('SUBGRAPH_TIMEOUT')).toBe('SUBGRAPH_TIMEOUT');
    expect(errorCodeLabel('GRAPHQL_VALIDATION_FAILED')).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(errorCodeLabel('MADE_UP_BY_A_SUBGRAPH')).toBe(OTHER_ERROR_CODE);
    expect(errorCodeLabel(undefined)).toBe('__none__');
  });
});
