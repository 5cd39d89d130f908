/**
 * The `code` of log lines that report something going wrong, so that an alert or a search keys on a code, never
 * on a message. Never renamed or reused; docs/operations.md ("Logs") lists them.
 */
export const LogCode = {
  /** A service could not start (a configuration error, a port in use). */
  START_FAILED: 'START_FAILED',
  /** A service failed while draining on SIGTERM/SIGINT. */
  STOP_FAILED: 'STOP_FAILED',
  /** An HTTP handler threw: the caller got a 500. */
  UNHANDLED_REQUEST_ERROR: 'UNHANDLED_REQUEST_ERROR',
  /** The supergraph file could not be read or composed; the gateway keeps serving the last good one. */
  SUPERGRAPH_RELOAD_FAILED: 'SUPERGRAPH_RELOAD_FAILED',
  /** A forward step of an activation run failed after its retries: the run compensates. */
  ACTIVATION_STEP_FAILED: 'ACTIVATION_STEP_FAILED',
  /** An activation run failed validation: exceptions are open for people to fix. */
  ACTIVATION_VALIDATION_FAILED: 'ACTIVATION_VALIDATION_FAILED',
  /** Undoing a step kept failing: the run needs a person. */
  ACTIVATION_COMPENSATION_FAILED: 'ACTIVATION_COMPENSATION_FAILED',
  /** The driver of a run stopped on an unexpected error; the run resumes from the store later. */
  ACTIVATION_DRIVER_STOPPED: 'ACTIVATION_DRIVER_STOPPED',
  /** An event broke its contract (or could not be processed) and went to the dead-letter list. */
  EVENT_DEAD_LETTERED: 'EVENT_DEAD_LETTERED',
  /** A system refused a posting or an invoice, or a background process of the process layer failed. */
  PROCESS_FAILED: 'PROCESS_FAILED',
  /** The event bus, an outbox or a change feed failed; it retries. */
  EVENTS_FAILED: 'EVENTS_FAILED',
} as const;
export type LogCode = (typeof LogCode)[keyof typeof LogCode];
