/**
 * The benchmark's child processes: each started pinned to a core (`taskset -c N`, when taskset is there), its
 * output kept for the report when it fails to start, its resident memory and CPU time read from /proc (the whole
 * process tree, so that a gateway's workers count too), and stopped by its own pid.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const HAS_TASKSET = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const PAGE_SIZE = Number(spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).stdout.trim()) || 4096;

export interface ProcessSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** The core to pin the process to. */
  readonly cpu?: number;
}

export interface BenchProcess {
  readonly name: string;
  readonly child: ChildProcess;
  output(): string;
  /** Resident memory of the process and its descendants, in bytes (0 once it has exited). */
  rssBytes(): number;
  /** CPU seconds (user + system) used by the process and its descendants still running. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export function startProcess(spec: ProcessSpec): BenchProcess {
  const pinned = HAS_TASKSET && spec.cpu !== undefined;
  const command = pinned ? 'taskset' : spec.command;
  const args = pinned ? ['-c', String(spec.cpu), spec.command, ...spec.args] : [...spec.args];
  // taskset execs the command: the child's pid is the command's own.
  const child = spawn(command, args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name: spec.name,
    child,
    output: () => output,
    rssBytes: () => processTree(child.pid).reduce((sum, pid) => sum + readRss(pid), 0),
    cpuSeconds: () => processTree(child.pid).reduce((sum, pid) => sum + readCpuSeconds(pid), 0),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killed);
    },
  };
}

function processTree(root: number | undefined): number[] {
  if (root === undefined) return [];
  const pids: number[] = [];
  const queue = [root];
  for (let i = 0; i < queue.length && i < 256; i++) {
    const pid = queue[i]!;
    pids.push(pid);
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ')) if (child.trim()) queue.push(Number(child));
    } catch {
      // Gone, or no children file.
    }
  }
  return pids;
}

function readRss(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_SIZE;
  } catch {
    return 0;
  }
}

function readCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** A port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `probe` until it resolves true, the process exits, or `timeoutMs` passes. */
export async function waitUntil(process: BenchProcess, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process.child.exitCode !== null || process.child.signalCode !== null) {
      throw new Error(`${process.name} exited (${process.child.exitCode ?? process.child.signalCode}) before it was ready:\n${process.output().slice(-2_000)}`);
    }
    try {
      if (await probe()) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${process.name} was not ready within ${timeoutMs} ms:\n${process.output().slice(-2_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Samples a process tree's resident memory every `intervalMs` and keeps the peak. */
export function sampleRss(process: BenchProcess, intervalMs = 100): { peak(): number; stop(): void } {
  let peak = process.rssBytes();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.rssBytes());
  }, intervalMs);
  return {
    peak: () => Math.max(peak, process.rssBytes()),
    stop: () => clearInterval(timer),
  };
}
