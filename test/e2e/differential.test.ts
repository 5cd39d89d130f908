/**
 * Correctness never trades for speed: a corpus of queries — every benchmark workload, plus fragments, aliases,
 * variables, directives and errors from a subgraph — sent through psgraph's gateway and through plain
 * @apollo/gateway (its defaults) over the same subgraphs must get identical responses, one at a time and with
 * many of them in flight at once (where psgraph merges and deduplicates subgraph requests).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../gateway/src/gatewayConfig.js';
import { type GatewayServer, createGatewayServer } from '../../gateway/src/gatewayServer.js';
import { standardBenchDataDir } from '../bench/benchPaths.js';
import { loadStandardBenchData, standardSupergraphAt } from '../bench/standard/standardSubgraphs.js';
import { REPO_ROOT, type RunningProcess, freePort, runTypeScript } from '../support/processes.js';
import { BILLED_VS_UNBILLED_QUERY, PORTFOLIO_QUERY, PROJECT_QUERY } from '../support/queries.js';
import { type Stack, startStack } from '../support/stack.js';
import { createLogger } from '../../subgraphs/platform/src/logging/index.js';

interface Case {
  readonly name: string;
  readonly query: string;
  readonly variables?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
}

interface Answer {
  status: number;
  body: unknown;
}

async function post(url: string, { query, variables, headers }: Case): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(variables ? { query, variables } : { query }),
  });
  return { status: response.status, body: withoutStackTraces(await response.json()) };
}

/**
 * Stack traces (outside production) say where each gateway's code raised an error: debugging aids that rightly
 * differ between two gateways, not part of the response. Everything else is compared as is.
 */
function withoutStackTraces(body: unknown): unknown {
  for (const error of (body as { errors?: Array<{ extensions?: Record<string, unknown> }> }).errors ?? []) delete error.extensions?.['stacktrace'];
  return body;
}

/** Plain @apollo/gateway with its defaults over the given supergraph, listening on a free port. */
async function startPlainApollo(supergraphSdl: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl }) });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url, stop: () => server.stop() };
}

/** Sends every case to both gateways one at a time, then all at once three times over to psgraph. */
async function compare(cases: readonly Case[], psgraphUrl: string, apolloUrl: string): Promise<void> {
  const expected = new Map<string, Answer>();
  for (const testCase of cases) {
    const reference = await post(apolloUrl, testCase);
    expected.set(testCase.name, reference);
    const answer = await post(psgraphUrl, testCase);
    expect({ case: testCase.name, ...answer }).toEqual({ case: testCase.name, ...reference });
    // Field order too: a response lists fields in the order the client selected them.
    expect(JSON.stringify(answer.body)).toBe(JSON.stringify(reference.body));
  }
  const concurrent = await Promise.all(
    [0, 1, 2].flatMap((round) =>
      cases.map(async (testCase) => {
        const headers = round === 2 ? { ...testCase.headers, authorization: `Bearer differential-${testCase.name}` } : testCase.headers;
        return { case: testCase.name, ...(await post(psgraphUrl, { ...testCase, ...(headers ? { headers } : {}) })) };
      }),
    ),
  );
  for (const answer of concurrent) {
    expect(answer).toEqual({ case: answer.case, ...expected.get(answer.case)! });
    expect(JSON.stringify(answer.body)).toBe(JSON.stringify(expected.get(answer.case)!.body));
  }
}

