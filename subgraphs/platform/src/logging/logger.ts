/**
 * The logger of every psgraph service: pino writing one JSON object per line to stdout, with the service's
 * name, an ISO time and the level's name; the request and run IDs of the work in progress (`logContext.ts`);
 * and, whenever tracing is on, the trace and span IDs of the active OpenTelemetry span, so one activation can be
 * followed from the gateway's request through every service by its trace ID. Secrets and tax IDs are withheld
 * (`redaction.ts`).
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';
import { currentLogContext } from './logContext.js';
import { type LogLevel, loadLoggingConfig } from './loggingConfig.js';
import { CENSOR, redactedPaths, scrubSecrets, serializeError } from './redaction.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** @default PSGRAPH_LOG_LEVEL, else info */
  readonly level?: LogLevel;
  /** Where the lines go. @default stdout, written synchronously so that no line is lost when the process exits */
  readonly destination?: DestinationStream;
}

const REDACT_PATHS = redactedPaths();

/** The IDs of the span active now, when there is one (the OpenTelemetry API is a no-op without an SDK). */
function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const context = span.spanContext();
  return isSpanContextValid(context) ? { trace_id: context.traceId, span_id: context.spanId } : {};
}

/** A logger for the service `service` (`gateway`, `crm`, `activation`…); children add fields with `.child()`. */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? loadLoggingConfig().level,
      base: { service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: (_merge, _level, logger) => {
        const ids: Record<string, string> = { ...currentLogContext(), ...traceFields() };
        // A child logger that binds run_id itself (the saga runner's) keeps its own: one key, written once.
        if (ids['run_id'] !== undefined && 'run_id' in logger.bindings()) delete ids['run_id'];
        return ids;
      },
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      serializers: { err: serializeError, error: serializeError },
      hooks: {
        // Messages are built from values (a vendor's answer, a URL): scrub them as the structured fields are.
        logMethod(args, method) {
          const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubSecrets(arg) : arg)) as Parameters<typeof method>;
          method.apply(this, scrubbed);
        },
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** A `(message) => void` callback (the vendor clients' and event bus's option) that logs at `level` on `logger`. */
export function logLines(logger: Logger, level: 'info' | 'warn' | 'error' = 'info'): (message: string) => void {
  return (message) => logger[level](message);
}
