/**
 * Tracing for every psgraph process, over the OpenTelemetry API's global tracer, context and propagator (so that
 * log lines can read the active span too). `startTracing` registers them only when tracing is configured (see
 * `tracingConfig.ts`); otherwise nothing is registered and every helper here runs its work directly after one
 * boolean test, before any attribute is built: tracing off costs nothing measurable.
 *
 * Instrumented code uses `withSpan` (a span around a piece of work, active while it runs, ended when it settles)
 * and the propagation helpers; `tracingOn()` guards anything that costs more than a call.
 */
import {
  type Attributes,
  type Context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  context,
  propagation,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { carryRequestIds } from '../logging/logContext.js';
import { type TracingConfig, loadTracingConfig } from './tracingConfig.js';

export { SpanKind, SpanStatusCode };
export type { Attributes, Context, Span };

/** The instrumentation scope every psgraph span is recorded under. */
export const TRACER_NAME = 'psgraph';

let tracer: Tracer | undefined;
let provider: TracerProvider | undefined;
let settings: TracingConfig | undefined;

/** Whether spans are being recorded: test it before building attributes or copying headers for a span. */
export function tracingOn(): boolean {
  return tracer !== undefined;
}

/** The settings tracing started with (undefined when off). */
export function tracingSettings(): TracingConfig | undefined {
  return settings;
}

/**
 * Starts tracing for this process when the environment configures it (else does nothing and returns false):
 * registers the tracer provider with a batch span processor, the async-local-storage context manager and the
 * W3C trace-context propagator as the OpenTelemetry globals. `service` is the default service name's suffix.
 */
export function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const config = loadTracingConfig(service, env);
  if (!config.enabled || tracer) return tracer !== undefined;
  const exporter =
    config.exporter === 'console' ? new ConsoleSpanExporter() : new OTLPTraceExporter({ url: config.tracesUrl, timeoutMillis: config.exportTimeoutMs });
  provider = new TracerProvider({
    resource: resourceFromAttributes({ ...config.resourceAttributes, [ATTR_SERVICE_NAME]: config.serviceName }),
    sampler: sampler(config),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter,
        scheduledDelayMillis: config.batchDelayMs,
        maxQueueSize: config.maxQueueSize,
        maxExportBatchSize: Math.min(config.maxExportBatchSize, config.maxQueueSize),
        exportTimeoutMillis: config.exportTimeoutMs,
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  // The context manager already makes every promise carry a context: request IDs ride along for little more.
  carryRequestIds();
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  tracer = trace.getTracer(TRACER_NAME);
  settings = config;
  return true;
}

/**
 * Exports the spans still queued and unregisters the globals: called last on a graceful stop, so the spans of
 * the requests that were drained are not lost.
 */
export async function stopTracing(): Promise<void> {
  const stopping = provider;
  if (!stopping) return;
  tracer = undefined;
  provider = undefined;
  settings = undefined;
  try {
    await stopping.shutdown();
  } finally {
    trace.disable();
    propagation.disable();
    context.disable();
  }
}

export interface SpanSettings {
  /** @default SpanKind.INTERNAL */
  readonly kind?: SpanKind;
  /** The parent, when not the active span: a remote caller's context, an event's publisher. */
  readonly parent?: Context;
  readonly links?: readonly Link[];
}

/**
 * Runs `work` inside a new span, active while it runs (spans started within are its children), and ends the span
 * when `work` returns or, for a promise, settles; a throw or rejection marks it as an error. With tracing off,
 * just runs `work` (with a span that records nothing).
 */
export function withSpan<T>(name: string, attributes: Attributes | undefined, work: (span: Span) => T, spanSettings: SpanSettings = {}): T {
  if (!tracer) return work(NOT_RECORDING);
  const parent = spanSettings.parent ?? context.active();
  const span = tracer.startSpan(name, { kind: spanSettings.kind ?? SpanKind.INTERNAL, attributes, links: spanSettings.links as Link[] | undefined }, parent);
  let result: T;
  try {
    result = context.with(trace.setSpan(parent, span), work, undefined, span);
  } catch (error) {
    endWithError(span, error);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value: unknown) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        endWithError(span, error);
        throw error;
      },
    ) as T;
  }
  span.end();
  return result;
}

/**
 * Starts a span that is not made active, for a stage whose start and end are separate callbacks (Apollo Server's
 * parsing and validation hooks); the caller ends it with `endSpan`. Undefined when tracing is off.
 */
export function startSpan(name: string, attributes?: Attributes, spanSettings: SpanSettings = {}): Span | undefined {
  if (!tracer) return undefined;
  return tracer.startSpan(name, { kind: spanSettings.kind ?? SpanKind.INTERNAL, attributes }, spanSettings.parent ?? context.active());
}

/** Ends a span from `startSpan`, as an error when `error` is given. */
export function endSpan(span: Span | undefined, error?: unknown): void {
  if (!span) return;
  if (error === undefined) span.end();
  else endWithError(span, error);
}

/**
 * Whether a span is active here: work that is only worth tracing as part of something (a SQL statement) tests
 * this, so that a timer's housekeeping does not start a trace of its own every few hundred milliseconds.
 */
export function inTrace(): boolean {
  return tracer !== undefined && trace.getSpan(context.active()) !== undefined;
}

/** The span active here (the operation's, a step's), to add attributes or rename it once they are known. */
export function activeSpan(): Span | undefined {
  return tracer ? trace.getActiveSpan() : undefined;
}

/** Writes the active span's W3C `traceparent` (and `tracestate`) into outgoing request headers. */
export function injectTraceContext(headers: Record<string, string>): void {
  if (tracer) propagation.inject(context.active(), headers);
}

const HEADER_GETTER: TextMapGetter<Readonly<Record<string, string | string[] | undefined>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** The remote parent an incoming request names in its `traceparent` header (the root context without one). */
export function contextFromHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Context {
  return tracer ? propagation.extract(ROOT_CONTEXT, headers, HEADER_GETTER) : ROOT_CONTEXT;
}

/** The active span's W3C `traceparent`, to carry inside an event; undefined with tracing off or no span. */
export function activeTraceparent(): string | undefined {
  if (!tracer) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier['traceparent'];
}

/** The context a `traceparent` recorded in an event stands for, to continue its trace. */
export function contextFromTraceparent(traceparent: string | undefined): Context {
  return tracer && traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }, HEADER_GETTER) : ROOT_CONTEXT;
}

const NOT_RECORDING: Span = trace.wrapSpanContext({ traceId: '00000000000000000000000000000000', spanId: '0000000000000000', traceFlags: 0 });

function endWithError(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  span.end();
}

function sampler(config: TracingConfig): Sampler {
  switch (config.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(config.samplerRatio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.samplerRatio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
