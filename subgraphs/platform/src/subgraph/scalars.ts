/**
 * The custom scalars every subgraph declares: Date, DateTime and Decimal. Parsing rejects malformed values
 * at the edge, so resolvers only ever see valid ones.
 */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { isIsoDate } from '../values/dates.js';

function stringScalar(name: string, description: string, isValid: (value: string) => boolean, expected: string): GraphQLScalarType {
  const check = (value: unknown): string => {
    if (typeof value !== 'string' || !isValid(value)) {
      throw new GraphQLError(`${name} cannot represent ${JSON.stringify(value)}: expected ${expected}.`, {
        extensions: { code: ErrorCode.BAD_USER_INPUT },
      });
    }
    return value;
  };
  return new GraphQLScalarType({
    name,
    description,
    serialize: (value) => check(value),
    parseValue: (value) => check(value),
    parseLiteral: (node: ValueNode) => check(node.kind === Kind.STRING ? node.value : undefined),
  });
}

export const DateScalar = stringScalar('Date', 'A calendar date, ISO 8601 `YYYY-MM-DD`.', isIsoDate, 'a date like "2026-11-01"');

export const DateTimeScalar = stringScalar(
  'DateTime',
  'An instant, ISO 8601 with offset.',
  (value) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value)),
  'an ISO 8601 instant like "2026-11-01T09:30:00.000Z"',
);

export const DecimalScalar = stringScalar(
  'Decimal',
  'An exact decimal number carried as a string.',
  (value) => /^-?\d+(\.\d+)?$/.test(value),
  'a decimal string like "1234.50"',
);

export const scalarResolvers = { Date: DateScalar, DateTime: DateTimeScalar, Decimal: DecimalScalar };
