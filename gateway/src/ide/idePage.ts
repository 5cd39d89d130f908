/**
 * The GraphQL IDE the gateway serves: GraphiQL, with React and GraphiQL loaded from the gateway itself (from
 * the installed npm packages), never from a CDN. It works on a machine with no internet access.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { HttpHandler } from '../../../subgraphs/platform/src/http/graphqlHttpHandler.js';

const require = createRequire(import.meta.url);

/** A file inside an installed package; the UMD builds are not in the packages' `exports`, so go by folder. */
const packageFile = (name: string, file: string) => join(dirname(require.resolve(`${name}/package.json`)), file);

/** The IDE's static files: URL path → [installed file, content type]. */
const ASSETS: Readonly<Record<string, readonly [string, string]>> = {
  '/ide/react.js': [packageFile('react', 'umd/react.production.min.js'), 'text/javascript; charset=utf-8'],
  '/ide/react-dom.js': [packageFile('react-dom', 'umd/react-dom.production.min.js'), 'text/javascript; charset=utf-8'],
  '/ide/graphiql.js': [packageFile('graphiql', 'graphiql.min.js'), 'text/javascript; charset=utf-8'],
  '/ide/graphiql.css': [packageFile('graphiql', 'graphiql.min.css'), 'text/css; charset=utf-8'],
};

export const IDE_ASSET_PATHS = Object.keys(ASSETS);

/** The query the IDE opens with: one project across all four systems. */
export const FIRST_QUERY = `# The unified project view: one project across CRM, PSA, ERP and billing.
query FirstProject {
  projects(first: 1, filter: { status: [ACTIVE] }) {
    totalCount
    nodes {
      id
      name
      status
      opportunity { name stage amount { amount currency } account { name } }
      manager { name }
      assignments { resource { name role { name } } status }
      timeTotals { approvedHours approvedBillableValue { amount currency } }
      financials { budget { amount currency } recognizedRevenue { amount } margin { amount } marginPercent }
      invoiceSummary { billed { amount currency } outstanding { amount } overdue { amount } lastInvoiceStatus }
    }
  }
}
`;

/** The IDE's page for the endpoint at `graphqlPath`, opening with `firstQuery`. */
export function idePage(graphqlPath: string, firstQuery: string = FIRST_QUERY): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>psgraph · GraphiQL</title>
<link rel="stylesheet" href="/ide/graphiql.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading the IDE…</div>
<script src="/ide/react.js"></script>
<script src="/ide/react-dom.js"></script>
<script src="/ide/graphiql.js"></script>
<script>
  const fetcher = GraphiQL.createFetcher({ url: new URL(${JSON.stringify(graphqlPath)}, location.href).href });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, { fetcher, defaultQuery: ${JSON.stringify(firstQuery)}, defaultEditorToolsVisibility: true }),
  );
</script>
</body>
</html>`;
}

/** The IDE's static files (shared by every endpoint's page). */
export function ideAssetHandlers(): Record<string, HttpHandler> {
  const cache = new Map<string, Buffer>();
  const handlers: Record<string, HttpHandler> = {};
  for (const [path, [file, contentType]] of Object.entries(ASSETS)) {
    handlers[path] = async (_request, response) => {
      let body = cache.get(path);
      if (!body) {
        body = await readFile(file);
        cache.set(path, body);
      }
      response.writeHead(200, { 'content-type': contentType, 'content-length': body.length, 'cache-control': 'public, max-age=86400' });
      response.end(body);
    };
  }
  return handlers;
}
