import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/processes.js';
import { CHROMIUM, REDIS_SERVER, findExecutable } from '../support/systemPrerequisites.js';

// `npm test` runs test/support/ensureTestPrerequisites.ts before Vitest; these run it as that command does.
const runPrerequisiteCheck = (env: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'test/support/ensureTestPrerequisites.ts'], { cwd: REPO_ROOT, env, encoding: 'utf8' });

describe("npm test's prerequisite check", () => {
  // A PATH holding node and nothing else: no redis-server, no Chromium, no apt-get, no sudo.
  const bareBin = mkdtempSync(join(tmpdir(), 'psgraph-bare-path-'));
  symlinkSync(process.execPath, join(bareBin, 'node'));
  afterAll(() => rmSync(bareBin, { recursive: true, force: true }));

  // Chromium is also looked for at /usr/bin/chromium, whatever PATH says: a variable naming no binary stands for "missing".
  const missing = join(bareBin, 'not-installed');

  it('stops at once, naming exactly what to install, where it cannot install them', () => {
    const result = runPrerequisiteCheck({ PATH: bareBin, HOME: process.env['HOME'], REDIS_SERVER_BIN: missing, PSGRAPH_CHROMIUM: missing });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('npm test stopped before running any test');
    expect(result.stderr).toContain('sudo apt-get install redis-server chromium');
    expect(result.stderr).toContain('REDIS_SERVER_BIN');
    expect(result.stderr).toContain('PSGRAPH_CHROMIUM');
  });

  it('names only what is missing', () => {
    const redis = REDIS_SERVER.find()!;
    const result = runPrerequisiteCheck({ PATH: bareBin, HOME: process.env['HOME'], REDIS_SERVER_BIN: redis, PSGRAPH_CHROMIUM: missing });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('sudo apt-get install chromium\n');
  });

  it('passes silently when both are there, found through the variables', () => {
    const result = runPrerequisiteCheck({
      PATH: bareBin,
      HOME: process.env['HOME'],
      REDIS_SERVER_BIN: REDIS_SERVER.find()!,
      PSGRAPH_CHROMIUM: CHROMIUM.find()!,
    });

    expect(result.status).toBe(0);
    expect(result.stdout + result.stderr).toBe('');
  });

  it('finds executables by absolute path or on PATH, and not elsewhere', () => {
    expect(findExecutable(['node'], { PATH: bareBin })).toBe(join(bareBin, 'node'));
    expect(findExecutable([process.execPath], { PATH: '' })).toBe(process.execPath);
    expect(findExecutable(['redis-server', 'chromium'], { PATH: bareBin })).toBeUndefined();
  });
});
