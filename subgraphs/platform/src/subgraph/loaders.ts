/**
 * DataLoader factories over a port's batch lookups. Loaders live for one request (built in the context
 * factory), so they batch and de-duplicate within a request and never serve another request's data.
 */
import DataLoader from 'dataloader';
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { inputError } from './errors.js';

/** One record (or null) per key, from a batch lookup returning a map. */
export function recordLoader<K, V>(lookup: (keys: readonly K[]) => Promise<Map<K, V>>): DataLoader<K, V | null> {
  return new DataLoader<K, V | null>(async (keys) => {
    const found = await lookup(keys);
    return keys.map((key) => found.get(key) ?? null);
  });
}

/** A list (possibly empty) per key, from a batch lookup returning grouped rows. */
export function listLoader<K, V>(lookup: (keys: readonly K[]) => Promise<Map<K, V[]>>): DataLoader<K, V[]> {
  return new DataLoader<K, V[]>(async (keys) => {
    const found = await lookup(keys);
    return keys.map((key) => found.get(key) ?? []);
  });
}

/**
 * The record a non-null field points at. A key its system does not know is a broken reference: it is reported
 * as NOT_FOUND naming the record, never returned as a null that the schema forbids.
 */
export async function existing<V>(record: Promise<V | null>, description: string): Promise<V> {
  const found = await record;
  if (found === null) throw inputError(ErrorCode.NOT_FOUND, `${description} does not exist.`);
  return found;
}
