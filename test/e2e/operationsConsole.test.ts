import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentityOptions } from '../../gateway/src/guards/identity.js';
import { newEvent } from '../../subgraphs/platform/src/events/index.js';
import { IdentityProvider, PERSONAS } from '../support/identityProvider.js';
import { type Stack, startStack } from '../support/stack.js';
import { CHROMIUM, requirePrerequisite } from '../support/systemPrerequisites.js';

/** Where the pages' screenshots are kept (gitignored; CI keeps them as artifacts). */
const SCREENSHOTS = fileURLToPath(new URL('../artifacts/console/', import.meta.url));
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('the operations console, used as an operator uses it, in headless Chromium', () => {
  let stack: Stack;
  let crm: Database.Database;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const offOrigin: string[] = [];

  beforeAll(async () => {
    const executablePath = requirePrerequisite(CHROMIUM);
    // The test activates deals and corrects an account: it works on its own copy of the seeded stores.
    stack = await startStack({ privateData: true });
    crm = new Database(join(stack.dataDir, 'crm.db'), { readonly: true });
    browser = await chromium.launch({
      executablePath,
      // No background networking: the console must work on a machine with no internet at all.
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const origin = new URL(stack.baseUrl).origin;
    const wsOrigin = origin.replace(/^http/, 'ws');
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(origin) && !url.startsWith(wsOrigin) && !url.startsWith('data:')) offOrigin.push(url);
    });
    rmSync(SCREENSHOTS, { recursive: true, force: true });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    crm?.close();
    await stack?.stop();
  });

  const screenshot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  it('shows every service healthy, the flows and the trend charts on the overview', async () => {
    await page.goto(`${stack.baseUrl}/console`);
    await expect.poll(() => page.title()).toBe('Overview · psgraph operations');
    const services = page.getByRole('table', { name: 'Service health' });
    for (const name of ['crm', 'psa', 'erp', 'billing', 'activation']) {
      await services.getByRole('row', { name: new RegExp(`^${name} up$`) }).waitFor({ timeout: 15_000 });
    }
    await page
      .getByRole('table', { name: 'Flow sync lag' })
      .getByRole('row', { name: /^activation / })
      .waitFor();
    await page.getByRole('figure', { name: 'Runs and exceptions per bucket' }).locator('.recharts-surface').first().waitFor();
    // Parts whose API this gateway lacks yet (the bus's consumer groups) are hidden, not shown as errors.
    expect(await page.getByRole('alert').count()).toBe(0);
    await screenshot('overview');
  });

  it('finds a run stuck on a missing tax ID, fixes the account in CRM, retries it by clicking and watches it become ACTIVE', async () => {
    // A won deal whose account has no tax registration: its activation parks on TAX_ID_MISSING.
    const opportunityId = crm
      .prepare(
        `SELECT o.id FROM opportunity o JOIN opportunity_stage s ON s.name = o.stage_name JOIN account a ON a.id = o.account_id
         WHERE s.is_won = 1 AND o.project_id IS NULL AND a.tax_id IS NULL ORDER BY o.id`,
      )
      .pluck()
      .get() as string;
    const accountId = crm.prepare('SELECT account_id FROM opportunity WHERE id = ?').pluck().get(opportunityId) as string;
    const parked = await stack.query(`mutation($id: ID!) { activateProject(input: { opportunityId: $id, idempotencyKey: "console-e2e" }) { id status } }`, {
      id: opportunityId,
    });
    expect(parked.body.data.activateProject.status).toBe('EXCEPTION_OPEN');
    const runId = parked.body.data.activateProject.id as string;

    // The operator opens the exception queue, narrows it to missing tax IDs and opens the account's exception.
    await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name: 'Exceptions' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/console/exceptions');
    const filters = page.getByRole('search', { name: 'Exception filters' });
    await filters.getByLabel('Status').selectOption('OPEN');
    await filters.getByLabel('System').selectOption('CRM');
    await filters.getByLabel('Type').selectOption('TAX_ID_MISSING');
    await page.getByRole('button', { name: `Open TAX_ID_MISSING on Account ${accountId}` }).click();
    const detail = page.getByRole('region', { name: 'Exception detail' });
    await detail.getByText(/Enter the account's tax registration in CRM/).waitFor();
    await expect.poll(() => detail.getByRole('status', { name: 'Run status' }).textContent()).toBe('EXCEPTION_OPEN');
    expect(await detail.getByText(`${runId} (deal ${opportunityId})`).count()).toBe(1);

    // Who is on it, and what was done, are recorded.
    await detail.getByLabel('Assignee').fill('finance.ops@firm.example');
    await detail.getByRole('button', { name: 'Assign' }).click();
    await detail.getByLabel('Note').fill('Client sent the VAT number by email');
    await detail.getByRole('button', { name: 'Add note' }).click();
    const history = detail.getByRole('list', { name: 'Exception history' });
    await history.getByText('ASSIGNED by development: finance.ops@firm.example').waitFor();
    await history.getByText('NOTED by development: Client sent the VAT number by email').waitFor();
    await screenshot('exceptions');

    // Retrying before the fix finds the problem again: the run stays parked.
    // Finance enters the tax ID in CRM (CRM's own API, through the graph), then the operator clicks Retry.
    const fixed = await stack.query(`mutation($id: ID!) { updateAccount(id: $id, input: { taxId: "GB123456789" }) { id taxId } }`, { id: accountId });
    expect(fixed.body.data.updateAccount).toEqual({ id: accountId, taxId: 'GB123456789' });
    await detail.getByRole('button', { name: 'Retry' }).click();

    // The run's progress arrives over the subscription: the page shows it reach ACTIVE without a reload.
    await expect.poll(() => detail.getByRole('status', { name: 'Run status' }).textContent(), { timeout: 20_000 }).toBe('ACTIVE');
    const live = detail.getByRole('list', { name: 'Live run updates' });
    await live.getByText(/ ACTIVE$/).waitFor();
    expect(await live.getByText(/ VALIDATING$/).count()).toBeGreaterThan(0);
    await history.getByText(/RETRIED by development/).waitFor();
    await expect.poll(() => detail.getByText(/^RESOLVED/).count()).toBeGreaterThan(0);
    await screenshot('exception-resolved');

    // The process API agrees.
    const run = await stack.query(`query($id: ID!) { activationRun(id: $id) { status exceptions { type status } } }`, { id: runId });
    expect(run.body.data.activationRun).toEqual({ status: 'ACTIVE', exceptions: [{ type: 'TAX_ID_MISSING', status: 'RESOLVED' }] });

    // The run's steps and transitions on the Runs page.
    await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name: 'Runs' }).click();
    await page.getByRole('button', { name: `Open run ${runId}` }).click();
    const runView = page.getByRole('region', { name: 'Run detail' });
    await runView
      .getByRole('table', { name: 'Run steps' })
      .getByRole('row', { name: /^PUBLISH_ACTIVATED SUCCEEDED/ })
      .waitFor();
    await runView
      .getByRole('list', { name: 'Run transitions' })
      .getByText(/EXCEPTION_OPEN → VALIDATING/)
      .waitFor();
    await screenshot('runs');
  });

  it('replays a dead letter by clicking, and the replay is recorded', async () => {
    // An event no contract covers (a version nobody publishes) is dead-lettered by the activation process.
    const offContract = { ...newEvent('opportunity.closed_won', { source: 'crm', subject: '006000000000000AAA', data: {} }), version: 7 };
    await stack.bus.publish(offContract);
    const letterOf = async () => {
      const { body } = await stack.query(`{ deadLetters(type: "opportunity.closed_won") { id eventId } }`);
      return (body.data.deadLetters as Array<{ id: string; eventId: string }>).find((letter) => letter.eventId === offContract.id)?.id;
    };
    await expect.poll(letterOf).toBeDefined();
    const letterId = (await letterOf())!;

    await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name: 'Dead letters' }).click();
    const letters = page.getByRole('table', { name: 'Process dead letters' });
    const row = letters
      .getByRole('row')
      .filter({ hasText: 'no contract for opportunity.closed_won v7' })
      .filter({ has: page.getByRole('button', { name: `Replay dead letter ${letterId}` }) });
    await row.waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    await screenshot('dead-letters');
    await page.getByRole('button', { name: `Replay dead letter ${letterId}` }).click();

    // Replayed as received, it is still off its contract: the letter is closed as REPLAYED (who, when) and a new
    // one holds the event afresh.
    await page.getByRole('button', { name: `Replay dead letter ${letterId}` }).waitFor({ state: 'detached' });
    const { body } = await stack.query(
      `{ deadLetters(status: [OPEN, REPLAYED], type: "opportunity.closed_won") { id eventId status replayedBy actions { action by } } }`,
    );
    const mine = (body.data.deadLetters as Array<{ id: string; eventId: string; status: string; replayedBy: string | null; actions: unknown[] }>).filter(
      (letter) => letter.eventId === offContract.id,
    );
    expect(mine.find((letter) => letter.id === letterId)).toEqual({
      id: letterId,
      eventId: offContract.id,
      status: 'REPLAYED',
      replayedBy: 'development',
      actions: [{ action: 'REPLAYED', by: 'development' }],
    });
    await expect
      .poll(
        async () =>
          (await stack.query(`{ deadLetters { eventId } }`)).body.data.deadLetters.filter((l: { eventId: string }) => l.eventId === offContract.id).length,
      )
      .toBe(1);
    await page.getByRole('region', { name: 'Process dead letters' }).getByLabel('Status').selectOption('REPLAYED');
    await letters.getByRole('row').filter({ hasText: 'REPLAYED by development' }).first().waitFor();
    await screenshot('dead-letters-replayed');

    // Back on the overview, the trend shows the run started, failed validation, raised its exception and activated.
    await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('figure', { name: 'Runs and exceptions per bucket' }).locator('.recharts-bar-rectangle').first().waitFor();
    await screenshot('overview-after');
  });

  it('with identity configured, asks for a token, sends it, and leaves the actions to the operations scope', async () => {
    const idp = await IdentityProvider.start();
    try {
      const secured = await stack.startGateway({ identity: loadIdentityOptions(idp.gatewayEnv) });
      const securedPage = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      securedPage.on('pageerror', (error) => pageErrors.push(error.message));
      await securedPage.goto(`${secured.url.replace(/\/graphql$/, '')}/console/exceptions`);
      // No token: the gateway refuses the data (the page itself is static and public).
      await securedPage
        .getByRole('alert')
        .filter({ hasText: /token|authenticat/i })
        .first()
        .waitFor();
      await securedPage.screenshot({ path: join(SCREENSHOTS, 'sign-in.png'), fullPage: true });

      const signInAs = async (persona: (typeof PERSONAS)[keyof typeof PERSONAS]) => {
        const signOut = securedPage.getByRole('button', { name: 'Sign out' });
        if (await signOut.count()) await signOut.click();
        await securedPage.getByLabel('Bearer token').fill(await idp.token(persona));
        await securedPage.getByRole('button', { name: 'Sign in' }).click();
        await securedPage.getByRole('search', { name: 'Exception filters' }).getByLabel('Status').selectOption('RESOLVED');
        await securedPage
          .getByRole('button', { name: /^Open TAX_ID_MISSING on Account / })
          .first()
          .click();
        return securedPage.getByRole('region', { name: 'Exception detail' });
      };

      // Staff without integration:operate read the queue, but may not act on it.
      let detail = await signInAs(PERSONAS.deliveryManager);
      await detail.getByLabel('Assignee').fill('dana');
      await detail.getByRole('button', { name: 'Assign' }).click();
      await detail.getByRole('alert').filter({ hasText: 'Unauthorized field or type' }).waitFor();

      // An integration engineer may; the history names them.
      detail = await signInAs(PERSONAS.integrationEngineer);
      await detail.getByLabel('Assignee').fill('iris');
      await detail.getByRole('button', { name: 'Assign' }).click();
      await detail.getByRole('list', { name: 'Exception history' }).getByText('ASSIGNED by ops-iris: iris').waitFor();
      await securedPage.close();
    } finally {
      await idp.stop();
    }
  });

  it('loaded nothing from outside the gateway, threw no script error, and kept a screenshot of each page', () => {
    expect(offOrigin).toEqual([]);
    expect(pageErrors).toEqual([]);
    for (const name of ['overview', 'exceptions', 'exception-resolved', 'runs', 'dead-letters', 'dead-letters-replayed', 'overview-after', 'sign-in']) {
      const file = join(SCREENSHOTS, `${name}.png`);
      expect(statSync(file).size).toBeGreaterThan(10_000);
      expect(readFileSync(file).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    }
  });
});