describe('psgraph answers exactly as plain @apollo/gateway', () => {
  describe("over psgraph's four system subgraphs", () => {
    let stack: Stack;
    let apollo: { url: string; stop: () => Promise<void> };
    let cases: Case[];

    beforeAll(async () => {
      stack = await startStack();
      const urls: Record<string, string> = {
        ...Object.fromEntries(Object.entries(stack.subgraphs).map(([name, running]) => [name, running.url])),
        activation: stack.activation.url,
      };
      const supergraph = readFileSync(stack.supergraphPath, 'utf8').replace(/@join__graph\(name: "(\w+)", url: "[^"]*"\)/g, (match, name: string) =>
        urls[name] ? `@join__graph(name: "${name}", url: "${urls[name]}")` : match,
      );
      apollo = await startPlainApollo(supergraph);
      const { body } = await stack.query(`{ projects(first: 3, filter: { status: [ACTIVE] }) { nodes { id account { id } } } }`);
      const projects = body.data.projects.nodes as Array<{ id: string; account: { id: string } }>;
      const [first, second, third] = projects;
      const page = await stack.query(`query ($f: ProjectFilter) { projects(first: 20, filter: $f) { pageInfo { endCursor } } }`, { f: { region: ['EUROPE'] } });
      cases = [
        // The benchmark's workloads.
        ...projects.map((project, i) => ({ name: `unified project view ${i + 1}`, query: PROJECT_QUERY, variables: { id: project.id } })),
        { name: 'portfolio page 1', query: PORTFOLIO_QUERY, variables: { first: 50, filter: { status: ['ACTIVE'], region: ['EUROPE'] } } },
        {
          name: 'portfolio page 2',
          query: PORTFOLIO_QUERY,
          variables: { first: 20, after: page.body.data.projects.pageInfo.endCursor, filter: { region: ['EUROPE'] } },
        },
        { name: 'billed vs unbilled', query: BILLED_VS_UNBILLED_QUERY, variables: { fromMonth: '2026-01', toMonth: '2026-06' } },
        // Fragments: named, nested, inline with and without a type condition.
        {
          name: 'fragments',
          query: `query ($id: ID!) { project(id: $id) { ...Head ... on Project { invoiceSummary { ...Totals } } ... { account { ...AccountName } } } }
            fragment Head on Project { id name opportunity { ...Opp } }
            fragment Opp on Opportunity { name stage amount { ...M } }
            fragment Totals on InvoiceSummary { invoiceCount billed { ...M } outstanding { ...M } }
            fragment AccountName on Account { name customerNumber }
            fragment M on Money { amount currency }`,
          variables: { id: first!.id },
        },
        // Aliases: the same field twice with different arguments, aliased nested fields across subgraphs.
        {
          name: 'aliases',
          query: `query ($a: ID!, $b: ID!) {
            one: project(id: $a) { key: id title: name deal: opportunity { value: amount { amount } } money: financials { m: margin { amount } } }
            two: project(id: $b) { key: id title: name deal: opportunity { value: amount { amount } } money: financials { m: margin { amount } } }
            again: project(id: $a) { id paid: invoiceSummary { p: paid { amount } } }
          }`,
          variables: { a: first!.id, b: second!.id },
        },
        // Variables: input objects, lists, defaults, @include and @skip.
        {
          name: 'variables and directives',
          query: `query ($filter: ProjectFilter, $first: Int = 5, $withInvoices: Boolean!, $noAccount: Boolean = true) {
            projects(first: $first, filter: $filter) { totalCount nodes { id account @skip(if: $noAccount) { name } invoices @include(if: $withInvoices) { number status } } }
          }`,
          variables: { filter: { status: ['ACTIVE', 'COMPLETED'], region: ['APAC', 'UK_IRELAND'] }, withInvoices: true },
        },
        {
          name: '__typename everywhere',
          query: `query ($id: ID!) { __typename project(id: $id) { __typename id account { __typename id } invoices { __typename id } } }`,
          variables: { id: third!.id },
        },
        {
          name: 'account across three subgraphs',
          query: `query ($id: ID!) { account(id: $id) { name customerNumber receivables { outstanding { amount currency } } } }`,
          variables: { id: first!.account.id },
        },
        // Errors from a subgraph: a bad ID, a page size out of range, an unknown record next to a good one.
        { name: 'error: invalid id', query: `{ project(id: "not-a-project") { id name } }` },
        { name: 'error: page size', query: `{ projects(first: 500) { totalCount } }` },
        {
          name: 'error beside data',
          query: `query ($id: ID!) { good: project(id: $id) { id name } bad: project(id: "prj_00000000000000000000000000") { id name } }`,
          variables: { id: second!.id },
        },
        {
          name: 'error: invalid invoice id',
          query: `query ($id: ID!) { project(id: $id) { name } invoice(id: "nope") { number } }`,
          variables: { id: third!.id },
        },
      ];
    });
    afterAll(async () => {
      await apollo?.stop();
      await stack?.stop();
    });

    it('gives identical responses to every query in the corpus, alone and concurrently', async () => {
      expect(cases.length).toBeGreaterThanOrEqual(14);
      await compare(cases, stack.gatewayUrl, apollo.url);
    });
  });

  describe('over the standard benchmark (accounts, inventory, products, reviews)', () => {
    let subgraphs: RunningProcess;
    let gateway: GatewayServer;
    let psgraphUrl: string;
    let apollo: { url: string; stop: () => Promise<void> };
    let cluster: ChildProcess;
    let clusterUrl: string;
    let workDir: string;
    let requestBody: { query: string };

    beforeAll(async () => {
      const data = loadStandardBenchData(standardBenchDataDir());
      requestBody = JSON.parse(data.requestBody) as { query: string };
      const port = await freePort();
      subgraphs = runTypeScript('test/bench/standard/main.ts', {
        PORT: String(port),
        HOST: '127.0.0.1',
        PSGRAPH_BENCH_DATA: data.dir,
        PSGRAPH_BENCH_MEMOIZE: 'false',
      });
      await subgraphs.waitFor(/ready at/, 60_000);
      workDir = mkdtempSync(join(tmpdir(), 'psgraph-differential-'));
      const supergraph = standardSupergraphAt(data, `http://127.0.0.1:${port}`);
      const supergraphPath = join(workDir, 'supergraph.graphql');
      writeFileSync(supergraphPath, supergraph);
      gateway = createGatewayServer(
        { ...loadGatewayConfig({}), port: 0, supergraphPath, production: true },
        { logger: createLogger('gateway', { level: 'silent' }) },
      );
      psgraphUrl = await gateway.listen();
      apollo = await startPlainApollo(supergraph);
      // The gateway's own entry point in cluster mode: two workers sharing one port.
      const clusterPort = await freePort();
      cluster = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/cli/gateway.ts', '--workers', '2'], {
        cwd: REPO_ROOT,
        env: { ...process.env, PSGRAPH_GATEWAY_PORT: String(clusterPort), PSGRAPH_SUPERGRAPH_PATH: supergraphPath },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the gateway cluster did not start:\n${output}`)), 60_000);
        const read = (chunk: Buffer) => {
          output += chunk.toString('utf8');
          if (output.includes('(2 workers)')) {
            clearTimeout(timer);
            resolve();
          }
        };
        cluster.stdout!.on('data', read);
        cluster.stderr!.on('data', read);
        cluster.once('exit', (code) => reject(new Error(`the gateway cluster exited (${code}):\n${output}`)));
      });
      clusterUrl = `http://127.0.0.1:${clusterPort}/graphql`;
    });
    afterAll(async () => {
      if (cluster && cluster.exitCode === null) {
        const exited = new Promise((resolve) => cluster.once('exit', resolve));
        cluster.kill('SIGTERM');
        await exited;
      }
      await apollo?.stop();
      await gateway?.stop();
      subgraphs?.child.kill('SIGTERM');
      await subgraphs?.exited;
      if (workDir) rmSync(workDir, { recursive: true, force: true });
    });

    const standardCases = (): Case[] => [
      { name: 'TestQuery', query: requestBody.query },
      { name: 'TestQuery with authorization', query: requestBody.query, headers: { authorization: 'Bearer someone' } },
      {
        name: 'top products with variables',
        query: `query ($n: Int) { topProducts(first: $n) { upc name shippingEstimate reviews { id author { username name } } } }`,
        variables: { n: 3 },
      },
      { name: 'aliased users', query: `{ me { id } u1: user(id: "2") { name reviews { id } } u2: user(id: "3") { name username } }` },
    ];

    it('gives identical responses to TestQuery and its variations, alone and concurrently', async () => {
      await compare(standardCases(), psgraphUrl, apollo.url);
    });

    it("gives identical responses with @apollo/gateway's own executor (PSGRAPH_EXECUTOR=apollo)", async () => {
      const withApolloExecutor = createGatewayServer(
        { ...loadGatewayConfig({ PSGRAPH_EXECUTOR: 'apollo' }), port: 0, supergraphPath: join(workDir, 'supergraph.graphql'), production: true },
        { logger: createLogger('gateway', { level: 'silent' }) },
      );
      try {
        expect(withApolloExecutor.executor).toBeUndefined();
        await compare(standardCases(), await withApolloExecutor.listen(), apollo.url);
        // …while the default gateway answered through psgraph's executor, with its operations prepared.
        expect(gateway.executor!.preparedCount).toBeGreaterThanOrEqual(standardCases().length - 1);
      } finally {
        await withApolloExecutor.stop();
      }
    });

    it('gives identical responses from its entry point in cluster mode (--workers 2)', async () => {
      await compare(standardCases(), clusterUrl, apollo.url);
    });
  });
});
