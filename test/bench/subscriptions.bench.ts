/**
 * Subscription benchmark (not a test): N concurrent subscribers on ONE gateway process, each subscribed to the
 * same account's invoice status changes and hydrating the invoice's project name from PSA. For 1k, 5k and 10k
 * subscribers, with and without upstream deduplication, it measures the latency from publishing an event to
 * the last client receiving it (p50/p99 over clients and events) and the gateway's memory per subscription.
 *
 *   npx tsx test/bench/subscriptions.bench.ts [--sizes 1000,5000,10000] [--events 5]
 *
 * The subgraphs run in this process; the gateway runs as its own process so that its RSS is its own. Clients
 * are raw graphql-transport-ws sockets (the protocol, nothing else), so the client side costs little.
 */
import type { Database } from 'better-sqlite3';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createBillingSubgraph } from '../../subgraphs/billing/src/billingSubgraph.js';
import { createCrmSubgraph } from '../../subgraphs/crm/src/crmSubgraph.js';
import { createErpSubgraph } from '../../subgraphs/erp/src/erpSubgraph.js';
import { createPsaSubgraph } from '../../subgraphs/psa/src/psaSubgraph.js';
import { InMemoryEventBus, newEvent } from '../../subgraphs/platform/src/events/index.js';
import type { SubgraphService } from '../../subgraphs/platform/src/index.js';
import { DEFAULT_WORLD_OPTIONS } from '../../subgraphs/sandboxes/src/world/world.js';
import { freePort, runTypeScript } from '../support/processes.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1]! : fallback;
};
const SIZES = option('sizes', '1000,5000,10000').split(',').map(Number);
const EVENTS = Number(option('events', '5'));
const dataDir = process.env['PSGRAPH_DATA_DIR'] ?? join(tmpdir(), 'psgraph-bench-data');

const bus = new InMemoryEventBus();
const world = DEFAULT_WORLD_OPTIONS;
console.log(`seeding or opening the sandboxes in ${dataDir} …`);
const services: Record<string, SubgraphService> = {
  crm: createCrmSubgraph({ dataDir, world, production: true, bus }),
  psa: createPsaSubgraph({ dataDir, world, production: true, bus }),
  erp: createErpSubgraph({ dataDir, world, production: true }),
  billing: createBillingSubgraph({ dataDir, world, production: true }, { bus }),
};
const urls: Record<string, string> = {};
for (const [name, service] of Object.entries(services)) urls[name] = await service.listen(0, '127.0.0.1');

// One account with an invoice: every subscriber watches it.
const billingDb = (services['billing'] as unknown as { billing: { store: { db: Database } } }).billing.store.db;
const invoice = billingDb
  .prepare(
    `SELECT i.id, i.project_id AS projectId, c.crm_account_id AS accountId FROM invoice i JOIN customer c ON c.id = i.customer_id WHERE i.status = 'OPEN' LIMIT 1`,
  )
  .get() as { id: string; projectId: string; accountId: string };

const SUBSCRIPTION = `subscription ($a: ID) { invoiceStatusChanged(accountId: $a) { eventId status invoice { id project { name } } } }`;

interface Scenario {
  readonly subscribers: number;
  readonly deduplicate: boolean;
}

