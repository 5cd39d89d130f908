/**
 * The stable `extensions.code` values psgraph puts on GraphQL errors. Clients branch on these, never on
 * messages, so a code is never renamed or reused: add new ones, deprecate old ones in the description.
 *
 * docs/operations.md's "Error codes" table is this list (a test keeps the two the same).
 */
export const ErrorCode = {
  /** An ID argument does not have the format of the system that issues it (e.g. not an 18-character Salesforce ID). */
  INVALID_ID: 'INVALID_ID',
  /** `first` is below 1 or above the documented maximum page size. */
  PAGE_SIZE_OUT_OF_RANGE: 'PAGE_SIZE_OUT_OF_RANGE',
  /** An `after` cursor was not issued by this field, or was tampered with. */
  INVALID_CURSOR: 'INVALID_CURSOR',
  /** A date range whose `from` is after its `to`, or a range wider than the documented maximum. */
  INVALID_DATE_RANGE: 'INVALID_DATE_RANGE',
  /** Any other argument that fails validation; the message says which and what would be valid. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** A state transition the system of record does not allow (e.g. paying a draft invoice). */
  INVALID_STATE_TRANSITION: 'INVALID_STATE_TRANSITION',
  /** The record does not exist in the system that was asked. */
  NOT_FOUND: 'NOT_FOUND',
  /**
   * A write that contradicts what the system of record already holds: an external ID already used by another
   * record, a deal already linked to a different project. Retrying the same write cannot succeed.
   */
  CONFLICT: 'CONFLICT',
  /**
   * An `idempotencyKey` already used for a different request (e.g. `activateProject` for another opportunity).
   * Keys are single-purpose, as Stripe's are: reuse one only to repeat the same request.
   */
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  /** A dead letter that was replayed already: each is replayed once; a replay that fails again is a new dead letter. */
  DEAD_LETTER_ALREADY_REPLAYED: 'DEAD_LETTER_ALREADY_REPLAYED',
  /** An event (e.g. an operator's edit of a dead letter) that does not match its contract under contracts/events/. */
  EVENT_CONTRACT_VIOLATION: 'EVENT_CONTRACT_VIOLATION',
  /** The subgraph did not answer within the gateway's configured timeout. */
  SUBGRAPH_TIMEOUT: 'SUBGRAPH_TIMEOUT',
  /** The subgraph could not be reached (connection refused, reset, DNS) or answered with a non-GraphQL response. */
  SUBGRAPH_UNAVAILABLE: 'SUBGRAPH_UNAVAILABLE',
  /** The request body is larger than the gateway accepts (HTTP 413). */
  REQUEST_TOO_LARGE: 'REQUEST_TOO_LARGE',
  /** The request is not a well-formed GraphQL-over-HTTP request (HTTP 400). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The document is syntactically invalid (Apollo Server's code, kept). */
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  /** The document does not validate against the supergraph (Apollo Server's code, kept). */
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  /** `operationName` names no operation of the document (HTTP 400). */
  UNKNOWN_OPERATION_NAME: 'UNKNOWN_OPERATION_NAME',
  /** The document holds several operations and the request names none to run (HTTP 400). */
  OPERATION_NAME_REQUIRED: 'OPERATION_NAME_REQUIRED',
  /** A subscription was sent over HTTP; psgraph serves subscriptions over graphql-ws on the same path (HTTP 400). */
  SUBSCRIPTION_REQUIRES_WEBSOCKET: 'SUBSCRIPTION_REQUIRES_WEBSOCKET',
  /**
   * The operation's estimated cost (demand control) exceeds the maximum for the caller: `extensions.cost` holds
   * `estimated` and `max`. Ask for fewer items per list or fewer lists (HTTP 400).
   */
  COST_ESTIMATED_TOO_EXPENSIVE: 'COST_ESTIMATED_TOO_EXPENSIVE',
  /** An ID of a trusted document (persisted operation) that the manifest does not hold (HTTP 400). */
  PERSISTED_QUERY_NOT_IN_LIST: 'PERSISTED_QUERY_NOT_IN_LIST',
  /** This endpoint runs trusted documents only, by ID; a document was sent instead (HTTP 400). */
  PERSISTED_QUERY_ID_REQUIRED: 'PERSISTED_QUERY_ID_REQUIRED',
  /** This endpoint runs listed documents only, and this one is not listed (HTTP 400). */
  QUERY_NOT_IN_SAFELIST: 'QUERY_NOT_IN_SAFELIST',
  /** The caller made more requests than its rate allows; retry after `Retry-After` seconds (HTTP 429). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The document exceeds the gateway's depth or alias limits. */
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** The request has no valid credentials (HTTP 401; WebSocket close 4403). */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /**
   * The caller may not see this field or type (field authorization): it is `null`, the rest of the request ran.
   * Under PSGRAPH_AUTHORIZATION_MODE=reject the whole request is refused with this code (HTTP 403) and
   * `extensions.unauthorizedPaths`.
   */
  UNAUTHORIZED_FIELD_OR_TYPE: 'UNAUTHORIZED_FIELD_OR_TYPE',
  /**
   * The caller is known but may not do this: a client user on an endpoint not open to client users, a record of
   * an account the caller does not belong to written to, a process write asked for by anyone but the process
   * layer (HTTP 403).
   */
  FORBIDDEN: 'FORBIDDEN',
  /** A subscription ended because the gateway reloaded its supergraph; subscribe again. */
  SUBSCRIPTION_SCHEMA_RELOAD: 'SUBSCRIPTION_SCHEMA_RELOAD',
  /**
   * A system of record (Salesforce, Kantata, NetSuite, Stripe) could not be reached, failed, timed out, kept
   * asking psgraph to slow down, or is failing so often that psgraph stopped calling it for a while (its circuit
   * is open). `extensions.system` names it; retry later.
   */
  SYSTEM_UNAVAILABLE: 'SYSTEM_UNAVAILABLE',
  /**
   * A system of record refused psgraph's own credentials, or they lack a permission the call needs.
   * `extensions.system` names it; an operator fixes the integration user, not the caller.
   */
  SYSTEM_PERMISSION_DENIED: 'SYSTEM_PERMISSION_DENIED',
  /**
   * The system of record configured for this subgraph does not take this operation through psgraph (yet): make the
   * change in the system itself. `extensions.system` names it.
   */
  SYSTEM_OPERATION_UNSUPPORTED: 'SYSTEM_OPERATION_UNSUPPORTED',
  /** The gateway is shutting down or has no supergraph loaded yet (HTTP 503). */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** Anything unexpected. In production its message is masked as "Unexpected error." */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
