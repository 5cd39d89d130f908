/**
 * Every GraphQL document the operations console sends must validate against the committed supergraph's API
 * schema — the console is a client of /graphql like any other, and a renamed field must fail here, not in an
 * operator's browser. The only exception is the event bus's API another change adds (eventDeadLetters, …): until the
 * supergraph has it, the console hides those parts, and documents using it may fail on it alone.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supergraph } from '@apollo/federation-internals';
import { type GraphQLSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';

const SOURCES = fileURLToPath(new URL('../console/src/', import.meta.url));
const SUPERGRAPH = fileURLToPath(new URL('../../supergraph/supergraph.graphql', import.meta.url));
/** Root fields the console uses before the supergraph has them (the bus dead-letter API, added in parallel). */
const PENDING_FIELDS = new Set(['eventDeadLetters', 'eventConsumerGroups', 'replayEventDeadLetter', 'replayEventDeadLetters']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : /\.tsx?$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

/** The console's documents: template literals that start with an operation keyword and its name. */
function consoleDocuments(): Map<string, string> {
  const documents = new Map<string, string>();
  for (const file of sourceFiles(SOURCES)) {
    for (const match of readFileSync(file, 'utf8').matchAll(/`\s*((?:query|mutation|subscription)\s+(\w+)[^`]*)`/g)) {
      expect(documents.has(match[2]!), `operation name ${match[2]} is used twice`).toBe(false);
      documents.set(match[2]!, match[1]!);
    }
  }
  return documents;
}

describe("the operations console's GraphQL documents", () => {
  const schema: GraphQLSchema = Supergraph.build(readFileSync(SUPERGRAPH, 'utf8')).apiSchema().toGraphQLJSSchema();
  const documents = consoleDocuments();

  it('are found: every page contributes its queries, mutations and subscriptions', () => {
    expect([...documents.keys()]).toEqual(
      expect.arrayContaining(['ConsoleFigures', 'ConsoleTrend', 'ConsoleExceptions', 'ConsoleException', 'ConsoleResolve', 'ConsoleAssign', 'ConsoleNote']),
    );
    expect([...documents.keys()]).toEqual(
      expect.arrayContaining(['ConsoleBulkRetry', 'ConsoleRunUpdates', 'ConsoleDeadLetters', 'ConsoleReplay', 'ConsoleRuns']),
    );
    expect([...documents.keys()]).toEqual(
      expect.arrayContaining(['ConsoleRun', 'ConsoleRunView', 'ConsoleStuck', 'ConsoleBillingExceptions', 'ConsoleBusReplay']),
    );
    expect(documents.size).toBe(23);
  });

  it('validate against the supergraph, but for the bus API not composed yet', () => {
    const composed = (field: string) => Boolean(schema.getQueryType()!.getFields()[field] ?? schema.getMutationType()!.getFields()[field]);
    const pendingField = (message: string) => {
      const field = /^Cannot query field "(\w+)" on type "(?:Query|Mutation)"/.exec(message)?.[1];
      return field !== undefined && PENDING_FIELDS.has(field) && !composed(field);
    };
    const invalid: Record<string, string[]> = {};
    for (const [name, document] of documents) {
      const errors = validate(schema, parse(document)).map((error) => error.message);
      // A pending field's absence is expected, and so are the unused variables it leaves behind.
      const expected = (message: string) => pendingField(message) || (/^Variable "\$\w+" is never used/.test(message) && errors.some(pendingField));
      const unexplained = errors.filter((message) => !expected(message));
      if (unexplained.length > 0) invalid[name] = unexplained;
    }
    expect(invalid).toEqual({});
    // The bus documents were checked too: each fails on its pending field alone.
    expect(documents.has('ConsoleEventDeadLetters') && documents.has('ConsoleBusReplay')).toBe(true);
  });
});
