/**
 * A request whose document does not name one operation to run is the client's mistake, answered 400 with a
 * stable code before anything is planned: an unknown `operationName`, several operations and no name, or a
 * subscription sent over HTTP (psgraph serves subscriptions over graphql-ws on the same path). @apollo/gateway
 * assumes a resolved operation and would fail on it with a TypeError (a 500).
 *
 * Stage: operation (after parsing and validation, before planning).
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError, Kind } from 'graphql';
import { ErrorCode } from '../../../contracts/errorCodes.js';

export function operationResolutionPlugin(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request, document, schema }) {
          const operationName = request.operationName;
          if (!operation) {
            const operations = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
            throw operationName
              ? badRequest(ErrorCode.UNKNOWN_OPERATION_NAME, `Unknown operation named "${operationName}".`)
              : badRequest(ErrorCode.OPERATION_NAME_REQUIRED, `The document has ${operations.length} operations: name the one to run in "operationName".`);
          }
          // An audience's schema may have no mutations or subscriptions at all (the reporting audience): asking for
          // them is a document that does not validate against this endpoint's schema.
          const root =
            operation.operation === 'mutation'
              ? schema.getMutationType()
              : operation.operation === 'subscription'
                ? schema.getSubscriptionType()
                : schema.getQueryType();
          if (!root) {
            throw badRequest(ErrorCode.GRAPHQL_VALIDATION_FAILED, `This endpoint's schema has no ${operation.operation} operations.`);
          }
          if (operation.operation === 'subscription') {
            throw badRequest(
              ErrorCode.SUBSCRIPTION_REQUIRES_WEBSOCKET,
              'Subscriptions are served over WebSocket (graphql-ws, subprotocol graphql-transport-ws) on this path, not over HTTP.',
            );
          }
        },
      };
    },
  };
}

function badRequest(code: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: 400 } } });
}
