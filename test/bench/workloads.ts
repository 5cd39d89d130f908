/**
 * The workloads: psgraph's own (the unified project view, the portfolio page, the billed-vs-unbilled report)
 * over its four system subgraphs, and the field's standard benchmark (`TestQuery` over accounts / inventory /
 * products / reviews), with identical requests and with a unique `authorization` header per request.
 *
 * Each workload is a rotation of requests; each request's expected response is taken from the reference gateway
 * (plain @apollo/gateway) before any load, and must have data and no errors — for the standard benchmark it must
 * also equal the response computed from the records themselves.
 */
import { BILLED_VS_UNBILLED_QUERY, PORTFOLIO_QUERY, PROJECT_QUERY } from '../support/queries.js';
import { jsonEqual, type LoadRequest } from './loadGenerator.js';

export type SupergraphKind = 'psgraph' | 'standard';
export type WorkloadId = 'project' | 'portfolio' | 'billing-report' | 'standard' | 'standard-auth';

export interface Workload {
  readonly id: WorkloadId;
  readonly title: string;
  readonly supergraph: SupergraphKind;
  readonly uniqueAuthorization: boolean;
  /** What varies from request to request, for the report. */
  readonly rotation: string;
}

export const WORKLOADS: readonly Workload[] = [
  { id: 'project', title: '(a) unified project view', supergraph: 'psgraph', uniqueAuthorization: false, rotation: '50 different projects, round robin' },
  {
    id: 'portfolio',
    title: '(b) portfolio page, 50 projects',
    supergraph: 'psgraph',
    uniqueAuthorization: false,
    rotation: 'pages 1–2 of 12 filters (status × region), round robin',
  },
  {
    id: 'billing-report',
    title: '(c) billed vs unbilled by region and month',
    supergraph: 'psgraph',
    uniqueAuthorization: false,
    rotation: '12 six-month windows, round robin',
  },
  { id: 'standard', title: '(d) standard benchmark, TestQuery', supergraph: 'standard', uniqueAuthorization: false, rotation: 'identical requests' },
  {
    id: 'standard-auth',
    title: '(d′) standard benchmark, unique authorization',
    supergraph: 'standard',
    uniqueAuthorization: true,
    rotation: 'identical body, a unique `authorization` header on every request',
  },
];

export type Query = (body: string) => Promise<unknown>;

interface GraphQLBody {
  data?: Record<string, any> | null;
  errors?: unknown[];
}

async function expectData(query: Query, body: string): Promise<LoadRequest> {
  const response = (await query(body)) as GraphQLBody;
  if (!response || typeof response !== 'object' || !response.data || response.errors) {
    throw new Error(`the reference gateway did not answer ${body.slice(0, 120)}… with data and no errors: ${JSON.stringify(response).slice(0, 500)}`);
  }
  return { body, expected: response };
}

const request = (query: string, variables: Record<string, unknown>) => JSON.stringify({ query, variables });

export async function buildRequests(workload: Workload, reference: Query, standard?: { requestBody: string; expected: unknown }): Promise<LoadRequest[]> {
  switch (workload.id) {
    case 'project': {
      const page = (await reference(request('query Ids { projects(first: 50, filter: { status: [ACTIVE, COMPLETED] }) { nodes { id } } }', {}))) as GraphQLBody;
      const ids: string[] = (page.data?.['projects']?.nodes ?? []).map((node: { id: string }) => node.id);
      if (ids.length < 10) throw new Error(`the reference gateway listed ${ids.length} projects`);
      return Promise.all(ids.map((id) => expectData(reference, request(PROJECT_QUERY, { id }))));
    }
    case 'portfolio': {
      const requests: LoadRequest[] = [];
      for (const status of [['ACTIVE'], ['COMPLETED'], ['PLANNED', 'ACTIVE', 'ON_HOLD']]) {
        for (const region of ['NORTH_AMERICA', 'UK_IRELAND', 'EUROPE', 'APAC']) {
          const filter = { status, region: [region] };
          const first = await expectData(reference, request(PORTFOLIO_QUERY, { first: 50, filter }));
          requests.push(first);
          const pageInfo = (first.expected as GraphQLBody).data?.['projects']?.pageInfo;
          if (pageInfo?.hasNextPage) requests.push(await expectData(reference, request(PORTFOLIO_QUERY, { first: 50, after: pageInfo.endCursor, filter })));
        }
      }
      return requests;
    }
    case 'billing-report': {
      const windows = Array.from({ length: 12 }, (_, i) => {
        const month = (offset: number) => {
          const index = 2025 * 12 + i + offset;
          return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
        };
        return { fromMonth: month(0), toMonth: month(5) };
      });
      return Promise.all(windows.map((window) => expectData(reference, request(BILLED_VS_UNBILLED_QUERY, window))));
    }
    case 'standard':
    case 'standard-auth': {
      if (!standard) throw new Error('the standard benchmark data is missing');
      const answered = await expectData(reference, standard.requestBody);
      if (!jsonEqual(answered.expected, standard.expected)) {
        throw new Error('the reference gateway answered TestQuery differently from the response computed from the records');
      }
      return [answered];
    }
  }
}
