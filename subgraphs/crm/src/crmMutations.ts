/**
 * The CRM subgraph's Mutation resolvers: the writes activation makes (the project link and its compensation),
 * and the corrections people make in the CRM (stage, PO number, tax ID). IDs are checked at the entry point; the
 * sandbox (or a Salesforce adapter) enforces the CRM's own rules.
 */
import { isCanonicalProjectId, isNumericId, isSalesforceId, requireIdFormat } from '../../platform/src/index.js';
import type { CrmLoaders } from './crmLoaders.js';
import type { CrmWrites, ProjectLink } from './crmPort.js';

export interface CrmMutationContext {
  readonly writes: CrmWrites;
  readonly loaders: CrmLoaders;
}

const opportunityId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (v) => isSalesforceId(v, 'Opportunity'), 'an 18-character Salesforce Opportunity ID (prefix 006)');
const accountId = (argument: string, id: string) => requireIdFormat(argument, id, (v) => isSalesforceId(v, 'Account'), 'an 18-character Salesforce Account ID (prefix 001)');
const projectId = (argument: string, id: string) => requireIdFormat(argument, id, isCanonicalProjectId, 'a canonical project ID (prj_ followed by a 26-character ULID)');
const numericId = (argument: string, id: string) => requireIdFormat(argument, id, isNumericId, 'a numeric internal ID');

export const crmMutationResolvers = {
  Mutation: {
    setOpportunityStage: async (_: unknown, args: { id: string; stage: string }, { writes }: CrmMutationContext) =>
      (await writes.setOpportunityStage(opportunityId('id', args.id), args.stage)).opportunity,
    updateOpportunity: async (_: unknown, args: { id: string; input: { poNumber?: string | null } }, { writes, loaders }: CrmMutationContext) => {
      const id = opportunityId('id', args.id);
      // An omitted field is left as it is: only a key present in the input (even as null) is written.
      if ('poNumber' in args.input) return writes.setOpportunityPoNumber(id, blankToNull(args.input.poNumber));
      return loaders.opportunityById.load(id);
    },
    updateAccount: async (_: unknown, args: { id: string; input: { taxId?: string | null } }, { writes, loaders }: CrmMutationContext) => {
      const id = accountId('id', args.id);
      if ('taxId' in args.input) return writes.setAccountTaxId(id, blankToNull(args.input.taxId));
      return loaders.accountById.load(id);
    },
    linkOpportunityToProject: (_: unknown, args: { input: ProjectLink }, { writes }: CrmMutationContext) =>
      writes.linkProject({
        opportunityId: opportunityId('input.opportunityId', args.input.opportunityId),
        projectId: projectId('input.projectId', args.input.projectId),
        erpProjectId: numericId('input.erpProjectId', args.input.erpProjectId),
        psaProjectId: numericId('input.psaProjectId', args.input.psaProjectId),
        erpCustomerId: numericId('input.erpCustomerId', args.input.erpCustomerId),
      }),
    unlinkOpportunityFromProject: (_: unknown, args: { opportunityId: string; projectId: string }, { writes }: CrmMutationContext) =>
      writes.unlinkProject(opportunityId('opportunityId', args.opportunityId), projectId('projectId', args.projectId)),
  },
};

function blankToNull(value: string | null | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}
