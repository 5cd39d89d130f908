import { buildSchema, parse, print, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { AccessRules, authorizeOperation, nullAtPaths, rightsOf } from '../src/guards/fieldAuthorization.js';
import { type Principal, unrestrictedPrincipal } from '../src/guards/identity.js';

const SDL = `
directive @psgraphAuthenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @psgraphRequiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @psgraphPolicy(policies: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
type Query { project: Project, projects: [Project!]!, secret: Secret, people: [Person!]!, me: String @psgraphAuthenticated }
type Project {
  name: String
  cost: Int @psgraphRequiresScopes(scopes: [["finance:read", "cost:read"], ["admin"]])
  margin: Int @psgraphRequiresScopes(scopes: [["finance:read"]]) @psgraphPolicy(policies: [["staff"]])
}
type Secret @psgraphPolicy(policies: [["auditor"]]) { value: String }
interface Person { name: String, rate: Int }
type Employee implements Person { name: String, rate: Int @psgraphRequiresScopes(scopes: [["finance:read"]]) }
type Contractor implements Person { name: String, rate: Int }
`;
const schema = buildSchema(SDL);
const rules = AccessRules.fromSupergraphSdl(SDL);
const principal = (scopes: string[], options: { roles?: string[]; accounts?: string[] } = {}): Principal => ({
  subject: 'someone',
  scopes: new Set(scopes),
  roles: new Set(options.roles ?? []),
  accountIds: options.accounts ?? null,
  unrestricted: false,
  expiresAt: null,
});
const decide = (query: string, who: Principal) => {
  const document = parse(query);
  const decision = authorizeOperation(schema, rules, document, document.definitions[0] as OperationDefinitionNode, rightsOf(who));
  return { ...decision, printed: print(decision.document).replace(/\s+/g, ' ').trim() };
};

describe('field authorization', () => {
  it('ANDs the scopes inside an inner list and ORs across lists, as @requiresScopes does', () => {
    expect(decide('{ project { name cost } }', principal(['finance:read'])).unauthorizedPaths).toEqual([['project', 'cost']]);
    expect(decide('{ project { name cost } }', principal(['finance:read', 'cost:read'])).unauthorizedPaths).toEqual([]);
    expect(decide('{ project { name cost } }', principal(['admin'])).unauthorizedPaths).toEqual([]);
  });

  it('requires every directive on a field: the scope and the policy; `staff` and `client` are built-in policies', () => {
    expect(decide('{ project { margin } }', principal(['finance:read'])).unauthorizedPaths).toEqual([]);
    expect(decide('{ project { margin } }', principal(['finance:read'], { accounts: ['001A'] })).unauthorizedPaths).toEqual([['project', 'margin']]);
  });

  it('applies a type’s requirement to every field returning it; a role meets the policy of its name', () => {
    expect(decide('{ secret { value } }', principal([])).unauthorizedPaths).toEqual([['secret']]);
    expect(decide('{ secret { value } }', principal([], { roles: ['auditor'] })).unauthorizedPaths).toEqual([]);
  });

  it('requires through an interface what any implementation requires, and per type in fragments', () => {
    expect(decide('{ people { name rate } }', principal([])).unauthorizedPaths).toEqual([['people', '@', 'rate']]);
    expect(decide('{ people { name ... on Contractor { rate } } }', principal([])).unauthorizedPaths).toEqual([]);
    expect(decide('{ people { ... on Employee { rate } } }', principal([])).unauthorizedPaths).toEqual([['people', '@', 'rate']]);
  });

  it('removes what is withheld, drops selections left empty, inlines a fragment it changed and leaves the rest as it was', () => {
    const decision = decide('{ a: project { ...F } b: projects { cost } } fragment F on Project { name cost }', principal([]));
    expect(decision.unauthorizedPaths).toEqual([
      ['a', 'cost'],
      ['b', '@', 'cost'],
    ]);
    expect(decision.printed).toBe('{ a: project { ... on Project { name } } } fragment F on Project { name cost }');
    expect(decision.nothingLeft).toBe(false);
  });

  it('says when nothing is left to run', () => {
    const decision = decide('{ secret { value } }', principal([]));
    expect(decision.nothingLeft).toBe(true);
  });

  it('keeps the client’s document untouched when nothing is withheld, and withholds nothing from an unrestricted principal', () => {
    const document = parse('{ project { name cost margin } secret { value } }');
    const operation = document.definitions[0] as OperationDefinitionNode;
    expect(authorizeOperation(schema, rules, document, operation, rightsOf(unrestrictedPrincipal('developer'))).document).toBe(document);
    expect(authorizeOperation(schema, rules, document, operation, rightsOf(principal(['admin', 'finance:read'], { roles: ['auditor'] }))).document).toBe(
      document,
    );
  });

  it('gives principals with the same rights the same key, and others another', () => {
    expect(rightsOf(principal(['b', 'a'])).key).toBe(rightsOf(principal(['a', 'b'])).key);
    expect(rightsOf(principal(['a'])).key).not.toBe(rightsOf(principal(['a'], { accounts: ['001A'] })).key);
  });

  it('puts null where a field was withheld, or where its parent was left empty, in a response shaped without them', () => {
    const data: Record<string, unknown> = { a: { name: 'x' }, b: [{}, {}], __psgraph_nothing_authorized: 'Query' };
    nullAtPaths(data, [
      ['a', 'cost'],
      ['b', '@', 'cost'],
      ['c', 'value'],
    ]);
    expect(data).toEqual({ a: { name: 'x', cost: null }, b: [{ cost: null }, { cost: null }], c: null });
  });
});
