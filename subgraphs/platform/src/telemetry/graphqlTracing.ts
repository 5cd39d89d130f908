/**
 * The GraphQL stages of an operation as spans, for any Apollo Server (the gateway's and every subgraph's): the
 * `parse_query` and `validate` spans (Apollo Router's names), and the OpenTelemetry GraphQL attributes
 * (`graphql.operation.name`, `graphql.operation.type`, and `graphql.document` only with PSGRAPH_TRACE_DOCUMENT=true) on the span the
 * HTTP stage made active for the request. Servers add it only when tracing is on as they are built; should
 * tracing stop, it adds no hook to a request.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { SpanStatusCode } from '@opentelemetry/api';
import { activeSpan, endSpan, startSpan, tracingOn, tracingSettings } from './tracing.js';

/** The OpenTelemetry semantic conventions' GraphQL attributes (still "development" there, so not in the stable export). */
export const GRAPHQL_ATTRIBUTES = {
  operationName: 'graphql.operation.name',
  operationType: 'graphql.operation.type',
  document: 'graphql.document',
} as const;

export interface GraphQLTracingOptions {
  /**
   * Rename the request's span to the operation type (`query`, `mutation`), as the semantic conventions name a
   * GraphQL server span; the gateway keeps Apollo Router's `supergraph`.
   */
  readonly nameByOperationType: boolean;
}

export function graphqlTracingPlugin(options: GraphQLTracingOptions): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      if (!tracingOn()) return;
      const operationSpan = activeSpan();
      return {
        async parsingDidStart() {
          const span = startSpan('parse_query');
          return async (error) => endSpan(span, error);
        },
        async validationDidStart() {
          const span = startSpan('validate');
          return async (errors) => endSpan(span, errors?.[0]);
        },
        async didResolveOperation({ operation, operationName, source }) {
          if (!operationSpan || !operation) return;
          operationSpan.setAttribute(GRAPHQL_ATTRIBUTES.operationType, operation.operation);
          if (operationName) operationSpan.setAttribute(GRAPHQL_ATTRIBUTES.operationName, operationName);
          if (tracingSettings()?.recordDocument) operationSpan.setAttribute(GRAPHQL_ATTRIBUTES.document, source);
          if (options.nameByOperationType) operationSpan.updateName(operation.operation);
        },
        async didEncounterErrors({ errors }) {
          const code = errors[0]?.extensions?.['code'];
          operationSpan?.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : 'GraphQL error' });
        },
      };
    },
  };
}
