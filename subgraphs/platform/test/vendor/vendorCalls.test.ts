import { inspect } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../../contracts/errorCodes.js';
import { Metrics, parseMetrics } from '../../src/metrics.js';
import { Secret, readSecret } from '../../src/vendor/secrets.js';
import { VendorCalls } from '../../src/vendor/vendorCalls.js';
import { VendorError, failureOfStatus, retryAfterMs } from '../../src/vendor/vendorError.js';

/** A clock the test moves, and sleeps that only record what was asked. */
function fakeTime() {
  let now = 1_000_000;
  const slept: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms);
      now += ms;
    },
    advance: (ms: number) => (now += ms),
    slept,
  };
}

const unavailable = () => new VendorError('Acme', 'UNAVAILABLE', 'Acme answered 503.', { status: 503 });

describe('VendorCalls', () => {
  it('retries a safe call on transient failures, honouring Retry-After, and counts every attempt', async () => {
    const time = fakeTime();
    const metrics = new Metrics();
    const calls = new VendorCalls({ system: 'Acme', metrics, now: time.now, sleep: time.sleep, maxAttempts: 4 });
    const answers = [new VendorError('Acme', 'RATE_LIMITED', 'Slow down.', { status: 429, retryAfterMs: 1_500 }), unavailable()];

    const result = await calls.call('read', true, async () => {
      const next = answers.shift();
      if (next) throw next;
      return 'done';
    });

    expect(result).toBe('done');
    expect(time.slept[0]).toBe(1_500);
    expect(time.slept).toHaveLength(2);
    const counted = parseMetrics(await metrics.render());
    expect(counted.get('psgraph_vendor_api_calls_total{system="Acme",operation="read",outcome="rate_limited"}')).toBe(1);
    expect(counted.get('psgraph_vendor_api_calls_total{system="Acme",operation="read",outcome="unavailable"}')).toBe(1);
    expect(counted.get('psgraph_vendor_api_calls_total{system="Acme",operation="read",outcome="ok"}')).toBe(1);
  });

  it('never retries a call that is not safe to repeat', async () => {
    const time = fakeTime();
    const calls = new VendorCalls({ system: 'Acme', now: time.now, sleep: time.sleep });
    let attempts = 0;

    await expect(
      calls.call('create', false, async () => {
        attempts++;
        throw unavailable();
      }),
    ).rejects.toMatchObject({ extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, system: 'Acme' } });
    expect(attempts).toBe(1);
  });

  it('does not retry a refusal: validation, not found, conflict and permission are answers', async () => {
    const calls = new VendorCalls({ system: 'Acme', sleep: async () => {} });
    for (const [failure, code] of [
      ['VALIDATION', ErrorCode.BAD_USER_INPUT],
      ['NOT_FOUND', ErrorCode.NOT_FOUND],
      ['CONFLICT', ErrorCode.CONFLICT],
      ['PERMISSION', ErrorCode.SYSTEM_PERMISSION_DENIED],
    ] as const) {
      let attempts = 0;
      await expect(
        calls.call('write', true, async () => {
          attempts++;
          throw new VendorError('Acme', failure, 'No.');
        }),
      ).rejects.toMatchObject({ extensions: { code, system: 'Acme', failure } });
      expect(attempts).toBe(1);
    }
  });

  it('abandons an attempt at its deadline and reports a timeout naming the system', async () => {
    const calls = new VendorCalls({ system: 'Acme', deadlineMs: 50, maxAttempts: 1 });
    let aborted = false;

    const error = await calls
      .call('read', true, (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => ((aborted = true), reject(new Error('aborted'))))))
      .catch((caught: unknown) => caught);

    expect(aborted).toBe(true);
    expect(error).toMatchObject({ message: 'Acme did not answer within 50 ms.', extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, failure: 'TIMEOUT' } });
  });

  it('answers at its deadline even when the request ignores its signal (an SDK that takes none)', async () => {
    const calls = new VendorCalls({ system: 'Acme', deadlineMs: 50, maxAttempts: 1, maxConcurrency: 1 });
    let finish: (value: string) => void = () => {};

    // The request never answers before finish() below: only the deadline can end this call.
    await expect(calls.call('read', true, () => new Promise<string>((resolve) => (finish = resolve)))).rejects.toMatchObject({
      extensions: { failure: 'TIMEOUT' },
    });

    // The abandoned request still holds its slot until the vendor answers it.
    let second = false;
    const next = calls.call('read', true, async () => (second = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(second).toBe(false);
    finish('late');
    await next;
    expect(second).toBe(true);
  });

  it('keeps at most maxConcurrency calls in flight', async () => {
    const calls = new VendorCalls({ system: 'Acme', maxConcurrency: 2 });
    let inFlight = 0;
    let most = 0;
    const request = async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 10));
      inFlight--;
      return inFlight;
    };

    await Promise.all(Array.from({ length: 8 }, () => calls.call('read', true, request)));

    expect(most).toBe(2);
  });

  it('opens its circuit after consecutive outages, fails fast without calling, and closes after a good probe', async () => {
    const time = fakeTime();
    const calls = new VendorCalls({ system: 'Acme', now: time.now, sleep: time.sleep, maxAttempts: 1, failureThreshold: 3, cooldownMs: 10_000 });
    let vendorCalls = 0;
    const down = async () => {
      vendorCalls++;
      throw unavailable();
    };

    for (let i = 0; i < 3; i++) await expect(calls.call('read', true, down)).rejects.toBeInstanceOf(VendorError);
    expect(calls.state).toBe('open');
    await expect(calls.call('read', true, down)).rejects.toMatchObject({ extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, system: 'Acme' } });
    expect(vendorCalls).toBe(3);

    time.advance(10_000);
    expect(calls.state).toBe('half-open');
    await expect(calls.call('read', true, down)).rejects.toBeInstanceOf(VendorError);
    expect(calls.state).toBe('open');

    time.advance(10_000);
    expect(await calls.call('read', true, async () => 'back')).toBe('back');
    expect(calls.state).toBe('closed');
  });

  it('turns a connection that failed into SYSTEM_UNAVAILABLE naming the system', async () => {
    const calls = new VendorCalls({ system: 'Acme', maxAttempts: 1 });
    await expect(
      calls.call('read', true, async () => {
        throw new TypeError('fetch failed');
      }),
    ).rejects.toMatchObject({ message: 'Acme could not be reached (fetch failed).', extensions: { code: ErrorCode.SYSTEM_UNAVAILABLE, system: 'Acme' } });
  });
});

