import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_DOC, REPO_ROOT, documentedVariables, renderConfigurationDoc } from './configurationReference.js';

/** Every environment variable the services' sources name (tests and tools are not the services' configuration). */
function variablesReadByTheCode(): Set<string> {
  const found = new Set<string>();
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) {
        if (entry !== 'generated' && entry !== 'test' && entry !== 'node_modules') visit(path);
      } else if (entry.endsWith('.ts')) {
        for (const match of readFileSync(path, 'utf8').matchAll(/\b(?:PSGRAPH_[A-Z0-9_]*[A-Z0-9]|OTEL_[A-Z0-9_]*[A-Z0-9]|REDIS_URL|NODE_ENV)\b/g))
          found.add(match[0]);
      }
    }
  };
  visit(join(REPO_ROOT, 'gateway', 'src'));
  for (const subgraph of readdirSync(join(REPO_ROOT, 'subgraphs'))) visit(join(REPO_ROOT, 'subgraphs', subgraph, 'src'));
  return found;
}

/** `PSGRAPH_CRM_URL` is documented as `PSGRAPH_<NAME>_URL`, one per service. */
const perService = (variable: string) => variable.replace(/^PSGRAPH_(CRM|PSA|ERP|BILLING|ACTIVATION)_(PORT|URL)$/, 'PSGRAPH_<NAME>_$2');

describe('docs/configuration.md', () => {
  it('has the tables the configuration modules generate (npm run docs)', () => {
    const committed = readFileSync(CONFIGURATION_DOC, 'utf8');
    expect(renderConfigurationDoc(committed)).toBe(committed);
  });

  it('documents every variable the services read', () => {
    const documented = documentedVariables();
    // A secret may also be read from a file: <NAME>_FILE, documented with <NAME>.
    const asDocumented = (variable: string) => perService(variable.replace(/_FILE$/, ''));
    const undocumented = [...variablesReadByTheCode()].filter((variable) => !documented.has(variable) && !documented.has(asDocumented(variable)));
    expect(undocumented).toEqual([]);
  });

  it('documents no variable the services do not read', () => {
    const read = new Set([...variablesReadByTheCode()].flatMap((variable) => [variable, perService(variable)]));
    // The per-service variables are built from the service's name in the code (`PSGRAPH_${name}_PORT`).
    for (const template of ['PSGRAPH_<NAME>_PORT', 'PSGRAPH_<NAME>_URL']) read.add(template);
    expect([...documentedVariables()].filter((variable) => !read.has(variable))).toEqual([]);
  });
});
