/**
 * DataLoader factories over a port's batch lookups. Loaders live for one request (built in the context
 * factory), so they batch and de-duplicate within a request and never serve another request's data.
 */
import DataLoader from 'dataloader';

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
