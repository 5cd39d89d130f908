import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LogCode } from '../subgraphs/platform/src/logging/logCodes.js';

describe("docs/operations.md's log codes", () => {
  it('lists exactly the codes of subgraphs/platform/src/logging/logCodes.ts', () => {
    const doc = readFileSync(new URL('./operations.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Logs'), doc.indexOf('\n## ', doc.indexOf('## Logs') + 1));
    const documented = [...section.matchAll(/^\| `([A-Z_]+)` \| (?:fatal|error|warn|warn\/error) \|/gm)].map((match) => match[1]!);
    expect(documented.sort()).toEqual(Object.values(LogCode).sort());
  });
});
