import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/processes.js';
import { CHROMIUM, PROMTOOL, REDIS_SERVER, findExecutable } from '../support/systemPrerequisites.js';

// `npm test` runs test/support/ensureTestPrerequisites.ts before Vitest; these run it as that command does.
const runPrerequisiteCheck = (env: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'test/support/ensureTestPrerequisites.ts'], { cwd: REPO_ROOT, env, encoding: 'utf8' });

describe("npm test's prerequisite check", () => {
  // A PATH holding node and nothing else: no redis-server, no Chromium, no promtool, no apt-get, no sudo.
  const bareBin = mkdtempSync(join(tmpdir(), 'psgraph-bare-path-'));
  symlinkSync(process.execPath, join(bareBin, 'node'));
  afterAll(() => rmSync(bareBin, { recursive: true, force: true }));

  // Chromium and promtool are also looked for under /usr/bin, whatever PATH says: a variable naming no binary stands for "missing".
  const missing = join(bareBin, 'not-installed');

  it('stops at once, naming exactly what to install, where it cannot install them', () => {
    const result = runPrerequisiteCheck({
      PATH: bareBin,
      HOME: process.env['HOME'],
      REDIS_SERVER_BIN: missing,
      PSGRAPH_CHROMIUM: missing,
      PSGRAPH_PROMTOOL: missing,
    });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('npm test stopped before running any test');
    expect(result.stderr).toContain('sudo apt-get install redis-server chromium prometheus\n');
    expect(result.stderr).toContain('REDIS_SERVER_BIN');
    expect(result.stderr).toContain('PSGRAPH_CHROMIUM');
    expect(result.stderr).toContain('PSGRAPH_PROMTOOL');
  });

  it('names only what is missing', () => {
    const redis = REDIS_SERVER.find()!;
    const result = runPrerequisiteCheck({
      PATH: bareBin,
      HOME: process.env['HOME'],
      REDIS_SERVER_BIN: redis,
      PSGRAPH_CHROMIUM: missing,
      PSGRAPH_PROMTOOL: PROMTOOL.find()!,
    });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('sudo apt-get install chromium\n');
  });

  it('passes silently when all are there, found through the variables', () => {
    const result = runPrerequisiteCheck({
      PATH: bareBin,
      HOME: process.env['HOME'],
      REDIS_SERVER_BIN: REDIS_SERVER.find()!,
      PSGRAPH_CHROMIUM: CHROMIUM.find()!,
      PSGRAPH_PROMTOOL: PROMTOOL.find()!,
    });

    expect(result.status).toBe(0);
    expect(result.stdout + result.stderr).toBe('');
  });

  it('finds executables by absolute path or on PATH, and not elsewhere', () => {
    expect(findExecutable(['node'], { PATH: bareBin })).toBe(join(bareBin, 'node'));
    expect(findExecutable([process.execPath], { PATH: '' })).toBe(process.execPath);
    expect(findExecutable(['redis-server', 'chromium', 'promtool'], { PATH: bareBin })).toBeUndefined();
  });
});
