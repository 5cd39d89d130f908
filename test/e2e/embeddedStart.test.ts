import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, runTypeScript } from '../support/processes.js';

describe('npm start (the embedded default)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'psgraph-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('seeds the sandboxes, starts every service, prints the gateway URL and a first query that works, and stops on Ctrl-C', async () => {
    const ports = {
      gateway: await freePort(),
      crm: await freePort(),
      psa: await freePort(),
      erp: await freePort(),
      billing: await freePort(),
      activation: await freePort(),
    };
    const launcher = runTypeScript('gateway/src/cli/start.ts', {
      PSGRAPH_DATA_DIR: dataDir,
      PSGRAPH_GATEWAY_PORT: String(ports.gateway),
      PSGRAPH_CRM_PORT: String(ports.crm),
      PSGRAPH_PSA_PORT: String(ports.psa),
      PSGRAPH_ERP_PORT: String(ports.erp),
      PSGRAPH_BILLING_PORT: String(ports.billing),
      PSGRAPH_ACTIVATION_PORT: String(ports.activation),
    });
    try {
      await launcher.waitFor(/Press Ctrl-C to stop\./, 110_000);
      const output = launcher.output();
      const gatewayUrl = `http://127.0.0.1:${ports.gateway}/graphql`;
      expect(output).toContain(`Gateway   ${gatewayUrl}`);

      // The first query exactly as printed: run the printed curl command's body.
      const printedBody = /-d '(\{"query":.*\})'/.exec(output)![1]!;
      const response = await fetch(gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: printedBody });
      const body = (await response.json()) as { data: { projects: { totalCount: number; nodes: Array<Record<string, any>> } }; errors?: unknown };
      expect(response.status).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(body.data.projects.totalCount).toBeGreaterThanOrEqual(1200);
      expect(body.data.projects.nodes).toHaveLength(3);
      expect(body.data.projects.nodes[0]!['opportunity'].amount.currency).toMatch(/^(USD|GBP|EUR|AUD)$/);

      const ready = await fetch(`http://127.0.0.1:${ports.gateway}/ready`);
      expect(ready.status).toBe(200);
    } finally {
      launcher.child.kill('SIGINT');
    }
    expect(await launcher.exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${ports.crm}/health`)).rejects.toThrow();
  }, 150_000);
});
