import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../support/stack.js';
import { CHROMIUM, requirePrerequisite } from '../support/systemPrerequisites.js';

describe('the GraphQL IDE in headless Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  beforeAll(async () => {
    const executablePath = requirePrerequisite(CHROMIUM);
    stack = await startStack();
    browser = await chromium.launch({
      executablePath,
      // No background networking: the machine (and a user's air-gapped one) has no internet to reach.
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('loads from the gateway alone, with no CDN, and runs the first query', async () => {
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const consoleErrors: string[] = [];
    page.on('pageerror', (error) => consoleErrors.push(error.message));

    await page.goto(stack.gatewayUrl);
    await page.waitForSelector('.graphiql-container', { timeout: 20_000 });
    const answered = page.waitForResponse(
      (response) => response.request().method() === 'POST' && (response.request().postData() ?? '').includes('FirstProject'),
    );
    await page.click('.graphiql-execute-button');
    const response = await answered;
    const body = (await response.json()) as { data?: { projects: { nodes: Array<Record<string, unknown>> } }; errors?: unknown };
    // A string, evaluated in the page: this file is compiled without the DOM library.
    await page.waitForFunction(`document.querySelector('.result-window')?.textContent?.includes('"totalCount"')`, undefined, { timeout: 20_000 });
    await page.screenshot({ path: join(tmpdir(), 'psgraph-ide.png') });

    expect(response.status()).toBe(200);
    expect(body.errors).toBeUndefined();
    const project = body.data!.projects.nodes[0]!;
    for (const field of ['opportunity', 'manager', 'assignments', 'timeTotals', 'financials', 'invoiceSummary']) expect(project[field]).not.toBeNull();
    expect((await page.textContent('.result-window')) ?? '').toContain('"opportunity"');
    expect(consoleErrors).toEqual([]);
    const origin = new URL(stack.gatewayUrl).origin;
    expect(requested.filter((url) => !url.startsWith(origin) && !url.startsWith('data:'))).toEqual([]);
  });
});
