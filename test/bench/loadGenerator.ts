/**
 * A bounded closed-loop load generator over undici: a fixed number of connections, each sending its next request
 * as soon as the previous answer has been read and checked; a warm-up, then a timed window in which completions
 * are counted and timed. Every answer is checked against the expected response of its request before it counts:
 * a response that is not HTTP 200 or whose JSON differs from the expected one is an error, never a completion.
 * Loopback only, bounded in time and in request count.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/** One request of a workload, with the response it must get. */
export interface LoadRequest {
  readonly body: string;
  /** The response every gateway must give (parsed JSON). */
  readonly expected: unknown;
}

export interface LoadOptions {
  /** `http://127.0.0.1:<port>/graphql` */
  readonly url: string;
  readonly requests: readonly LoadRequest[];
  /** Connections, each with one request in flight at a time. */
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly windowMs: number;
  /** The `authorization` header of request number `sequence` (e.g. a unique one each, so no gateway profits from repetition). */
  readonly authorization?: (sequence: number) => string;
  /** Hard bound on requests sent in all. @default 5_000_000 */
  readonly maxRequests?: number;
  /** Deadline of one request. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Called when the timed window starts and ends (to snapshot counters). */
  readonly onWindowStart?: () => Promise<void> | void;
  readonly onWindowEnd?: () => Promise<void> | void;
}

export interface LoadResult {
  /** Correct responses completed in the window. */
  readonly completed: number;
  /** Responses in the window that were wrong (status, body) or failed. */
  readonly errors: number;
  readonly windowMs: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** A few wrong responses, for the report. */
  readonly errorSamples: readonly string[];
  /** Latencies of the correct responses, in ms, sorted. */
  readonly latencies: Float64Array;
}

const MAX_LATENCIES = 2_000_000;

/** Structural equality of parsed JSON: objects by key set (any order), arrays by position. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  for (const key of aKeys) {
    if (!Object.prototype.hasOwnProperty.call(b, key)) return false;
    if (!jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/**
 * Checks responses cheaply: a body byte-identical to one already found correct for the same request is correct
 * (compared as bytes, never decoded: the load generator shares a core with the subgraphs, and decoding every
 * large body cost it more than anything else); any other body is decoded, parsed and compared with the expected
 * response.
 */
class ResponseChecker {
  private readonly known: Array<Buffer[]>;

  constructor(private readonly requests: readonly LoadRequest[]) {
    this.known = requests.map(() => []);
  }

  check(index: number, status: number, body: Buffer): string | undefined {
    if (status !== 200) return `HTTP ${status}: ${body.toString('utf8', 0, 300)}`;
    const known = this.known[index]!;
    if (known.some((correct) => correct.length === body.length && correct.equals(body))) return undefined;
    const text = body.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return `not JSON: ${text.slice(0, 300)}`;
    }
    if (!jsonEqual(parsed, this.requests[index]!.expected)) return `differs from the expected response: ${text.slice(0, 300)}`;
    if (known.length < 8) known.push(body);
    return undefined;
  }
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export async function generateLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const maxRequests = options.maxRequests ?? 5_000_000;
  const timeout = options.requestTimeoutMs ?? 30_000;
  const pool = new Pool(url.origin, {
    connections: options.concurrency,
    pipelining: 1,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    keepAliveTimeout: 60_000,
  });
  const checker = new ResponseChecker(options.requests);
  const latencies = new Float64Array(MAX_LATENCIES);
  let recorded = 0;
  let completed = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  let sent = 0;
  let measuring = false;
  let stopped = false;
  let sequence = 0;

  const oneRequest = async (): Promise<void> => {
    const index = sequence % options.requests.length;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (options.authorization) headers['authorization'] = options.authorization(sequence);
    sequence++;
    sent++;
    const started = performance.now();
    let failure: string | undefined;
    try {
      const response = await pool.request({ path: url.pathname, method: 'POST', headers, body: options.requests[index]!.body });
      const body = Buffer.from(await response.body.arrayBuffer());
      failure = checker.check(index, response.statusCode, body);
    } catch (error) {
      failure = `request failed: ${(error as Error).message}`;
    }
    const elapsed = performance.now() - started;
    if (!measuring) return;
    if (failure === undefined) {
      completed++;
      if (recorded < MAX_LATENCIES) latencies[recorded++] = elapsed;
    } else {
      errors++;
      if (errorSamples.length < 3) errorSamples.push(failure);
    }
  };

  const worker = async () => {
    while (!stopped && sent < maxRequests) await oneRequest();
  };
  const workers = Array.from({ length: options.concurrency }, () => worker());
  let windowMs: number;
  try {
    await new Promise((resolve) => setTimeout(resolve, options.warmupMs));
    await options.onWindowStart?.();
    const windowStart = performance.now();
    measuring = true;
    await new Promise((resolve) => setTimeout(resolve, options.windowMs));
    measuring = false;
    windowMs = performance.now() - windowStart;
    await options.onWindowEnd?.();
  } finally {
    stopped = true;
    await Promise.all(workers);
    await pool.close();
  }
  const sorted = latencies.subarray(0, recorded).sort();
  return {
    completed,
    errors,
    windowMs,
    rps: (completed / windowMs) * 1000,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    errorSamples,
    latencies: sorted,
  };
}
