/**
 * /metrics as an operator scrapes it: the gateway's and the activation subgraph's, over real HTTP, after queries
 * (one refused) and two activations (one parked on an exception). Then a flood of made-up operation names,
 * which must not grow the scrape.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ACTIVATION_CONSUMER_GROUP } from '../../subgraphs/activation/src/events/opportunityEventsConsumer.js';
import { BILLING_STATUS_CONSUMER_GROUP } from '../../subgraphs/activation/src/invoicing/invoiceStatusSync.js';
import { POSTING_CONSUMER_GROUP } from '../../subgraphs/activation/src/posting/deliveryEventsConsumer.js';
import { Metrics, parseMetrics } from '../../subgraphs/platform/src/index.js';
import { VendorCalls } from '../../subgraphs/platform/src/vendor/vendorCalls.js';
import { REPO_ROOT } from '../support/processes.js';
import { SYSTEMS, type Stack, startStack } from '../support/stack.js';

const ACTIVATE = `mutation Activate($id: ID!, $key: String!) { activateProject(input: { opportunityId: $id, idempotencyKey: $key }) { id status } }`;
const PROJECT_LIST = `query ProjectList { projects(first: 2) { nodes { id name invoiceSummary { invoiceCount } } } }`;

async function scrape(url: string): Promise<{ contentType: string | null; text: string; samples: Map<string, number> }> {
  const response = await fetch(url);
  const text = await response.text();
  return { contentType: response.headers.get('content-type'), text, samples: parseMetrics(text) };
}

/** Samples of one metric whose labels include every `label="value"` given. */
function matching(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): Array<[string, number]> {
  return [...samples].filter(
    ([key]) => (key === name || key.startsWith(`${name}{`)) && Object.entries(labels).every(([label, value]) => key.includes(`${label}="${value}"`)),
  );
}

const sum = (entries: Array<[string, number]>) => entries.reduce((total, [, value]) => total + value, 0);

/** Every series name an exposition can hold: each family (`# TYPE`), with a histogram's `_bucket`, `_sum`, `_count`. */
function seriesNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** The metric names a PromQL expression reads: label matchers, `by (...)` lists and strings taken out first. */
function metricNamesIn(expression: string): string[] {
  const bare = expression
    .replace(/"[^"]*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map(([name]) => name).filter((name) => /^(psgraph|process|nodejs)_/.test(name));
}

