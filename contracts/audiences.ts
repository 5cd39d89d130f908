/**
 * Audience variants of the API (Apollo's "contracts"): who sees which part of the supergraph, defined one file per
 * audience in `contracts/audiences/<name>.json` — its `@tag` include and exclude lists, and how the gateway serves
 * it (its path, whether client users may use it, which documents it runs, its maximum cost). `npm run compose`
 * builds each audience's supergraph from them (`supergraph/contracts.ts`); the gateway serves each.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Where the audience files are, beside this module. */
export const AUDIENCES_DIR = new URL('./audiences/', import.meta.url);

export interface AudienceDefinition {
  readonly name: string;
  readonly description: string;
  /** Tags whose elements the audience sees (empty: all but the excluded ones). */
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly hideUnreachableTypes: boolean;
  /** Where the gateway serves it, e.g. `/portal/graphql`. */
  readonly path: string;
  /** Whether client users (principals limited to CRM accounts) may use it; staff always may. */
  readonly clientUsers: boolean;
  /** Which documents run there: `off`, `log_unknown`, `safelist`, `require_id` (see trusted documents). */
  readonly trustedDocuments?: 'off' | 'log_unknown' | 'safelist' | 'require_id';
  /** The largest estimated cost an operation may have there. */
  readonly maxCost?: number;
  /** The query its IDE opens with. */
  readonly firstQuery?: string;
}

const TAG_NAME = /^[A-Za-z0-9\-/_]{1,128}$/;
const RESERVED_PATHS = new Set(['/graphql', '/health', '/ready', '/metrics']);

/** Reads and checks every `contracts/audiences/*.json`. */
export function readAudiences(folder: string): AudienceDefinition[] {
  const files = (existsSync(folder) ? readdirSync(folder) : []).filter((file) => file.endsWith('.json')).sort();
  const audiences: AudienceDefinition[] = [];
  for (const file of files) {
    const name = basename(file, '.json');
    const where = `contracts/audiences/${file}`;
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(readFileSync(join(folder, file), 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`${where}: not JSON (${(error as Error).message})`, { cause: error });
    }
    const tags = (key: string) => {
      const value = raw[key] ?? [];
      if (!Array.isArray(value) || !value.every((tag) => typeof tag === 'string' && TAG_NAME.test(tag)))
        throw new Error(`${where}: "${key}" must be a list of tag names`);
      return value as string[];
    };
    const include = tags('include');
    const exclude = tags('exclude');
    const both = include.filter((tag) => exclude.includes(tag));
    if (both.length > 0) throw new Error(`${where}: ${both.join(', ')} both included and excluded (INPUT_VALIDATION)`);
    const path = raw['path'];
    if (typeof path !== 'string' || !/^\/[a-z0-9\-/]+$/.test(path) || RESERVED_PATHS.has(path)) {
      throw new Error(`${where}: "path" must be a path of its own, e.g. "/${name}/graphql"`);
    }
    const trustedDocuments = raw['trustedDocuments'];
    if (trustedDocuments !== undefined && !['off', 'log_unknown', 'safelist', 'require_id'].includes(trustedDocuments as string)) {
      throw new Error(`${where}: "trustedDocuments" must be off, log_unknown, safelist or require_id`);
    }
    const maxCost = raw['maxCost'];
    if (maxCost !== undefined && (typeof maxCost !== 'number' || !Number.isInteger(maxCost) || maxCost < 1))
      throw new Error(`${where}: "maxCost" must be a positive integer`);
    audiences.push({
      name,
      description: typeof raw['description'] === 'string' ? raw['description'] : '',
      include,
      exclude,
      hideUnreachableTypes: raw['hideUnreachableTypes'] === true,
      path,
      clientUsers: raw['clientUsers'] === true,
      ...(trustedDocuments ? { trustedDocuments: trustedDocuments as AudienceDefinition['trustedDocuments'] & string } : {}),
      ...(typeof maxCost === 'number' ? { maxCost } : {}),
      ...(typeof raw['firstQuery'] === 'string' ? { firstQuery: raw['firstQuery'] } : {}),
    });
  }
  const paths = audiences.map((audience) => audience.path);
  const repeated = paths.find((path, i) => paths.indexOf(path) !== i);
  if (repeated) throw new Error(`contracts/audiences: two audiences are served at ${repeated}`);
  return audiences;
}
