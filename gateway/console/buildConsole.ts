/**
 * Builds the operations console (React, Vite, recharts) into gateway/dist/console, which the gateway serves at
 * /console. `npm run build` builds it; `npm start` and the end-to-end tests' global setup call
 * `ensureConsoleBuilt`, which builds only when the bundle is missing or older than its sources — once, however
 * many processes ask at the same moment (a lock directory), and swapped into place whole (a rename), so a gateway
 * never serves half a bundle.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { build } from 'vite';

const CONSOLE_SOURCE = dirname(fileURLToPath(import.meta.url));
/** Where the built console lives; gateway/src/console/consoleRoute.ts serves it from here. */
export const CONSOLE_BUNDLE = join(CONSOLE_SOURCE, '..', 'dist', 'console');
/** Written last into a finished bundle: its time is the build's. */
const BUILT_MARKER = '.built';
const LOCK = `${CONSOLE_BUNDLE}.lock`;
/** A lock older than this was left by a build that died. */
const STALE_LOCK_MS = 5 * 60_000;

/** The newest modification time among the console's sources (this file included: it is the build's config). */
function newestSource(path: string = CONSOLE_SOURCE): number {
  let newest = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const full = join(path, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** The lock file: a dependency upgrade (React, recharts, …) changes it, and the bundle holds those packages. */
const LOCK_FILE = join(CONSOLE_SOURCE, '..', '..', 'package-lock.json');

/** Whether gateway/dist/console holds a finished bundle at least as new as every source and the lock file. */
export function consoleIsBuilt(): boolean {
  const marker = join(CONSOLE_BUNDLE, BUILT_MARKER);
  const dependencies = statSync(LOCK_FILE, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  return existsSync(marker) && statSync(marker).mtimeMs >= Math.max(newestSource(), dependencies);
}

/** Builds the console aside, then swaps it into place; answers the bundle's folder. */
export async function buildConsole(): Promise<string> {
  const aside = `${CONSOLE_BUNDLE}.${process.pid}.tmp`;
  rmSync(aside, { recursive: true, force: true });
  // Vite and the React plugin choose production (React's production build, its production JSX runtime) from
  // NODE_ENV, which a caller may have set otherwise (vitest's global setup runs with `test`): production, for the
  // build's duration only.
  const nodeEnv = process.env['NODE_ENV'];
  process.env['NODE_ENV'] = 'production';
  try {
    await build({
      configFile: false,
      root: CONSOLE_SOURCE,
      base: '/console/',
      plugins: [react()],
      logLevel: 'warn',
      // Everything the page needs is in the bundle: no CDN, no external font, nothing fetched from elsewhere.
      build: { outDir: aside, emptyOutDir: true, assetsInlineLimit: 0, chunkSizeWarningLimit: 1_500, reportCompressedSize: false },
    });
  } finally {
    if (nodeEnv === undefined) delete process.env['NODE_ENV'];
    else process.env['NODE_ENV'] = nodeEnv;
  }
  writeFileSync(join(aside, BUILT_MARKER), new Date().toISOString());
  const old = `${CONSOLE_BUNDLE}.${process.pid}.old`;
  if (existsSync(CONSOLE_BUNDLE)) renameSync(CONSOLE_BUNDLE, old);
  renameSync(aside, CONSOLE_BUNDLE);
  rmSync(old, { recursive: true, force: true });
  return CONSOLE_BUNDLE;
}

/**
 * Builds the console unless it is built and fresh. Concurrent callers (several test workers, `npm start` beside a
 * test run) take turns through a lock directory; each one that waited finds the bundle fresh and returns.
 */
export async function ensureConsoleBuilt(): Promise<string> {
  mkdirSync(dirname(CONSOLE_BUNDLE), { recursive: true });
  const deadline = Date.now() + 2 * STALE_LOCK_MS;
  for (;;) {
    if (consoleIsBuilt()) return CONSOLE_BUNDLE;
    try {
      mkdirSync(LOCK);
    } catch {
      const lockedAt = statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs;
      if (lockedAt !== undefined && Date.now() - lockedAt > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`The console build is locked by ${LOCK}; remove it if no build is running.`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    try {
      if (!consoleIsBuilt()) await buildConsole();
      return CONSOLE_BUNDLE;
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
}
