/**
 * A real `redis-server` for tests: its own port and folder, AOF with `appendfsync always` (so an acknowledged
 * XADD survives `kill -9`, as the Redis docs require for "no event lost on restart"), no RDB snapshots.
 * `restart()` kills it with SIGKILL and starts it again on the same port and folder, so the AOF is replayed.
 * A machine without redis-server fails loudly: the Redis tests are never skipped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes.js';
import { REDIS_SERVER, requirePrerequisite } from './systemPrerequisites.js';

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The server's working folder (AOF files). */
  readonly dir: string;
  /** SIGKILL, then start again on the same port and folder; resolves when it answers PING. */
  restart(): Promise<void>;
  /** SIGKILL (the data is a test's) and remove the folder. */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** How long to wait for PONG after (re)starting. @default 15_000 */
  readonly readyTimeoutMs?: number;
  /** Executable. @default REDIS_SERVER_BIN or redis-server on PATH */
  readonly binary?: string;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? requirePrerequisite(REDIS_SERVER);
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'psgraph-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    output = '';
    const server = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--daemonize',
        'no',
        '--logfile',
        '',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = server;
    server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const deadline = Date.now() + readyTimeoutMs;
    while (!(await answersPing(port))) {
      const failure =
        server.exitCode !== null || server.signalCode !== null
          ? `exited (${server.exitCode ?? server.signalCode})`
          : Date.now() > deadline
            ? `did not answer PING within ${readyTimeoutMs} ms`
            : undefined;
      if (failure) {
        await kill();
        throw new Error(`redis-server on port ${port} ${failure}:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  const kill = async () => {
    const server = child;
    child = undefined;
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await exited;
  };

  // A test process that dies without stop() must not leave a server behind.
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  try {
    await start();
  } catch (error) {
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    port,
    dir,
    async restart() {
      await kill();
      await start();
    },
    async stop() {
      process.removeListener('exit', killOnExit);
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True when something on the port answers `PING` with `+PONG` (not `-LOADING` while the AOF replays). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
