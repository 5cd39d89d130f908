export {
  SpanKind,
  SpanStatusCode,
  TRACER_NAME,
  activeSpan,
  activeTraceparent,
  contextFromHeaders,
  contextFromTraceparent,
  endSpan,
  inTrace,
  injectTraceContext,
  startSpan,
  startTracing,
  stopTracing,
  tracingOn,
  tracingSettings,
  withSpan,
} from './tracing.js';
export type { Attributes, Context, Span, SpanSettings } from './tracing.js';
export { loadTracingConfig } from './tracingConfig.js';
export type { TraceSamplerName, TracingConfig } from './tracingConfig.js';
export { GRAPHQL_ATTRIBUTES, graphqlTracingPlugin } from './graphqlTracing.js';
export type { GraphQLTracingOptions } from './graphqlTracing.js';
