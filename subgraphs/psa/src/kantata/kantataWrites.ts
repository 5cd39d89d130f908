/**
 * What Kantata's approval writes share: its refusals in psgraph's codes, and a write sent once — Kantata has no
 * idempotency key, and a second approval of an approved submission is refused — whose lost answer is looked for
 * instead of the write being repeated.
 */
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { inputError } from '../../../platform/src/index.js';
import { VendorError } from '../../../platform/src/vendor/vendorError.js';
import type { Envelope } from './kantataClient.js';

export const refuse = (message: string) => inputError(ErrorCode.INVALID_STATE_TRANSITION, message);
export const missing = (what: string) => inputError(ErrorCode.NOT_FOUND, `${what} does not exist in the PSA.`);

/** A failure after which Kantata may have carried the write out: look before answering. */
const answerLost = (error: unknown) => error instanceof VendorError && (error.failure === 'UNAVAILABLE' || error.failure === 'TIMEOUT');

/**
 * Sends the write and applies its answer. When the answer is lost, `recover` reads the record again: what it finds
 * (the change was made) is the answer; null (it was not) leaves the original failure to the caller.
 */
export async function sendOnce<R>(send: () => Promise<Envelope>, recover: () => Promise<R | null>, apply: (envelope: Envelope) => R): Promise<R> {
  let envelope: Envelope;
  try {
    envelope = await send();
  } catch (error) {
    if (answerLost(error)) {
      const now = await recover().catch(() => null);
      if (now !== null) return now;
    }
    throw error;
  }
  return apply(envelope);
}
