/**
 * One subgraph's resolvers are written in several maps (queries and entities, mutations, subscriptions). A
 * spread (`{ ...a, ...b }`) would keep only the second map's `Query` when both have one; this merges type by
 * type and refuses a field defined twice, so a resolver can never be dropped without a word.
 */
export function mergeResolverMaps<Map extends object>(...maps: readonly Map[]): Map {
  const merged: Record<string, unknown> = {};
  for (const map of maps) {
    for (const [typeName, fields] of Object.entries(map) as Array<[string, unknown]>) {
      // A scalar (a GraphQLScalarType) is one value, not a map of fields.
      if (Object.getPrototypeOf(fields) !== Object.prototype) {
        if (typeName in merged) throw new Error(`Resolver ${typeName} is defined in two resolver maps.`);
        merged[typeName] = fields;
        continue;
      }
      const target = (merged[typeName] ??= {}) as Record<string, unknown>;
      for (const [fieldName, resolver] of Object.entries(fields as Record<string, unknown>)) {
        if (fieldName in target) throw new Error(`Resolver ${typeName}.${fieldName} is defined in two resolver maps.`);
        target[fieldName] = resolver;
      }
    }
  }
  return merged as Map;
}
