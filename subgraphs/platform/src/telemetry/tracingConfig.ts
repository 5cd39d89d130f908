/**
 * Tracing settings, read from the standard OpenTelemetry variables (the SDK's environment specification), so
 * that psgraph is pointed at Jaeger, Tempo or a collector the way any OpenTelemetry service is.
 *
 * When tracing is on: OTEL_SDK_DISABLED=true turns it off whatever else is set; OTEL_TRACES_EXPORTER=none turns
 * it off, `otlp` (or `console`) on; unset, it is on exactly when an OTLP endpoint is set
 * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). The SDK's own default would export to
 * localhost:4318 always; psgraph's is off, because a service that nobody pointed at a collector should not pay
 * for spans nobody receives.
 */
import { parseKeyPairsIntoRecord } from '@opentelemetry/core';
import { ConfigError } from '../configError.js';

export type TraceSamplerName = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

const SAMPLERS: readonly TraceSamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];

export interface TracingConfig {
  /**
   * Whether spans are recorded and exported: on with an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp|console, off
   * with OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true. @default off (OTEL_TRACES_EXPORTER, OTEL_SDK_DISABLED)
   */
  readonly enabled: boolean;
  /** Where spans go: OTLP/HTTP with JSON bodies, or the console (for a quick look). @default otlp (OTEL_TRACES_EXPORTER) */
  readonly exporter: 'otlp' | 'console';
  /**
   * The OTLP wire protocol: psgraph's exporter speaks OTLP/HTTP with JSON bodies, and refuses to start when told
   * to speak another. @default http/json (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL)
   */
  readonly protocol: 'http/json';
  /**
   * Where spans are sent: the traces URL as given, else the collector's base URL with `/v1/traces` appended. The
   * exporter reads the standard variables for its request headers itself.
   * @default http://localhost:4318/v1/traces (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT)
   */
  readonly tracesUrl: string;
  /** The service's name on every span. @default psgraph-<service>, e.g. psgraph-gateway, psgraph-crm (OTEL_SERVICE_NAME) */
  readonly serviceName: string;
  /** Further resource attributes, `key=value,key=value`. @default none (OTEL_RESOURCE_ATTRIBUTES) */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /** Which traces are kept: a trace started elsewhere follows its parent's decision. @default parentbased_always_on (OTEL_TRACES_SAMPLER) */
  readonly sampler: TraceSamplerName;
  /** The ratio kept by the `traceidratio` samplers, from 0 to 1. @default 1 (OTEL_TRACES_SAMPLER_ARG) */
  readonly samplerRatio: number;
  /** How long finished spans wait to be exported in a batch, in ms. @default 5000 (OTEL_BSP_SCHEDULE_DELAY) */
  readonly batchDelayMs: number;
  /** Spans held for export at most; past it new spans are dropped, never the service slowed. @default 2048 (OTEL_BSP_MAX_QUEUE_SIZE) */
  readonly maxQueueSize: number;
  /** Spans per export request at most. @default 512 (OTEL_BSP_MAX_EXPORT_BATCH_SIZE) */
  readonly maxExportBatchSize: number;
  /** Deadline of one export request, in ms. @default 30000 (OTEL_BSP_EXPORT_TIMEOUT) */
  readonly exportTimeoutMs: number;
  /**
   * Record the operation's document as `graphql.document` on the gateway's operation span. Off by default, as
   * Apollo advises: a document may carry personal data in literals, and it makes spans large. @default false (PSGRAPH_TRACE_DOCUMENT)
   */
  readonly recordDocument: boolean;
}

/** Reads the tracing settings of one service; `service` names it by default (`psgraph-<service>`). */
export function loadTracingConfig(service: string, env: NodeJS.ProcessEnv = process.env): TracingConfig {
  const exporterSetting = (env['OTEL_TRACES_EXPORTER'] ?? '').trim().toLowerCase();
  if (exporterSetting !== '' && !['otlp', 'console', 'none'].includes(exporterSetting)) {
    throw new ConfigError(`OTEL_TRACES_EXPORTER=${exporterSetting} is not an exporter psgraph has: expected otlp, console or none.`);
  }
  const tracesEndpoint = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] || undefined;
  const baseEndpoint = env['OTEL_EXPORTER_OTLP_ENDPOINT'] || undefined;
  const disabled = readBoolean(env, 'OTEL_SDK_DISABLED');
  const enabled = !disabled && (exporterSetting === '' ? (tracesEndpoint ?? baseEndpoint) !== undefined : exporterSetting !== 'none');
  const exporter = exporterSetting === 'console' ? 'console' : 'otlp';
  if (enabled && exporter === 'otlp') {
    const protocol = env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] || env['OTEL_EXPORTER_OTLP_PROTOCOL'];
    if (protocol && protocol !== 'http/json') {
      throw new ConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: psgraph exports traces over http/json (OTLP/HTTP with JSON bodies).`);
    }
  }
  const sampler = (env['OTEL_TRACES_SAMPLER'] || 'parentbased_always_on').trim().toLowerCase() as TraceSamplerName;
  if (!SAMPLERS.includes(sampler)) throw new ConfigError(`OTEL_TRACES_SAMPLER=${sampler} is not a sampler psgraph has: expected ${SAMPLERS.join(', ')}.`);
  let resourceAttributes: Record<string, string>;
  try {
    resourceAttributes = parseKeyPairsIntoRecord(env['OTEL_RESOURCE_ATTRIBUTES'] ?? '');
  } catch {
    throw new ConfigError('OTEL_RESOURCE_ATTRIBUTES is not a list of key=value pairs separated by commas.');
  }
  return {
    enabled,
    exporter,
    protocol: 'http/json',
    // The specification's rule: the signal's own variable is the whole URL; the base gets the signal's path.
    tracesUrl: tracesEndpoint ?? `${(baseEndpoint ?? 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`,
    serviceName: env['OTEL_SERVICE_NAME'] || resourceAttributes['service.name'] || `psgraph-${service}`,
    resourceAttributes,
    sampler,
    samplerRatio: sampler.endsWith('traceidratio') ? readFraction(env, 'OTEL_TRACES_SAMPLER_ARG') : 1,
    batchDelayMs: readCount(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000),
    maxQueueSize: readCount(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048),
    maxExportBatchSize: readCount(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512),
    exportTimeoutMs: readCount(env, 'OTEL_BSP_EXPORT_TIMEOUT', 30_000),
    recordDocument: readBoolean(env, 'PSGRAPH_TRACE_DOCUMENT'),
  };
}

function readBoolean(env: NodeJS.ProcessEnv, variable: string): boolean {
  const raw = (env[variable] ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new ConfigError(`${variable}=${raw} is not a boolean: expected true or false.`);
}

function readCount(env: NodeJS.ProcessEnv, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${variable}=${raw} is not a positive whole number.`);
  return value;
}

function readFraction(env: NodeJS.ProcessEnv, variable: string): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return 1;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new ConfigError(`${variable}=${raw} is not a ratio: expected a number from 0 to 1.`);
  return value;
}
