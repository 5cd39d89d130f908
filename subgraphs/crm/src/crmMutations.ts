/**
 * The CRM subgraph's Mutation resolvers: the writes activation makes (the project link and its compensation),
 * and the corrections people make in the CRM (stage, PO number, tax ID). IDs are checked at the entry point; the
 * sandbox (or a Salesforce adapter) enforces the CRM's own rules.
 */
import { existing, isCanonicalProjectId, isNumericId, isSalesforceId, requireIdFormat } from '../../platform/src/index.js';
import type { Resolvers } from './generated/resolverTypes.js';

const opportunityId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (v) => isSalesforceId(v, 'Opportunity'), 'an 18-character Salesforce Opportunity ID (prefix 006)');
const accountId = (argument: string, id: string) =>
  requireIdFormat(argument, id, (v) => isSalesforceId(v, 'Account'), 'an 18-character Salesforce Account ID (prefix 001)');
const projectId = (argument: string, id: string) =>
  requireIdFormat(argument, id, isCanonicalProjectId, 'a canonical project ID (prj_ followed by a 26-character ULID)');
const numericId = (argument: string, id: string) => requireIdFormat(argument, id, isNumericId, 'a numeric internal ID');

export const crmMutationResolvers: Resolvers = {
  Mutation: {
    setOpportunityStage: async (_, args, { writes }) => (await writes.setOpportunityStage(opportunityId('id', args.id), args.stage)).opportunity,
    updateOpportunity: async (_, args, { writes, loaders }) => {
      const id = opportunityId('id', args.id);
      // An omitted field is left as it is: only a key present in the input (even as null) is written.
      if ('poNumber' in args.input) return writes.setOpportunityPoNumber(id, blankToNull(args.input.poNumber));
      return existing(loaders.opportunityById.load(id), `Opportunity ${id}`);
    },
    updateAccount: async (_, args, { writes, loaders }) => {
      const id = accountId('id', args.id);
      if ('taxId' in args.input) return writes.setAccountTaxId(id, blankToNull(args.input.taxId));
      return existing(loaders.accountById.load(id), `Account ${id}`);
    },
    linkOpportunityToProject: (_, args, { writes }) =>
      writes.linkProject({
        opportunityId: opportunityId('input.opportunityId', args.input.opportunityId),
        projectId: projectId('input.projectId', args.input.projectId),
        erpProjectId: numericId('input.erpProjectId', args.input.erpProjectId),
        psaProjectId: numericId('input.psaProjectId', args.input.psaProjectId),
        erpCustomerId: numericId('input.erpCustomerId', args.input.erpCustomerId),
      }),
    unlinkOpportunityFromProject: (_, args, { writes }) =>
      writes.unlinkProject(opportunityId('opportunityId', args.opportunityId), projectId('projectId', args.projectId)),
  },
};

function blankToNull(value: string | null | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}
