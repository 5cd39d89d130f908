/**
 * `npm run bench -- --baseline <git ref>`: psgraph's gateway as it was at another commit, measured in the same
 * run as the working tree's, so that a change on the request path is judged before and after on the same machine
 * at the same moment (a separate run an hour apart can differ by 30 % on a shared machine). The commit's sources
 * are exported to a temporary folder (`git archive`), given this checkout's node_modules, and its gateway bundle is
 * built with its own `gateway/build.ts`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './benchPaths.js';

export interface Baseline {
  /** The full commit ID the ref named. */
  readonly commit: string;
  /** Its gateway bundle, ready to run. */
  readonly bundle: string;
  /** Its repository root (the bundle resolves its default paths from there). */
  readonly root: string;
}

function git(args: readonly string[]): string {
  const result = spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout.trim();
}

export function prepareBaseline(ref: string, log: (message: string) => void): Baseline {
  const commit = git(['rev-parse', '--verify', `${ref}^{commit}`]);
  const root = join(tmpdir(), `psgraph-baseline-${commit.slice(0, 12)}`);
  const bundle = join(root, 'gateway', 'dist', 'gateway.js');
  if (existsSync(bundle)) return { commit, bundle, root };
  log(`building psgraph's gateway at ${ref} (${commit.slice(0, 12)}) in ${root}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const archive = spawnSync('sh', ['-c', `git archive ${commit} | tar -x -C '${root}'`], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (archive.status !== 0) throw new Error(`git archive ${commit}: ${archive.stderr.trim()}`);
  // The bundle leaves packages external: the baseline resolves them from this checkout's node_modules.
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  const build = spawnSync(process.execPath, ['--import', 'tsx', 'gateway/build.ts'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0 || !existsSync(bundle)) throw new Error(`building the gateway at ${commit.slice(0, 12)} failed: ${build.stderr.trim()}`);
  return { commit, bundle, root };
}
