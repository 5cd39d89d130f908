import { GraphQLScalarType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { mergeResolverMaps } from '../src/subgraph/resolverMaps.js';

describe('mergeResolverMaps', () => {
  const account = () => 'account';
  const accounts = () => [];
  const updateAccount = () => 'updated';

  it('keeps every field of a type defined in several maps', () => {
    const merged = mergeResolverMaps<Record<string, Record<string, unknown>>>({ Query: { account } }, { Query: { accounts }, Mutation: { updateAccount } });

    expect(merged).toEqual({ Query: { account, accounts }, Mutation: { updateAccount } });
  });

  it('refuses a field defined twice instead of dropping one', () => {
    expect(() => mergeResolverMaps<Record<string, Record<string, unknown>>>({ Query: { account } }, { Query: { account: accounts } })).toThrow(
      'Resolver Query.account is defined in two resolver maps.',
    );
  });

  it('takes a scalar whole, and refuses a scalar defined twice', () => {
    const Date = new GraphQLScalarType({ name: 'Date' });

    expect(mergeResolverMaps<Record<string, unknown>>({ Date }, { Query: { account } })).toEqual({ Date, Query: { account } });
    expect(() => mergeResolverMaps<Record<string, unknown>>({ Date }, { Date })).toThrow('Resolver Date is defined in two resolver maps.');
  });
});
