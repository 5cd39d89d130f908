/**
 * How much every psgraph service logs: one setting, read at start-up like every other, so a typo stops the
 * service with a message naming the variable and the levels it takes.
 */
import { ConfigError } from '../configError.js';

/** pino's levels, most to least severe, and `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggingConfig {
  /**
   * Least severe level written (fatal, error, warn, info, debug, trace or silent); `debug` adds a line per GraphQL
   * request. @default info (PSGRAPH_LOG_LEVEL)
   */
  readonly level: LogLevel;
}

export function loadLoggingConfig(env: NodeJS.ProcessEnv = process.env): LoggingConfig {
  const raw = env['PSGRAPH_LOG_LEVEL'];
  if (raw === undefined || raw === '') return { level: 'info' };
  const level = raw.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`PSGRAPH_LOG_LEVEL=${raw} is not a log level: expected one of ${LOG_LEVELS.join(', ')}.`);
  }
  return { level: level as LogLevel };
}
