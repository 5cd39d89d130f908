/**
 * The logger of every psgraph service: pino writing one JSON object per line to stdout, with the service's
 * name, an ISO time and the level's name; the request and run IDs of the work in progress (`logContext.ts`);
 * and, whenever tracing is on, the trace and span IDs of the active OpenTelemetry span, so one activation can be
 * followed from the gateway's request through every service by its trace ID. Secrets and tax IDs are withheld
 * (`redaction.ts`).
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';
import { carryRequestIds, currentLogContext } from './logContext.js';
import { type LogLevel, loadLoggingConfig } from './loggingConfig.js';
import { redactSecrets, scrubSecrets, serializeError } from './redaction.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** @default PSGRAPH_LOG_LEVEL, else info */
  readonly level?: LogLevel;
  /** Where the lines go. @default stdout, written synchronously so that no line is lost when the process exits */
  readonly destination?: DestinationStream;
}

/** The IDs of the span active now, when there is one (the OpenTelemetry API is a no-op without an SDK). */
function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const context = span.spanContext();
  return isSpanContextValid(context) ? { trace_id: context.traceId, span_id: context.spanId } : {};
}

const safeError = (value: unknown) => (value instanceof Error ? serializeError(value) : value);

/** A logger for the service `service` (`gateway`, `crm`, `activation`…); children add fields with `.child()`. */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? loadLoggingConfig().level;
  if (level === 'debug' || level === 'trace') carryRequestIds();
  return pino(
    {
      level,
      base: { service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        // What a line holds, with secrets and tax IDs withheld (`redaction.ts`). Not what a child logger binds:
        // pino writes a child's bindings once, as given; bind IDs (`run_id`, `endpoint`), never request data.
        log: (fields) => redactSecrets(fields),
      },
      mixin: (_merge, _level, logger) => {
        const ids: Record<string, string> = { ...currentLogContext(), ...traceFields() };
        if (Object.keys(ids).length === 0) return ids;
        // A child logger that binds an ID itself (`child({ run_id })`) keeps its own: one key, written once. Its
        // bindings are kept as a JSON fragment; searching it is far cheaper than parsing it (`bindings()`).
        const bound = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
        for (const key of Object.keys(ids)) if (bound.includes(`"${key}":`)) delete ids[key];
        return ids;
      },
      // An error under `err` or `error` was already turned into its safe form by the walk; any other is, here.
      serializers: { err: safeError, error: safeError },
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
