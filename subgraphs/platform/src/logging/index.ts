export { LogCode } from './logCodes.js';
export { REQUEST_ID_HEADER, assignRequestId, currentLogContext, withLogContext } from './logContext.js';
export type { LogContext } from './logContext.js';
export { createLogger, logLines } from './logger.js';
export type { Logger, LoggerOptions } from './logger.js';
export { LOG_LEVELS, loadLoggingConfig } from './loggingConfig.js';
export type { LogLevel, LoggingConfig } from './loggingConfig.js';
export { CENSOR, REDACTED_KEYS, redactedPaths, scrubSecrets, serializeError } from './redaction.js';
export { requestLogPlugin } from './requestLogPlugin.js';
