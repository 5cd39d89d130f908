import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../contracts/errorCodes.js';

describe("docs/operations.md's error codes", () => {
  it('lists exactly the codes of contracts/errorCodes.ts', () => {
    const doc = readFileSync(new URL('./operations.md', import.meta.url), 'utf8');
    const table = doc.slice(doc.indexOf('## Error codes'));
    const documented = [...table.matchAll(/^\| (`[A-Z_]+`(?: \/ `[A-Z_]+`)*) \|/gm)].flatMap((match) =>
      [...match[1]!.matchAll(/`([A-Z_]+)`/g)].map((code) => code[1]!),
    );
    expect(documented.sort()).toEqual(Object.values(ErrorCode).sort());
  });
});
