/**
 * Trusted documents (persisted operations): the operations a client may run, listed ahead of time in a manifest
 * in Apollo's format (`{ "format": "apollo-persisted-query-manifest", "version": 1, "operations": [{ id, body,
 * name, type }] }`), with Apollo Router's four modes:
 *
 * - `off`: any document runs; an ID from the manifest (`extensions.persistedQuery.sha256Hash`, or `documentId`)
 *   stands for its body;
 * - `log_unknown`: as `off`, and a document the manifest does not hold is logged;
 * - `safelist`: a freeform document runs only if the manifest holds it (compared normalized: operations, then
 *   fragments, sorted by name and printed without ignored characters — reordered fields do not match), else
 *   QUERY_NOT_IN_SAFELIST;
 * - `require_id`: only IDs: any freeform document is PERSISTED_QUERY_ID_REQUIRED.
 *
 * An ID the manifest does not hold is PERSISTED_QUERY_NOT_IN_LIST. A client portal, whose users are the public,
 * requires IDs; an internal tool may send anything.
 *
 * Stage: document (the request body is parsed; nothing else is).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type DefinitionNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  Kind,
  type SelectionSetNode,
  parse,
  print,
  stripIgnoredCharacters,
} from 'graphql';
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { ConfigError } from '../../../subgraphs/platform/src/config.js';

export const TRUSTED_DOCUMENT_MODES = ['off', 'log_unknown', 'safelist', 'require_id'] as const;
export type TrustedDocumentMode = (typeof TRUSTED_DOCUMENT_MODES)[number];

interface ManifestOperation {
  readonly id: string;
  readonly body: string;
  readonly name?: string;
  readonly type?: string;
}

/** A refusal, as the HTTP answer it becomes. */
export interface DocumentRefusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export class TrustedDocuments {
  private readonly byId = new Map<string, string>();
  private readonly normalized = new Set<string>();
  /** The manifests' operation names: the request metrics label these as they are, however many. */
  readonly operationNames = new Set<string>();

  constructor(
    readonly mode: TrustedDocumentMode,
    operations: readonly ManifestOperation[],
    private readonly log: (message: string) => void = () => {},
    /** Introspection documents (only `__schema`, `__type`, `__typename`) run in every mode: where introspection is on, the IDE works. */
    private readonly allowIntrospection = false,
  ) {
    for (const operation of operations) {
      this.byId.set(operation.id, operation.body);
      this.normalized.add(normalize(operation.body));
      if (operation.name) this.operationNames.add(operation.name);
    }
  }

  /**
   * Reads manifests in Apollo's format; a malformed one stops start-up with the file's name. A mode that runs only
   * listed documents with no manifest at all stops start-up too (`required`), or else runs no document (an
   * audience defined to require them, served where no manifest was given: it fails closed).
   */
  static fromManifests(
    mode: TrustedDocumentMode,
    files: readonly string[],
    options: { log?: (message: string) => void; allowIntrospection?: boolean; required?: boolean } = {},
  ): TrustedDocuments {
    const log = options.log ?? (() => {});
    const operations: ManifestOperation[] = [];
    for (const file of files) {
      let manifest: { format?: unknown; version?: unknown; operations?: unknown };
      try {
        manifest = JSON.parse(readFileSync(file, 'utf8')) as typeof manifest;
      } catch (error) {
        throw new ConfigError(`The trusted documents manifest ${file} cannot be read: ${(error as Error).message}`);
      }
      if (manifest.format !== 'apollo-persisted-query-manifest' || manifest.version !== 1 || !Array.isArray(manifest.operations)) {
        throw new ConfigError(`${file} is not an Apollo persisted query manifest (format "apollo-persisted-query-manifest", version 1, operations).`);
      }
      for (const operation of manifest.operations as ManifestOperation[]) {
        if (typeof operation?.id !== 'string' || typeof operation.body !== 'string')
          throw new ConfigError(`${file}: every operation needs a string id and body.`);
        operations.push(operation);
      }
    }
    if ((mode === 'safelist' || mode === 'require_id') && operations.length === 0) {
      if (options.required !== false) throw new ConfigError(`Trusted documents mode ${mode} needs a manifest with the operations clients may run.`);
      log(`trusted documents ${mode} but no manifest (PSGRAPH_TRUSTED_DOCUMENTS_MANIFESTS): no document runs here`);
    }
    return new TrustedDocuments(mode, operations, log, options.allowIntrospection ?? false);
  }

