/**
 * Traces across the real processes of `npm start` (the gateway, the four system subgraphs and the activation
 * process, each exporting its own spans over OTLP/HTTP to a receiver this test runs): the span tree of one
 * project-view query, and one activation — a deal closed won in CRM, the event on the bus, the activation
 * consumer, the saga steps and the ERP and PSA writes — as one trace.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OtlpReceiver, type ReceivedSpan, SPAN_KIND, startOtlpReceiver } from '../support/otlpReceiver.js';
import { PROJECT_QUERY } from '../support/queries.js';
import type { QueryFunction } from '../support/stack.js';
import { type StartedProcesses, startProcesses } from '../support/startedProcesses.js';

/** Spans of one trace, and how to walk it. */
class Trace {
  private readonly byId: Map<string, ReceivedSpan>;
  constructor(readonly spans: readonly ReceivedSpan[]) {
    this.byId = new Map(spans.map((span) => [span.spanId, span]));
  }
  parentOf(span: ReceivedSpan): ReceivedSpan | undefined {
    return this.byId.get(span.parentSpanId);
  }
  named(name: string, service?: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.name === name && (service === undefined || span.service === service));
  }
  /** The chain of names from the root down to `span`, as `service:name`. */
  ancestry(span: ReceivedSpan): string[] {
    const chain: string[] = [];
    for (let at: ReceivedSpan | undefined = span; at; at = this.parentOf(at)) chain.unshift(`${at.service}:${at.name}`);
    return chain;
  }
  /** Spans whose parent is not in the trace (the root, and any that lost their parent). */
  roots(): ReceivedSpan[] {
    return this.spans.filter((span) => !this.byId.has(span.parentSpanId));
  }
}

function traceOf(spans: readonly ReceivedSpan[], traceId: string): Trace {
  return new Trace(spans.filter((span) => span.traceId === traceId));
}

