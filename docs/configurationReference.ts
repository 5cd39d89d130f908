/**
 * The configuration tables of `docs/configuration.md`, generated from the configuration modules themselves: each
 * option's JSDoc names its environment variable in parentheses and its `@default`, and that comment is the only
 * place either is written. `npm run docs` rewrites the tables; a unit test fails when they are stale, and when
 * the code reads a variable no table documents.
 *
 *   /** Deepest selection nesting allowed. @default 15 (PSGRAPH_MAX_DEPTH) *\/
 *   readonly maxDepth: number;
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const CONFIGURATION_DOC = fileURLToPath(new URL('./configuration.md', import.meta.url));

/** One table: the options interface it is generated from. */
export interface ConfigurationSection {
  /** The marker pair in configuration.md: `<!-- config:<id> -->` … `<!-- /config:<id> -->`. */
  readonly id: string;
  readonly file: string;
  readonly interfaceName: string;
}

export const CONFIGURATION_SECTIONS: readonly ConfigurationSection[] = [
  { id: 'services', file: 'subgraphs/platform/src/config.ts', interfaceName: 'SubgraphConfig' },
  { id: 'principals', file: 'subgraphs/platform/src/security/principalTokens.ts', interfaceName: 'PrincipalVerificationOptions' },
  { id: 'signing', file: 'subgraphs/platform/src/security/principalTokens.ts', interfaceName: 'SigningSettings' },
  { id: 'logging', file: 'subgraphs/platform/src/logging/loggingConfig.ts', interfaceName: 'LoggingConfig' },
  { id: 'event-bus', file: 'subgraphs/platform/src/events/openEventBus.ts', interfaceName: 'EventBusConfig' },
  { id: 'retention', file: 'subgraphs/platform/src/retentionConfig.ts', interfaceName: 'RetentionConfig' },
  { id: 'sandboxes', file: 'subgraphs/sandboxes/src/world/world.ts', interfaceName: 'WorldOptions' },
  { id: 'gateway', file: 'gateway/src/gatewayConfig.ts', interfaceName: 'GatewayConfig' },
  { id: 'identity', file: 'gateway/src/guards/identity.ts', interfaceName: 'IdentityOptions' },
  { id: 'authorization', file: 'gateway/src/guards/fieldAuthorization.ts', interfaceName: 'AuthorizationOptions' },
  { id: 'demand-control', file: 'gateway/src/guards/demandControl.ts', interfaceName: 'DemandControlOptions' },
  { id: 'rate-limits', file: 'gateway/src/guards/rateLimits.ts', interfaceName: 'RateLimitOptions' },
  { id: 'crm', file: 'subgraphs/crm/src/crmConfig.ts', interfaceName: 'CrmSystemSettings' },
  { id: 'salesforce', file: 'subgraphs/crm/src/salesforce/salesforceConfig.ts', interfaceName: 'SalesforceConfig' },
  { id: 'psa', file: 'subgraphs/psa/src/psaConfig.ts', interfaceName: 'PsaSystemSettings' },
  { id: 'kantata', file: 'subgraphs/psa/src/kantata/kantataConfig.ts', interfaceName: 'KantataConfig' },
  { id: 'erp', file: 'subgraphs/erp/src/erpConfig.ts', interfaceName: 'ErpSystemSettings' },
  { id: 'netsuite', file: 'subgraphs/erp/src/netsuite/netsuiteConfig.ts', interfaceName: 'NetSuiteConfig' },
  { id: 'billing', file: 'subgraphs/billing/src/billingConfig.ts', interfaceName: 'BillingSystemSettings' },
  { id: 'stripe', file: 'subgraphs/billing/src/stripe/stripeConfig.ts', interfaceName: 'StripeConfig' },
  { id: 'activation', file: 'subgraphs/activation/src/activationConfig.ts', interfaceName: 'ActivationConfig' },
  { id: 'activation-retry', file: 'subgraphs/activation/src/saga/retryPolicy.ts', interfaceName: 'RetryPolicy' },
  { id: 'tracing', file: 'subgraphs/platform/src/telemetry/tracingConfig.ts', interfaceName: 'TracingConfig' },
];