interface Outcome extends Scenario {
  readonly connectSeconds: number;
  readonly rssBeforeMb: number;
  readonly rssAfterMb: number;
  readonly bytesPerSubscription: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly lastClientMs: number;
  readonly delivered: number;
  readonly expected: number;
}

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function runScenario(scenario: Scenario): Promise<Outcome> {
  const port = await freePort();
  const gateway = runTypeScript('gateway/src/cli/gateway.ts', {
    NODE_ENV: 'production',
    // Its in-process subgraphs take unsigned requests (no principal keys given), so the gateway needs no key.
    PSGRAPH_REQUIRE_PRINCIPAL: 'false',
    PSGRAPH_GATEWAY_PORT: String(port),
    PSGRAPH_CRM_URL: urls['crm']!,
    PSGRAPH_PSA_URL: urls['psa']!,
    PSGRAPH_ERP_URL: urls['erp']!,
    PSGRAPH_BILLING_URL: urls['billing']!,
    PSGRAPH_DEDUPLICATE_SUBSCRIPTIONS: String(scenario.deduplicate),
    PSGRAPH_WS_INIT_TIMEOUT_MS: '60000',
  });
  await gateway.waitFor(/"service":"gateway"[^\n]*ready at/, 60_000);
  const pid = gateway.child.pid!;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rssBefore = rssOf(pid);

  const received = new Map<string, number[]>();
  const sockets: WebSocket[] = [];
  const connectStarted = performance.now();
  const connect = () =>
    new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
      sockets.push(socket);
      socket.on('error', reject);
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
      socket.on('message', (raw) => {
        const message = JSON.parse(String(raw)) as { type: string; payload?: { data?: { invoiceStatusChanged?: { eventId: string } } } };
        if (message.type === 'connection_ack') {
          socket.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: SUBSCRIPTION, variables: { a: invoice.accountId } } }));
          resolve();
        } else if (message.type === 'next') {
          const eventId = message.payload?.data?.invoiceStatusChanged?.eventId;
          if (eventId) {
            const times = received.get(eventId) ?? [];
            times.push(performance.now());
            received.set(eventId, times);
          }
        } else if (message.type === 'ping') {
          socket.send(JSON.stringify({ type: 'pong' }));
        }
      });
    });
  for (let opened = 0; opened < scenario.subscribers; opened += 250) {
    await Promise.all(Array.from({ length: Math.min(250, scenario.subscribers - opened) }, connect));
  }
  const expectedUpstreams = scenario.deduplicate ? 1 : scenario.subscribers;
  const deadline = Date.now() + 120_000;
  while (services['billing']!.activeSubscriptions() < expectedUpstreams && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const connectSeconds = (performance.now() - connectStarted) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const rssAfter = rssOf(pid);

  const perClient: number[] = [];
  const lastClient: number[] = [];
  let delivered = 0;
  for (let e = 0; e < EVENTS; e++) {
    const event = newEvent('invoice.posted', {
      source: 'billing',
      subject: invoice.id,
      data: {
        invoiceId: invoice.id,
        projectId: invoice.projectId,
        crmAccountId: invoice.accountId,
        customerId: 'cus_bench',
        previousStatus: 'DRAFT',
        status: 'OPEN',
        changedAt: new Date().toISOString(),
      },
    });
    const published = performance.now();
    await bus.publish(event);
    const eventDeadline = Date.now() + 60_000;
    while ((received.get(event.id)?.length ?? 0) < scenario.subscribers && Date.now() < eventDeadline) await new Promise((resolve) => setTimeout(resolve, 5));
    const times = received.get(event.id) ?? [];
    delivered += times.length;
    for (const time of times) perClient.push(time - published);
    if (times.length > 0) lastClient.push(Math.max(...times) - published);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  for (const socket of sockets) socket.terminate();
  gateway.child.kill('SIGTERM');
  await gateway.exited;
  await new Promise((resolve) => setTimeout(resolve, 500));
  perClient.sort((a, b) => a - b);
  lastClient.sort((a, b) => a - b);
  return {
    ...scenario,
    connectSeconds,
    rssBeforeMb: rssBefore / 1048576,
    rssAfterMb: rssAfter / 1048576,
    bytesPerSubscription: (rssAfter - rssBefore) / scenario.subscribers,
    p50Ms: percentile(perClient, 50),
    p99Ms: percentile(perClient, 99),
    lastClientMs: percentile(lastClient, 50),
    delivered,
    expected: scenario.subscribers * EVENTS,
  };
}

const outcomes: Outcome[] = [];
for (const subscribers of SIZES) {
  for (const deduplicate of [true, false]) {
    console.log(`${subscribers} subscribers, deduplication ${deduplicate ? 'on' : 'off'} …`);
    const outcome = await runScenario({ subscribers, deduplicate });
    outcomes.push(outcome);
    console.log(
      `  delivered ${outcome.delivered}/${outcome.expected}, p50 ${outcome.p50Ms.toFixed(1)} ms, p99 ${outcome.p99Ms.toFixed(1)} ms, last client ${outcome.lastClientMs.toFixed(1)} ms, ${(outcome.bytesPerSubscription / 1024).toFixed(1)} KiB/subscription`,
    );
  }
}

const table = [
  `Subscriptions on one gateway process — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}, ${EVENTS} events per run`,
  '',
  '| subscribers | upstream dedup | delivered | publish → client p50 | p99 | publish → last client (median over events) | gateway RSS before → after | memory per subscription |',
  '|---:|:---:|---:|---:|---:|---:|---:|---:|',
  ...outcomes.map(
    (o) =>
      `| ${o.subscribers.toLocaleString('en')} | ${o.deduplicate ? 'on' : 'off'} | ${o.delivered}/${o.expected} | ${o.p50Ms.toFixed(1)} ms | ${o.p99Ms.toFixed(1)} ms | ${o.lastClientMs.toFixed(1)} ms | ${o.rssBeforeMb.toFixed(0)} → ${o.rssAfterMb.toFixed(0)} MB | ${(o.bytesPerSubscription / 1024).toFixed(1)} KiB |`,
  ),
].join('\n');
console.log(`\n${table}\n`);
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, 'subscriptions.md'), `${table}\n`);
writeFileSync(
  join(resultsDir, 'subscriptions.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, events: EVENTS, outcomes }, null, 2)}\n`,
);

for (const service of Object.values(services)) await service.stop();
await bus.close();
process.exit(0);