describe('metrics scraped from a running stack', () => {
  let stack: Stack;
  let crm: Database.Database;
  let gatewayMetricsUrl: string;
  let activationMetricsUrl: string;

  beforeAll(async () => {
    stack = await startStack({ privateData: true });
    crm = new Database(join(stack.dataDir, 'crm.db'), { readonly: true });
    gatewayMetricsUrl = `${stack.baseUrl}/metrics`;
    activationMetricsUrl = stack.activation.url.replace(/\/graphql$/, '/metrics');
  });
  afterAll(async () => {
    crm?.close();
    await stack.stop();
  });

  const awaitingActivation = (where: string) =>
    crm
      .prepare(
        `SELECT o.id FROM opportunity o JOIN opportunity_stage s ON s.name = o.stage_name JOIN account a ON a.id = o.account_id
         WHERE s.is_won = 1 AND o.project_id IS NULL AND ${where} ORDER BY o.id`,
      )
      .pluck()
      .all() as string[];

  it('follows a query and an activation through the gateway in histograms, counters and gauges', async () => {
    for (let i = 0; i < 2; i++) expect((await stack.query(PROJECT_LIST)).body.errors).toBeUndefined();
    const invalid = await stack.query(`query Broken { projects(first: 1) { noSuchField } }`);
    expect(invalid.body.errors![0]!.extensions!['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    const [ready] = awaitingActivation('a.tax_id IS NOT NULL AND (o.po_required = 0 OR o.po_number IS NOT NULL)');
    const activated = await stack.query(ACTIVATE, { id: ready, key: 'metrics-e2e' });
    expect(activated.body.errors).toBeUndefined();

    const { contentType, samples } = await scrape(gatewayMetricsUrl);
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const duration = 'psgraph_gateway_request_duration_seconds';
    expect(samples.get(`${duration}_count{operation="ProjectList",outcome="success"}`)).toBe(2);
    expect(samples.get(`${duration}_bucket{le="+Inf",operation="ProjectList",outcome="success"}`)).toBe(2);
    expect(samples.get(`${duration}_bucket{le="10",operation="ProjectList",outcome="success"}`)).toBe(2);
    expect(samples.get(`${duration}_sum{operation="ProjectList",outcome="success"}`)).toBeGreaterThan(0);
    expect(samples.get(`${duration}_count{operation="Activate",outcome="success"}`)).toBe(1);
    expect(samples.get(`${duration}_count{operation="Broken",outcome="refused"}`)).toBe(1);
    expect(samples.get('psgraph_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"}')).toBe(1);

    const fetches = 'psgraph_subgraph_fetch_duration_seconds';
    for (const subgraph of ['psa', 'billing', 'activation']) {
      expect(samples.get(`${fetches}_count{subgraph="${subgraph}",outcome="ok"}`), subgraph).toBeGreaterThanOrEqual(1);
      expect(samples.get(`${fetches}_bucket{le="+Inf",subgraph="${subgraph}",outcome="ok"}`), subgraph).toBe(
        samples.get(`${fetches}_count{subgraph="${subgraph}",outcome="ok"}`),
      );
    }
    // ProjectList planned once and reused once; Activate planned; Broken never reached the executor.
    expect(samples.get('psgraph_query_plan_cache_hits_total{endpoint="graphql"}')).toBeGreaterThanOrEqual(1);
    expect(samples.get('psgraph_query_plan_cache_misses_total{endpoint="graphql"}')).toBeGreaterThanOrEqual(2);
    expect(samples.get('psgraph_query_plan_cache_size{endpoint="graphql"}')).toBeGreaterThanOrEqual(2);
    expect(samples.get('psgraph_subscriptions_active')).toBe(0);
    expect(samples.get('psgraph_subscription_events_dropped_total')).toBe(0);
    // Node's defaults, under their standard names, replace the gateway's hand-made memory gauges.
    expect(samples.get('process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect(samples.get('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(samples.has('nodejs_heap_used_bytes')).toBe(false);
  });

  it('shows the activation subgraph’s requests, runs, exceptions, dead letters and bus groups as its store holds them', async () => {
    const [missingTaxId] = awaitingActivation('a.tax_id IS NULL');
    const parked = await stack.query(ACTIVATE, { id: missingTaxId, key: 'metrics-e2e-parked' });
    expect(parked.body.data.activateProject.status).toBe('EXCEPTION_OPEN');

    const { samples } = await scrape(activationMetricsUrl);
    const requests = matching(samples, 'psgraph_graphql_request_duration_seconds_count', { outcome: 'success' });
    expect(
      requests.some(([key]) => /operation="Activate__activation__\d+"/.test(key)),
      requests.map(([key]) => key).join('\n'),
    ).toBe(true);

    const store = stack.activation.service.store;
    const runs = store.sqlite.db.prepare('SELECT status, count(*) AS count FROM activation_run GROUP BY status').all() as Array<{
      status: string;
      count: number;
    }>;
    expect(runs.find((run) => run.status === 'ACTIVE')?.count).toBeGreaterThanOrEqual(1);
    for (const { status, count } of runs) expect(samples.get(`psgraph_activation_runs{state="${status}"}`), status).toBe(count);
    expect(samples.get('psgraph_activation_runs{state="NEEDS_ATTENTION"}')).toBe(runs.find((run) => run.status === 'NEEDS_ATTENTION')?.count ?? 0);
    expect(samples.get('psgraph_activation_oldest_in_flight_run_age_seconds')).toBe(0);

    const open = store.exceptions.counts(['OPEN']);
    const taxIdMissing = open.filter((count) => count.type === 'TAX_ID_MISSING').reduce((total, count) => total + count.count, 0);
    expect(taxIdMissing).toBeGreaterThanOrEqual(1);
    expect(sum(matching(samples, 'psgraph_exceptions_open', { queue: 'integration', type: 'TAX_ID_MISSING', system: 'CRM' }))).toBe(taxIdMissing);
    expect(sum(matching(samples, 'psgraph_exceptions_open', { queue: 'integration' }))).toBe(open.reduce((total, count) => total + count.count, 0));
    expect(samples.get('psgraph_process_dead_letters_open')).toBe(store.deadLetters.search({ statuses: ['OPEN'], type: null }, 10_000).length);

    for (const group of [ACTIVATION_CONSUMER_GROUP, POSTING_CONSUMER_GROUP, BILLING_STATUS_CONSUMER_GROUP, 'staffing-figures']) {
      for (const gauge of ['pending_events', 'undelivered_events', 'lag_seconds', 'dead_letters']) {
        expect(samples.get(`psgraph_event_bus_${gauge}{group="${group}"}`), `${gauge} of ${group}`).toBeGreaterThanOrEqual(0);
      }
      expect(samples.get(`psgraph_event_bus_dead_letters{group="${group}"}`)).toBe(0);
    }
    // A scrape reads the store without counting as work requests caused (once the consumers have gone quiet).
    const scrapesLeaveTheCountAlone = async () => {
      const before = store.statementCount;
      for (let i = 0; i < 3; i++) await scrape(activationMetricsUrl);
      return store.statementCount === before;
    };
    let quiet = false;
    for (let attempt = 0; attempt < 20 && !quiet; attempt++) quiet = await scrapesLeaveTheCountAlone();
    expect(quiet).toBe(true);
  });

  it('counts a subgraph’s errors by code on the subgraph and on the gateway', async () => {
    const psaMetricsUrl = stack.subgraphs.psa.url.replace(/\/graphql$/, '/metrics');
    const before = (await scrape(psaMetricsUrl)).samples.get('psgraph_graphql_errors_total{code="INVALID_ID"}') ?? 0;
    const gatewayBefore = (await scrape(gatewayMetricsUrl)).samples.get('psgraph_graphql_errors_total{code="INVALID_ID"}') ?? 0;
    const { body } = await stack.query(`query BadProject { project(id: "PRJ-10001") { name } }`);
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'INVALID_ID', serviceName: 'psa' });

    const psa = (await scrape(psaMetricsUrl)).samples;
    expect(psa.get('psgraph_graphql_errors_total{code="INVALID_ID"}')).toBe(before + 1);
    expect(matching(psa, 'psgraph_graphql_request_duration_seconds_count', { outcome: 'error' }).length).toBeGreaterThanOrEqual(1);
    const gateway = (await scrape(gatewayMetricsUrl)).samples;
    expect(gateway.get('psgraph_graphql_errors_total{code="INVALID_ID"}')).toBe(gatewayBefore + 1);
    expect(gateway.get('psgraph_gateway_request_duration_seconds_count{operation="BadProject",outcome="error"}')).toBe(1);
  });

  it('serves every metric the alert rules and the Grafana dashboard read', async () => {
    // Vendor call counters live on a subgraph over a vendor adapter; the sandboxes have none, so they come from the real instrument.
    const vendorMetrics = new Metrics();
    new VendorCalls({ system: 'Stripe', metrics: vendorMetrics });
    const expositions = [
      (await scrape(gatewayMetricsUrl)).text,
      (await scrape(activationMetricsUrl)).text,
      ...(await Promise.all(SYSTEMS.map(async (system) => (await scrape(stack.subgraphs[system].url.replace(/\/graphql$/, '/metrics'))).text))),
      await vendorMetrics.render(),
    ];
    const served = new Set(expositions.flatMap((text) => [...seriesNames(text)]));

    const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'ops/grafana/psgraph-dashboard.json'), 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
    };
    const dashboardReads = dashboard.panels.flatMap((panel) => (panel.targets ?? []).flatMap((target) => metricNamesIn(target.expr)));
    const rules = parse(readFileSync(join(REPO_ROOT, 'ops/prometheus/psgraph-alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ expr: string }> }> };
    const rulesRead = rules.groups.flatMap((group) => group.rules.flatMap((rule) => metricNamesIn(rule.expr)));

    expect(dashboardReads.length).toBeGreaterThan(25);
    expect(rulesRead.length).toBeGreaterThan(12);
    expect([...new Set(dashboardReads)].filter((name) => !served.has(name))).toEqual([]);
    expect([...new Set(rulesRead)].filter((name) => !served.has(name))).toEqual([]);
    // The check itself can fail: a misspelt name is not served.
    expect(served.has('psgraph_gateway_request_duration_seconds_bucket')).toBe(true);
    expect(served.has('psgraph_gateway_request_duration_second_bucket')).toBe(false);
  });

  it('groups operation names beyond the bound as __other__, however many a client makes up', async () => {
    const gateway = await stack.startGateway({ port: 0, metricsOperationNames: 5 });
    for (let i = 0; i < 30; i++) expect((await gateway.query(`query MadeUp${i} { __typename }`)).status).toBe(200);
    await gateway.query(`{ __typename }`);
    const { samples } = await scrape(gateway.url.replace(/\/graphql$/, '/metrics'));
    const operations = new Set(matching(samples, 'psgraph_gateway_request_duration_seconds_count').map(([key]) => /operation="([^"]*)"/.exec(key)![1]));
    expect([...operations].sort()).toEqual(['MadeUp0', 'MadeUp1', 'MadeUp2', 'MadeUp3', 'MadeUp4', '__anonymous__', '__other__']);
    expect(samples.get('psgraph_gateway_request_duration_seconds_count{operation="__other__",outcome="success"}')).toBe(25);
    expect(samples.get('psgraph_gateway_request_duration_seconds_count{operation="__anonymous__",outcome="success"}')).toBe(1);
  });
});
