/**
 * The event contracts: every business event psgraph publishes has a versioned JSON Schema under
 * `contracts/events/<type>.v<version>.schema.json`. The activation consumer checks each incoming event against
 * its contract before acting on it (a malformed one is dead-lettered with the reason, never acted on and never
 * allowed to crash the consumer); tests check every event the flow publishes the same way.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { BusEvent } from '../../../platform/src/events/index.js';
import type { DeadLetters } from '../store/deadLetters.js';
import { LogCode, type Logger } from '../../../platform/src/logging/index.js';

/** The folder of the contracts, shared by every service. */
export const EVENT_CONTRACTS_DIR = fileURLToPath(new URL('../../../../contracts/events/', import.meta.url));

export type ContractCheck = { readonly valid: true } | { readonly valid: false; readonly reason: string };

// ajv-formats is CommonJS with a default export; under NodeNext its default arrives on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

/** Compiled validators of every contract in a folder, by `type@version`. */
export class EventContracts {
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(folder: string = EVENT_CONTRACTS_DIR) {
    const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true }));
    for (const file of readdirSync(folder).filter((name) => name.endsWith('.schema.json'))) {
      const match = /^(.+)\.v(\d+)\.schema\.json$/.exec(file);
      if (!match) throw new Error(`contracts/events/${file}: expected <type>.v<version>.schema.json`);
      const schema = JSON.parse(readFileSync(`${folder}/${file}`, 'utf8')) as Record<string, unknown>;
      this.validators.set(`${match[1]}@${match[2]}`, ajv.compile(schema));
    }
  }

  /** The `type@version` keys of every contract loaded. */
  get names(): string[] {
    return [...this.validators.keys()].sort();
  }

  /** Checks an event (anything that arrived) against the contract its own `type` and `version` name. */
  check(event: unknown): ContractCheck {
    if (typeof event !== 'object' || event === null) return { valid: false, reason: 'not a JSON object' };
    const { type, version } = event as { type?: unknown; version?: unknown };
    if (typeof type !== 'string' || typeof version !== 'number') return { valid: false, reason: 'no string "type" and numeric "version"' };
    const validate = this.validators.get(`${type}@${version}`);
    if (!validate) return { valid: false, reason: `no contract for ${type} v${version}` };
    if (validate(event)) return { valid: true };
    const errors = (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`);
    return { valid: false, reason: `does not match ${type} v${version}: ${errors.join('; ')}` };
  }
}

/**
 * A consumer's handler that first checks each event against its contract: one that does not match is recorded as a
 * dead letter with the reason and acknowledged — acting on it could be wrong, and retrying it would fail the same
 * way — and never reaches `handle`.
 */
export function contractChecked(
  options: { readonly contracts: EventContracts; readonly deadLetters: DeadLetters; readonly log?: Logger; readonly name: string },
  handle: (event: BusEvent) => Promise<void>,
): (event: BusEvent) => Promise<void> {
  return async (event) => {
    const check = options.contracts.check(event);
    if (check.valid) return handle(event);
    options.deadLetters.record({
      eventId: typeof event?.id === 'string' ? event.id : null,
      type: typeof event?.type === 'string' ? event.type : null,
      reason: check.reason,
      payload: safeJson(event),
    });
    options.log?.warn(
      {
        code: LogCode.EVENT_DEAD_LETTERED,
        consumer: options.name,
        event_id: String(event?.id),
        event_type: typeof event?.type === 'string' ? event.type : null,
      },
      `dead-lettered event ${String(event?.id)}: ${check.reason}`,
    );
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'undefined';
  } catch {
    return String(value);
  }
}
