import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityProvider, PERSONAS } from '../support/identityProvider.js';
import { type StartedProcesses, startProcesses } from '../support/startedProcesses.js';

const ACTIVATE = `mutation Activate($id: ID!, $key: String!) {
  activateProject(input: { opportunityId: $id, idempotencyKey: $key }) { id status projectId }
}`;

type LogLine = Record<string, unknown> & { service: string; level: string; msg: string };

/** The JSON lines among everything the launcher relayed (its own banner is text). */
function jsonLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

describe('logs of every service, run as `npm start` runs them', () => {
  let idp: IdentityProvider;
  let psgraph: StartedProcesses;
  let gatewayUrl: string;

  beforeAll(async () => {
    idp = await IdentityProvider.start();
    psgraph = await startProcesses({ PSGRAPH_LOG_LEVEL: 'debug', ...idp.gatewayEnv });
    gatewayUrl = `${psgraph.origin}/graphql`;
  }, 180_000);
  afterAll(async () => {
    await psgraph?.stop();
    await idp?.stop();
  }, 60_000);

  it('follows one activation by its run_id and request_id, and never writes the bearer token or a tax ID', async () => {
    const crm = new Database(join(psgraph.dataDir, 'crm.db'), { readonly: true });
    const { id: opportunityId, taxId } = crm
      .prepare(
        `SELECT o.id, a.tax_id AS taxId FROM opportunity o JOIN opportunity_stage s ON s.name = o.stage_name JOIN account a ON a.id = o.account_id
         WHERE s.is_won = 1 AND o.project_id IS NULL AND a.tax_id IS NOT NULL AND (o.po_required = 0 OR o.po_number IS NOT NULL) ORDER BY o.id LIMIT 1`,
      )
      .get() as { id: string; taxId: string };
    crm.close();
    const authorization = await idp.bearer(PERSONAS.deliveryManager);
    const requestId = `e2e-logs-${Date.now()}`;

    const response = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization, 'x-request-id': requestId },
      body: JSON.stringify({ query: ACTIVATE, variables: { id: opportunityId, key: requestId }, operationName: 'Activate' }),
    });
    const body = (await response.json()) as { data?: { activateProject: { id: string; status: string } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(response.headers.get('x-request-id')).toBe(requestId);
    const run = body.data!.activateProject;
    expect(run.id).toMatch(/^act_/);

    // A request without an ID gets one made up, echoed too.
    const health = await fetch(gatewayUrl.replace('/graphql', '/health'));
    expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    // The run may rest after the mutation answered: wait for its last line.
    await psgraph.waitFor(new RegExp(`"run_id":"${run.id}"[^\\n]*"msg":"run (ACTIVE|EXCEPTION_OPEN|COMPENSATED|NEEDS_ATTENTION)"`), 30_000);
    const lines = jsonLines(psgraph.output());

    const ofRun = lines.filter((line) => line['run_id'] === run.id);
    expect(ofRun.every((line) => line.service === 'activation')).toBe(true);
    expect(ofRun.filter((line) => line.msg.startsWith('run ')).map((line) => line['status'])).toEqual([
      'REQUESTED',
      'VALIDATING',
      'ERP_PROVISIONING',
      'PSA_PROVISIONING',
      'LINKING',
      'ACTIVE',
    ]);
    expect(ofRun.filter((line) => line['phase'] === 'forward').map((line) => line['step'])).toEqual([
      'ERP_CUSTOMER',
      'ERP_PROJECT',
      'ERP_BILLING_SCHEDULE',
      'PSA_PROJECT',
      'PSA_RESOURCE_REQUESTS',
      'CRM_LINK',
    ]);
    expect(ofRun.every((line) => line.level === 'info')).toBe(true);
    // The gateway forwards the caller's x-request-id: the run started by the request carries it too.
    expect(ofRun.every((line) => line['request_id'] === requestId)).toBe(true);

    // The gateway's request line (debug) carries the caller's request ID, as does the activation service's.
    const gatewayLine = lines.find((line) => line.service === 'gateway' && line['request_id'] === requestId && line.msg === 'graphql request');
    expect(gatewayLine).toMatchObject({ level: 'debug', operation_name: 'Activate', operation_type: 'mutation', outcome: 'ok' });
    expect(gatewayLine!['duration_ms']).toBeGreaterThan(0);
    expect(lines.find((line) => line.service === 'activation' && line['request_id'] === requestId && line.msg === 'graphql request')).toMatchObject({
      operation_type: 'mutation',
      outcome: 'ok',
    });

    const output = psgraph.output();
    expect(output).not.toContain(authorization.slice('Bearer '.length));
    expect(output).not.toContain(taxId);
  }, 60_000);
});
