/**
 * Errors the subgraphs raise for bad input. Every one carries a stable `extensions.code` from
 * contracts/errorCodes.ts; clients branch on the code, people read the message.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../../../contracts/errorCodes.js';

export function inputError(code: ErrorCode, message: string, details: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...details } });
}

export function invalidIdError(argument: string, value: string, expected: string): GraphQLError {
  return inputError(ErrorCode.INVALID_ID, `Argument "${argument}" has an invalid ID "${truncate(value)}": expected ${expected}.`, {
    argument,
  });
}

function truncate(value: string): string {
  return value.length > 64 ? `${value.slice(0, 61)}...` : value;
}
