/**
 * What a port's conformance suite is built from: the same call made on the reference adapter (the sandbox) and on
 * the adapter under test, over the same world, must come out the same — the same value, or the same error with the
 * same code and message. The suites (`subgraphs/<system>/test/<system>PortConformance.ts`) are the definition of
 * "an adapter works", as the event bus's conformance suite is for its backends.
 */
import { GraphQLError } from 'graphql';
import { expect } from 'vitest';
import type { BusEvent, EventBus } from '../src/events/index.js';

export type Outcome = { readonly value: unknown } | { readonly error: { readonly code: unknown; readonly message: string } };

/** The value a call resolved with, or its error as a client would see it (code and message). */
export async function outcomeOf(call: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { value: await call() };
  } catch (error) {
    if (error instanceof GraphQLError) return { error: { code: error.extensions['code'], message: error.message } };
    throw error;
  }
}

/** Makes the call on both adapters and expects the same outcome; returns the reference's. */
export async function expectSameOutcome<Port>(reference: Port, candidate: Port, call: (port: Port) => Promise<unknown>, what: string): Promise<Outcome> {
  const expected = await outcomeOf(() => call(reference));
  const actual = await outcomeOf(() => call(candidate));
  expect(actual, what).toEqual(expected);
  return expected;
}

/** Every event a bus carries from now on (type, subject and data: what a consumer acts on). */
export function recordEvents(bus: EventBus): { readonly events: Array<Pick<BusEvent, 'type' | 'subject' | 'data'>>; stop(): void } {
  const events: Array<Pick<BusEvent, 'type' | 'subject' | 'data'>> = [];
  const stop = bus.subscribe('*', (event) => void events.push({ type: event.type, subject: event.subject, data: event.data }));
  return { events, stop };
}
