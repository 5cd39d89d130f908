/**
 * Chooses the event bus backend from configuration: Redis when `REDIS_URL` is set (services spread over
 * machines, gateway replicas behind a load balancer), the embedded SQLite log otherwise (one machine, nothing to
 * install). Same interface, same tests.
 */
import { resolve } from 'node:path';
import { ConfigError } from '../config.js';
import type { ConsumerTiming } from './busSupport.js';
import { EmbeddedEventBus } from './embeddedEventBus.js';
import type { EventBus } from './eventBus.js';
import { RedisEventBus } from './redisEventBus.js';
import { redactUrl } from './redisStreams.js';

export interface EventBusConfig {
  /** Redis URL; absent means the embedded bus. (REDIS_URL) */
  readonly redisUrl?: string;
  /** Folder of the embedded bus' `events.db`. @default ./data (PSGRAPH_DATA_DIR) */
  readonly dataDir: string;
}

/** Reads and validates the bus settings; a wrong value stops start-up with a message naming the variable. */
export function loadEventBusConfig(env: NodeJS.ProcessEnv = process.env): EventBusConfig {
  const dataDir = resolve(env['PSGRAPH_DATA_DIR'] || 'data');
  const raw = env['REDIS_URL']?.trim();
  if (!raw) return { dataDir };
  return { redisUrl: validateRedisUrl(raw), dataDir };
}

/** Opens the backend the configuration names; with Redis, waits until the server answers. */
export async function openEventBus(config: EventBusConfig, timing: ConsumerTiming = {}): Promise<EventBus> {
  if (config.redisUrl !== undefined) return RedisEventBus.connect({ ...timing, url: validateRedisUrl(config.redisUrl) });
  return new EmbeddedEventBus({ ...timing, dataDir: config.dataDir });
}

function validateRedisUrl(raw: string): string {
  const expected = 'expected redis://[user:password@]host[:port][/db] or rediss://… for TLS';
  let url: URL | undefined;
  try {
    // `host:port` parses as a URL with scheme `host`; demand the `//` of a real one. Not echoed: it may hold a password.
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url) throw new ConfigError(`REDIS_URL is not a URL: ${expected}.`);
  const shown = redactUrl(raw);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`REDIS_URL=${shown} has scheme ${url.protocol.replace(/:$/, '')}: ${expected}.`);
  }
  if (!url.hostname) throw new ConfigError(`REDIS_URL=${shown} names no host: ${expected}.`);
  const database = url.pathname.replace(/^\//, '');
  if (database !== '' && !/^\d+$/.test(database)) {
    throw new ConfigError(`REDIS_URL=${shown} selects database "${database}": the path must be a database number (e.g. /0).`);
  }
  return raw;
}