  /**
   * The request body with the document its ID stands for, or why it is refused. The body is a GraphQL-over-HTTP
   * request (`query`, `operationName`, `variables`, `extensions`).
   */
  resolve(body: Record<string, unknown>): { body: Record<string, unknown> } | { refused: DocumentRefusal } {
    const extensions = (body['extensions'] ?? {}) as Record<string, unknown>;
    const persisted = extensions['persistedQuery'] as { sha256Hash?: unknown } | undefined;
    const id = typeof body['documentId'] === 'string' ? body['documentId'] : typeof persisted?.sha256Hash === 'string' ? persisted.sha256Hash : undefined;
    if (id !== undefined) {
      const document = this.byId.get(id);
      if (document === undefined)
        return { refused: { status: 400, code: ErrorCode.PERSISTED_QUERY_NOT_IN_LIST, message: `No trusted document has the ID ${truncate(id)}.` } };
      // The body stands in for the ID; Apollo Server's own persisted queries must not see the ID again.
      const { persistedQuery: _persisted, ...otherExtensions } = extensions;
      const { documentId: _documentId, ...rest } = body;
      return { body: { ...rest, query: document, extensions: otherExtensions } };
    }
    const query = body['query'];
    if (this.mode === 'off' || typeof query !== 'string') return { body };
    if (this.allowIntrospection && isIntrospectionOnly(query)) return { body };
    if (this.mode === 'require_id') {
      return {
        refused: {
          status: 400,
          code: ErrorCode.PERSISTED_QUERY_ID_REQUIRED,
          message: 'Only trusted documents run here: send the ID of one (extensions.persistedQuery.sha256Hash).',
        },
      };
    }
    if (this.normalized.has(normalize(query))) return { body };
    if (this.mode === 'log_unknown') {
      this.log(`an operation not in the trusted documents ran: sha256 ${createHash('sha256').update(query).digest('hex')}`);
      return { body };
    }
    return { refused: { status: 400, code: ErrorCode.QUERY_NOT_IN_SAFELIST, message: 'This document is not one of the trusted documents.' } };
  }
}

/** A document whose every operation selects only introspection fields (what an IDE sends to learn the schema). */
function isIntrospectionOnly(query: string): boolean {
  let parsed: DocumentNode;
  try {
    parsed = parse(query, { maxTokens: 2_000 });
  } catch {
    return false;
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of parsed.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const onlyIntrospection = (set: SelectionSetNode, seen: Set<string>): boolean =>
    set.selections.every((selection) => {
      if (selection.kind === Kind.FIELD) return selection.name.value.startsWith('__');
      if (selection.kind === Kind.INLINE_FRAGMENT) return onlyIntrospection(selection.selectionSet, seen);
      const fragment = fragments.get(selection.name.value);
      if (!fragment || seen.has(fragment.name.value)) return false;
      return onlyIntrospection(fragment.selectionSet, new Set([...seen, fragment.name.value]));
    });
  const operations = parsed.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  return operations.length > 0 && operations.every((operation) => operation.operation === 'query' && onlyIntrospection(operation.selectionSet, new Set()));
}

/** Apollo's normalization: operations, then fragments, each sorted by name; printed without ignored characters. */
export function normalize(document: string): string {
  let parsed: DocumentNode;
  try {
    parsed = parse(document);
  } catch {
    // Unparseable text can only match itself, byte for byte.
    return document;
  }
  const name = (definition: DefinitionNode) => ('name' in definition && definition.name ? definition.name.value : '');
  const operations = parsed.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION).sort((a, b) => name(a).localeCompare(name(b)));
  const fragments = parsed.definitions.filter((definition) => definition.kind === Kind.FRAGMENT_DEFINITION).sort((a, b) => name(a).localeCompare(name(b)));
  return stripIgnoredCharacters(print({ ...parsed, definitions: [...operations, ...fragments] }));
}

const truncate = (text: string) => (text.length > 80 ? `${text.slice(0, 80)}…` : text);