describe('traces (OpenTelemetry over OTLP/HTTP)', () => {
  let receiver: OtlpReceiver;
  let psgraph: StartedProcesses;
  let query: QueryFunction;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // The processes write (an activation): startProcesses gives them a private copy of the seeded stores.
    psgraph = await startProcesses({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' });
    query = psgraph.query;
  }, 180_000);

  afterAll(async () => {
    await psgraph?.stop();
    await receiver?.close();
  }, 60_000);

  it('traces a project-view query: operation, parse, validate, planning, fetches, subgraph requests, subgraph operations and SQL', async () => {
    const page = await query<{ projects: { nodes: Array<{ id: string }> } }>('{ projects(first: 1) { nodes { id } } }');
    const projectId = page.body.data!.projects.nodes[0]!.id;
    const answered = await query(PROJECT_QUERY, { id: projectId }, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    expect(answered.body.errors).toBeUndefined();

    // The client's traceparent is the operation's parent: the whole tree is in the client's trace.
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const spans = await receiver.waitFor((received) => {
      const trace = traceOf(received, traceId);
      const requested = new Set(trace.named('subgraph_request').map((span) => span.attributes['subgraph.name']));
      // Every subgraph request answered by its server span, with its SQL, and the operation span ended.
      // …and no span waits for its parent (each process exports in its own batches, children often first).
      return (
        trace.named('supergraph').length === 1 &&
        trace.roots().length === 1 &&
        requested.size > 0 &&
        trace.spans.filter((span) => span.kind === SPAN_KIND.SERVER && span.service !== 'psgraph-gateway').length >= trace.named('subgraph_request').length
      );
    }, 20_000);
    const trace = traceOf(spans, traceId);

    const [operation] = trace.named('supergraph', 'psgraph-gateway');
    expect(operation).toMatchObject({ kind: SPAN_KIND.SERVER, parentSpanId: '00f067aa0ba902b7' });
    expect(operation!.attributes).toMatchObject({ 'graphql.operation.name': 'Project', 'graphql.operation.type': 'query' });
    // The document is recorded only when PSGRAPH_TRACE_DOCUMENT=true.
    expect(operation!.attributes).not.toHaveProperty('graphql.document');
    expect(trace.roots()).toEqual([operation]);

    for (const stage of ['parse_query', 'validate', 'query_planning', 'execution']) {
      expect(trace.named(stage, 'psgraph-gateway').map((span) => span.parentSpanId)).toEqual([operation!.spanId]);
    }
    const [execution] = trace.named('execution');
    const fetches = trace.named('fetch', 'psgraph-gateway');
    // The project view reaches every system subgraph.
    expect(new Set(fetches.map((span) => span.attributes['subgraph.name']))).toEqual(new Set(['crm', 'psa', 'erp', 'billing']));
    for (const fetch of fetches) expect(trace.ancestry(fetch).slice(0, 2)).toEqual(['psgraph-gateway:supergraph', 'psgraph-gateway:execution']);
    expect(fetches.some((fetch) => fetch.parentSpanId === execution!.spanId)).toBe(true);

    const requests = trace.named('subgraph_request', 'psgraph-gateway');
    for (const request of requests) {
      expect(request.kind).toBe(SPAN_KIND.CLIENT);
      // A fetch's request (several fetches of one plan level to one subgraph travel in one request).
      expect(trace.parentOf(request)).toMatchObject({ name: 'fetch', attributes: { 'subgraph.name': request.attributes['subgraph.name'] } });
      const served = trace.spans.filter((span) => span.parentSpanId === request.spanId);
      expect(served).toHaveLength(1);
      expect(served[0]).toMatchObject({ name: 'query', kind: SPAN_KIND.SERVER, service: `psgraph-${String(request.attributes['subgraph.name'])}` });
      expect(served[0]!.attributes['graphql.operation.type']).toBe('query');
    }
    expect(new Set(requests.map((span) => span.attributes['subgraph.name']))).toEqual(new Set(['crm', 'psa', 'erp', 'billing']));

    // SQL statements are children of a subgraph's operation, with the statement's text and no bound value.
    const statements = trace.spans.filter((span) => span.attributes['db.system.name'] === 'sqlite');
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(['SELECT', 'WITH']).toContain(statement.name);
      expect(trace.ancestry(statement).slice(0, 5)).toEqual([
        'psgraph-gateway:supergraph',
        'psgraph-gateway:execution',
        'psgraph-gateway:fetch',
        'psgraph-gateway:subgraph_request',
        `${statement.service}:query`,
      ]);
    }
    const servicesWithSql = new Set(statements.map((span) => span.service));
    expect(servicesWithSql).toEqual(new Set(['psgraph-crm', 'psgraph-psa', 'psgraph-erp', 'psgraph-billing']));
    expect(statements.some((span) => String(span.attributes['db.query.text']).includes(projectId))).toBe(false);
  });

  it('traces one activation from the deal closed won in CRM to the last ERP and PSA write, as one trace', async () => {
    const crm = new Database(join(psgraph.dataDir, 'crm.db'), { readonly: true });
    const erp = new Database(join(psgraph.dataDir, 'erp.db'), { readonly: true });
    let opportunityId: string;
    try {
      const onHold = new Set(erp.prepare("SELECT external_id FROM customer WHERE credit_status = 'ON_HOLD'").pluck().all() as string[]);
      const candidates = crm
        .prepare(
          `SELECT o.id, o.account_id AS accountId FROM opportunity o JOIN opportunity_stage s ON s.name = o.stage_name JOIN account a ON a.id = o.account_id
           WHERE s.is_closed = 0 AND o.project_id IS NULL AND a.tax_id IS NOT NULL AND (o.po_required = 0 OR o.po_number IS NOT NULL)
             AND EXISTS (SELECT 1 FROM opportunity_line_item l WHERE l.opportunity_id = o.id) ORDER BY o.id`,
        )
        .all() as Array<{ id: string; accountId: string }>;
      opportunityId = candidates.find((candidate) => !onHold.has(candidate.accountId))!.id;
    } finally {
      crm.close();
      erp.close();
    }

    const won = await query<{ setOpportunityStage: { isWon: boolean } }>(
      'mutation CloseWon($id: ID!) { setOpportunityStage(id: $id, stage: "Closed Won") { isWon } }',
      { id: opportunityId },
    );
    expect(won.body.errors).toBeUndefined();
    expect(won.body.data!.setOpportunityStage.isWon).toBe(true);

    const runs = `query Runs($id: ID!) { activationRuns(first: 1, filter: { opportunityId: $id }) { nodes { status } } }`;
    let status: string | undefined;
    for (let waited = 0; waited < 60_000 && status !== 'ACTIVE'; waited += 250) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      status = (await query<{ activationRuns: { nodes: Array<{ status: string }> } }>(runs, { id: opportunityId })).body.data?.activationRuns.nodes[0]?.status;
    }
    expect(status).toBe('ACTIVE');

    const isCloseWon = (span: ReceivedSpan) => span.name === 'supergraph' && span.attributes['graphql.operation.name'] === 'CloseWon';
    const spans = await receiver.waitFor((received) => {
      const root = received.find(isCloseWon);
      if (!root) return false;
      const trace = traceOf(received, root.traceId);
      return (
        trace.roots().length === 1 &&
        trace.spans.some((span) => span.name === 'activation_step CRM_LINK') &&
        ['psgraph-erp', 'psgraph-psa'].every((service) =>
          trace.spans.some((span) => span.service === service && span.attributes['db.operation.name'] === 'INSERT'),
        )
      );
    }, 30_000);
    const root = spans.find(isCloseWon)!;
    const trace = traceOf(spans, root.traceId);
    // One trace, one root: the client's mutation at the gateway; every other span's parent is in the trace.
    expect(trace.roots()).toEqual([root]);

    // CRM: the mutation writes the stage and records the event with its trace context, in the same request.
    const [published] = trace.named('send opportunity.closed_won', 'psgraph-crm');
    expect(published).toMatchObject({ kind: SPAN_KIND.PRODUCER, attributes: { 'messaging.destination.name': 'opportunity.closed_won' } });
    expect(trace.ancestry(published!)).toEqual([
      'psgraph-gateway:supergraph',
      'psgraph-gateway:execution',
      'psgraph-gateway:fetch',
      'psgraph-gateway:subgraph_request',
      'psgraph-crm:mutation',
      'psgraph-crm:send opportunity.closed_won',
    ]);

    // Activation: the consumer continues the event's trace; the run and each step are its descendants.
    const [consumed] = trace.named('process opportunity.closed_won', 'psgraph-activation');
    expect(consumed).toMatchObject({
      kind: SPAN_KIND.CONSUMER,
      parentSpanId: published!.spanId,
      attributes: { 'messaging.consumer.group.name': 'activation' },
    });
    const [run] = trace.named('activation_run', 'psgraph-activation');
    expect(run!.parentSpanId).toBe(consumed!.spanId);
    const steps = trace.spans.filter((span) => span.name.startsWith('activation_step '));
    expect(steps.length).toBeGreaterThanOrEqual(4);
    for (const step of steps) expect(step.parentSpanId).toBe(run!.spanId);
    expect(steps.map((step) => step.attributes['psgraph.activation.step'])).toContain('VALIDATE');

    // ERP and PSA: the writes of the saga's steps, each under its step's call and the system's operation.
    for (const service of ['psgraph-erp', 'psgraph-psa']) {
      const writes = trace.spans.filter((span) => span.service === service && ['INSERT', 'UPDATE'].includes(String(span.attributes['db.operation.name'])));
      expect(writes.length).toBeGreaterThan(0);
      for (const write of writes) {
        const chain = trace.ancestry(write);
        expect(chain.slice(0, 9)).toEqual([
          'psgraph-gateway:supergraph',
          'psgraph-gateway:execution',
          'psgraph-gateway:fetch',
          'psgraph-gateway:subgraph_request',
          'psgraph-crm:mutation',
          'psgraph-crm:send opportunity.closed_won',
          'psgraph-activation:process opportunity.closed_won',
          'psgraph-activation:activation_run',
          chain[8],
        ]);
        expect(chain[8]).toMatch(/^psgraph-activation:activation_step [A-Z_]+$/);
        expect(chain.slice(9, 11)).toEqual(['psgraph-activation:subgraph_request', `${service}:mutation`]);
      }
    }
  }, 120_000);
});