/**
 * An environment variable as the code and the docs name it (`PSGRAPH_<NAME>_URL` stands for one per subgraph);
 * OTEL_* are OpenTelemetry's standard variables, which tracing reads.
 */
const VARIABLE = /\b(?:PSGRAPH_[A-Z0-9_<>]+[A-Z0-9>]|OTEL_[A-Z0-9_]*[A-Z0-9]|REDIS_URL|NODE_ENV)\b/g;
const NAMES_A_VARIABLE = new RegExp(VARIABLE.source);

export interface ConfigurationRow {
  readonly variables: readonly string[];
  readonly defaultValue: string;
  readonly meaning: string;
}

/** The rows of one options interface: every property whose JSDoc names a variable in parentheses. */
export function configurationRows(section: ConfigurationSection): ConfigurationRow[] {
  const path = `${REPO_ROOT}${section.file}`;
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
  const declaration = source.statements.find(
    (statement): statement is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(statement) && statement.name.text === section.interfaceName,
  );
  if (!declaration) throw new Error(`${section.file} declares no interface ${section.interfaceName}.`);
  const rows: ConfigurationRow[] = [];
  for (const member of declaration.members) {
    const doc = ts.getJSDocCommentsAndTags(member).find(ts.isJSDoc);
    if (!doc) continue;
    const description = ts.getTextOfJSDocComment(doc.comment) ?? '';
    const defaultTag = doc.tags?.find((tag) => tag.tagName.text === 'default');
    const defaultText = defaultTag ? (ts.getTextOfJSDocComment(defaultTag.comment) ?? '') : '';
    // The variables are in the last parenthetical of the comment that names one.
    const parentheticals = [...`${description} ${defaultText}`.matchAll(/\(([^()]*)\)/g)]
      .map((match) => match[1]!)
      .filter((text) => NAMES_A_VARIABLE.test(text));
    const named = parentheticals.at(-1);
    if (!named) continue;
    rows.push({
      variables: [...named.matchAll(VARIABLE)].map((match) => match[0]),
      defaultValue: oneLine(withoutParenthetical(defaultText, named)) || '—',
      meaning: oneLine(withoutParenthetical(description, named)),
    });
  }
  return rows;
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
const withoutParenthetical = (text: string, inside: string) => text.replace(` (${inside})`, '').replace(`(${inside})`, '');
const cell = (text: string) => text.replace(/\|/g, '\\|');

export function renderTable(rows: readonly ConfigurationRow[]): string {
  const lines = ['| variable | default | meaning |', '|---|---|---|'];
  for (const row of rows) lines.push(`| ${row.variables.map((variable) => `\`${variable}\``).join(', ')} | ${cell(row.defaultValue)} | ${cell(row.meaning)} |`);
  return lines.join('\n');
}

/** configuration.md with every generated table replaced by what the code says now. */
export function renderConfigurationDoc(current: string): string {
  let doc = current;
  for (const section of CONFIGURATION_SECTIONS) {
    const start = `<!-- config:${section.id} -->`;
    const end = `<!-- /config:${section.id} -->`;
    const from = doc.indexOf(start);
    const to = doc.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/configuration.md has no ${start} … ${end} section.`);
    doc = `${doc.slice(0, from + start.length)}\n${renderTable(configurationRows(section))}\n${doc.slice(to)}`;
  }
  return doc;
}

/** Every variable the generated tables document. */
export function documentedVariables(): Set<string> {
  return new Set(CONFIGURATION_SECTIONS.flatMap((section) => configurationRows(section).flatMap((row) => row.variables)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = readFileSync(CONFIGURATION_DOC, 'utf8');
  const next = renderConfigurationDoc(current);
  if (next !== current) writeFileSync(CONFIGURATION_DOC, next);
  console.log(next === current ? 'docs/configuration.md is up to date.' : 'docs/configuration.md: tables regenerated.');
}
