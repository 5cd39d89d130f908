/**
 * The PSA subgraph's Mutation resolvers: what activation creates in the PSA (project, staffing demand) and
 * undoes when it compensates, and the staffing confirmation that emits `assignment.confirmed`. Arguments are
 * checked here; the PSA's rules (roles exist, nobody staffed on a deleted project) are the sandbox's.
 */
import { ErrorCode } from '../../../contracts/errorCodes.js';
import { inputError, isCanonicalProjectId, isNumericId, isSalesforceId, requireIdFormat } from '../../platform/src/index.js';
import type { Resolvers } from './generated/resolverTypes.js';

const PROJECT_ID = 'a canonical project ID (prj_ followed by a 26-character ULID)';
const projectId = (argument: string, id: string) => requireIdFormat(argument, id, isCanonicalProjectId, PROJECT_ID);

function dateOrder(argument: string, startDate: string, endDate: string): void {
  if (startDate > endDate)
    throw inputError(ErrorCode.INVALID_DATE_RANGE, `Argument "${argument}" is inverted: startDate (${startDate}) is after endDate (${endDate}).`, { argument });
}

export const psaMutationResolvers: Resolvers = {
  Mutation: {
    createPsaProject: (_, { input }, { writes }) => {
      dateOrder('input', input.startDate, input.endDate);
      return writes.createProject({
        ...input,
        id: projectId('input.id', input.id),
        accountId: requireIdFormat(
          'input.accountId',
          input.accountId,
          (v) => isSalesforceId(v, 'Account'),
          'an 18-character Salesforce Account ID (prefix 001)',
        ),
        managerId: requireIdFormat('input.managerId', input.managerId, isNumericId, 'a numeric PSA resource ID'),
      });
    },
    createResourceRequests: (_, args, { writes }) => {
      args.requests.forEach((request, i) => {
        dateOrder(`requests[${i}]`, request.startDate, request.endDate);
        if (!(request.hours > 0))
          throw inputError(ErrorCode.BAD_USER_INPUT, `Argument "requests[${i}].hours" must be positive.`, { argument: `requests[${i}].hours` });
      });
      return writes.createResourceRequests(projectId('projectId', args.projectId), args.requests);
    },
    cancelResourceRequests: (_, args, { writes }) => writes.cancelResourceRequests(projectId('projectId', args.projectId)),
    deletePsaProject: (_, args, { writes }) => writes.deleteProject(projectId('id', args.id)),
    confirmAssignment: (_, args, { writes }) =>
      writes.confirmAssignment(requireIdFormat('assignmentId', args.assignmentId, isNumericId, 'a numeric PSA assignment ID')),
  },
};
