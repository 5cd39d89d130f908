/**
 * One log line per GraphQL request, at debug: operation name and type, duration, outcome and error codes. At
 * debug, not info: a gateway serves hundreds of requests a second, and metrics already count them; turn it on
 * (PSGRAPH_LOG_LEVEL=debug) to follow requests one by one. Never the document or the variables: they may hold
 * personal data.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { Logger } from './logger.js';

export function requestLogPlugin<TContext extends BaseContext>(logger: Logger): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      if (!logger.isLevelEnabled('debug')) return;
      const started = performance.now();
      return {
        async willSendResponse({ operationName, operation, errors, response }) {
          const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const errorCodes = [
            ...new Set((body?.errors ?? errors ?? []).map((error) => String((error.extensions as { code?: unknown } | undefined)?.code ?? 'UNKNOWN'))),
          ];
          const outcome = errorCodes.length === 0 ? 'ok' : body?.data ? 'partial' : 'error';
          logger.debug(
            {
              operation_name: operationName ?? null,
              operation_type: operation?.operation ?? null,
              duration_ms: Math.round((performance.now() - started) * 10) / 10,
              outcome,
              ...(errorCodes.length > 0 ? { error_codes: errorCodes } : {}),
            },
            'graphql request',
          );
        },
      };
    },
  };
}
