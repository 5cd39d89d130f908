/**
 * A vendor system's refusal or failure, classified so that psgraph answers with its own stable codes whatever the
 * vendor said: a vendor adapter turns each vendor's error bodies (Salesforce's `errorCode`, NetSuite's
 * `o:errorDetails`, Kantata's `errors`, Stripe's `error.type`) into one of these, and the resilience layer decides
 * from the kind alone whether a call may be retried.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../../../contracts/errorCodes.js';

export type VendorFailure =
  /** The record does not exist in the vendor system. */
  | 'NOT_FOUND'
  /** The vendor refused the data (a required field, a bad value, a rule of the vendor's). */
  | 'VALIDATION'
  /** The write contradicts what the vendor holds (a duplicate external ID, a record in use). */
  | 'CONFLICT'
  /** psgraph's credentials are valid but lack a permission the call needs. */
  | 'PERMISSION'
  /** psgraph's credentials were refused (after a token refresh, when the vendor has one). */
  | 'AUTHENTICATION'
  /** The vendor asked psgraph to slow down (HTTP 429, Salesforce REQUEST_LIMIT_EXCEEDED, NetSuite concurrency). */
  | 'RATE_LIMITED'
  /** The vendor could not be reached or failed on its side (5xx, reset connection), or its circuit is open. */
  | 'UNAVAILABLE'
  /** The vendor did not answer within the call's deadline. */
  | 'TIMEOUT';

const TRANSIENT: ReadonlySet<VendorFailure> = new Set(['RATE_LIMITED', 'UNAVAILABLE', 'TIMEOUT']);

const CODE_OF: Readonly<Record<VendorFailure, ErrorCode>> = {
  NOT_FOUND: ErrorCode.NOT_FOUND,
  VALIDATION: ErrorCode.BAD_USER_INPUT,
  CONFLICT: ErrorCode.CONFLICT,
  PERMISSION: ErrorCode.SYSTEM_PERMISSION_DENIED,
  AUTHENTICATION: ErrorCode.SYSTEM_PERMISSION_DENIED,
  RATE_LIMITED: ErrorCode.SYSTEM_UNAVAILABLE,
  UNAVAILABLE: ErrorCode.SYSTEM_UNAVAILABLE,
  TIMEOUT: ErrorCode.SYSTEM_UNAVAILABLE,
};

export interface VendorErrorOptions {
  /** The vendor's HTTP status, when it answered. */
  readonly status?: number;
  /** The vendor's own error code (e.g. `DUPLICATE_VALUE`, `INVALID_FIELD`). */
  readonly vendorCode?: string;
  /** How long the vendor asked psgraph to wait (Retry-After). */
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

/**
 * A GraphQL error with psgraph's code and the system's name, so that it reaches the client as it is. Its message
 * is built by the adapter from the vendor's answer and never holds a credential.
 */
export class VendorError extends GraphQLError {
  readonly retryAfterMs: number | undefined;

  constructor(
    /** The vendor system, as named to users: `Salesforce`, `Kantata`, `NetSuite`, `Stripe`. */
    readonly system: string,
    readonly failure: VendorFailure,
    message: string,
    options: VendorErrorOptions = {},
  ) {
    super(message, {
      extensions: {
        code: CODE_OF[failure],
        system,
        failure,
        ...(options.status === undefined ? {} : { vendorStatus: options.status }),
        ...(options.vendorCode === undefined ? {} : { vendorCode: options.vendorCode }),
      },
      ...(options.cause instanceof Error ? { originalError: options.cause } : {}),
    });
    this.name = 'VendorError';
    this.retryAfterMs = options.retryAfterMs;
  }

  /** Worth retrying later: the vendor was busy, down or slow, not refusing the request itself. */
  get transient(): boolean {
    return TRANSIENT.has(this.failure);
  }
}

/** The failure an HTTP status stands for, for vendors whose error bodies say no more. */
export function failureOfStatus(status: number): VendorFailure {
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 401) return 'AUTHENTICATION';
  if (status === 403) return 'PERMISSION';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 408 || status >= 500) return 'UNAVAILABLE';
  return 'VALIDATION';
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
