/**
 * The programs psgraph's tests run for real besides Node: a `redis-server` (the Redis event bus, scale-out),
 * Chromium (the IDE, driven by playwright-core) and Prometheus' `promtool` (the alert rules). None is mocked and no test is skipped without them, so
 * `npm test` checks for them first (`ensureTestPrerequisites.ts`) and the tests find them here.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface SystemPrerequisite {
  /** What the tests need it for, in a few words. */
  readonly purpose: string;
  /** The environment variable that names a binary of the user's own. */
  readonly variable: string;
  /** Debian/Ubuntu package that provides it. */
  readonly debianPackage: string;
  /** The binary's path on this machine, if there is one. */
  find(env?: NodeJS.ProcessEnv): string | undefined;
}

/** The first of `names` that is an executable file, either an absolute path or a name looked up on PATH. */
export function findExecutable(names: readonly string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const folders = (env['PATH'] ?? '').split(delimiter).filter(Boolean);
  for (const name of names) {
    const candidates = name.includes('/') ? [name] : folders.map((folder) => join(folder, name));
    for (const candidate of candidates) {
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here; try the next
      }
    }
  }
  return undefined;
}

export const REDIS_SERVER: SystemPrerequisite = {
  purpose: 'the Redis event bus and scale-out tests',
  variable: 'REDIS_SERVER_BIN',
  debianPackage: 'redis-server',
  find: (env = process.env) => {
    const binary = findExecutable([env['REDIS_SERVER_BIN'] ?? 'redis-server'], env);
    // A binary that does not run (a broken install) is as good as none.
    return binary && spawnSync(binary, ['--version'], { encoding: 'utf8' }).status === 0 ? binary : undefined;
  },
};

export const CHROMIUM: SystemPrerequisite = {
  purpose: 'the web pages, tested in headless Chromium',
  variable: 'PSGRAPH_CHROMIUM',
  debianPackage: 'chromium',
  find: (env = process.env) =>
    env['PSGRAPH_CHROMIUM'] ? findExecutable([env['PSGRAPH_CHROMIUM']], env) : findExecutable(['/usr/bin/chromium', 'chromium', 'chromium-browser'], env),
};

export const PROMTOOL: SystemPrerequisite = {
  purpose: 'the Prometheus alert rule checks',
  variable: 'PSGRAPH_PROMTOOL',
  debianPackage: 'prometheus',
  find: (env = process.env) =>
    env['PSGRAPH_PROMTOOL'] ? findExecutable([env['PSGRAPH_PROMTOOL']], env) : findExecutable(['/usr/bin/promtool', 'promtool'], env),
};

export const SYSTEM_PREREQUISITES: readonly SystemPrerequisite[] = [REDIS_SERVER, CHROMIUM, PROMTOOL];

/** The path of a prerequisite, or an error that says how to install it (for a test run started without `npm test`). */
export function requirePrerequisite(prerequisite: SystemPrerequisite): string {
  const found = prerequisite.find();
  if (found) return found;
  throw new Error(
    `${prerequisite.debianPackage} is not installed, and ${prerequisite.purpose} need it: ` +
      `apt-get install ${prerequisite.debianPackage} (Debian/Ubuntu; npm test does it when run as root), or set ${prerequisite.variable} to a binary of your own.`,
  );
}