describe('vendor errors', () => {
  it('classifies HTTP statuses and reads Retry-After in seconds or as a date', () => {
    expect([404, 409, 401, 403, 429, 503, 400].map(failureOfStatus)).toEqual([
      'NOT_FOUND',
      'CONFLICT',
      'AUTHENTICATION',
      'PERMISSION',
      'RATE_LIMITED',
      'UNAVAILABLE',
      'VALIDATION',
    ]);
    expect(retryAfterMs('2')).toBe(2_000);
    expect(retryAfterMs(new Date(61_000).toUTCString(), 1_000)).toBe(60_000);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});

describe('secrets', () => {
  it('never prints a secret, however it is turned into text', () => {
    const secret = new Secret('sk_live_123');
    expect(`${secret}`).toBe('[redacted]');
    expect(JSON.stringify({ secret })).toBe('{"secret":"[redacted]"}');
    expect(inspect({ secret })).not.toContain('sk_live_123');
    expect(secret.reveal()).toBe('sk_live_123');
  });

  it('reads a secret from the environment or from the file its _FILE variable names, not from both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psgraph-secret-'));
    try {
      writeFileSync(join(dir, 'key'), 'from-file\n');
      expect(readSecret({ KEY: 'direct' }, 'KEY')?.reveal()).toBe('direct');
      expect(readSecret({ KEY_FILE: join(dir, 'key') }, 'KEY')?.reveal()).toBe('from-file');
      expect(readSecret({}, 'KEY')).toBeUndefined();
      expect(() => readSecret({ KEY: 'a', KEY_FILE: join(dir, 'key') }, 'KEY')).toThrow('KEY and KEY_FILE are both set: keep one.');
      expect(() => readSecret({ KEY_FILE: join(dir, 'missing') }, 'KEY')).toThrow(/cannot be read \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
