/**
 * Runs before the tests (`npm test`): makes sure the programs they use for real are on this machine. Missing
 * ones are installed with apt-get where that can be done without asking (root, or passwordless sudo, on
 * Debian/Ubuntu); anywhere else the run stops at once with one message naming what to install, so that a
 * machine without them never gets a partial run that reads like a pass.
 */
import { spawnSync } from 'node:child_process';
import { SYSTEM_PREREQUISITES, type SystemPrerequisite, findExecutable } from './systemPrerequisites.js';

function missingPrerequisites(): SystemPrerequisite[] {
  return SYSTEM_PREREQUISITES.filter((prerequisite) => !prerequisite.find());
}

/** How to run apt-get here without a prompt: directly as root, through `sudo -n` when that needs no password. */
function aptGetRunner(): string[] | undefined {
  if (!findExecutable(['apt-get'])) return undefined;
  if (process.getuid?.() === 0) return [];
  if (findExecutable(['sudo']) && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) return ['sudo', '-n'];
  return undefined;
}

function run(command: string[]): boolean {
  const [program, ...args] = command;
  const result = spawnSync(program!, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return result.status === 0;
}

function stop(missing: readonly SystemPrerequisite[], reason: string): never {
  const packages = missing.map((prerequisite) => prerequisite.debianPackage).join(' ');
  const uses = missing.map((prerequisite) => `${prerequisite.debianPackage} for ${prerequisite.purpose} (or ${prerequisite.variable}=<path>)`).join('; ');
  process.stderr.write(
    `\nnpm test stopped before running any test: ${reason}.\n` +
      `Install them, then run npm test again:  sudo apt-get install ${packages}\n` +
      `(${uses}. On another system, install Redis 7, Chromium and Prometheus' promtool with its package manager and point the variables at them.)\n\n`,
  );
  process.exit(1);
}

const missing = missingPrerequisites();
if (missing.length > 0) {
  const packages = missing.map((prerequisite) => prerequisite.debianPackage);
  const runner = aptGetRunner();
  if (!runner)
    stop(missing, `${packages.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not installed, and apt-get cannot be run here without a password`);
  process.stdout.write(`== npm test needs ${packages.join(' and ')}: installing with apt-get\n`);
  const installed = run([...runner, 'apt-get', 'update', '-qq']) && run([...runner, 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...packages]);
  const stillMissing = missingPrerequisites();
  if (!installed || stillMissing.length > 0) stop(stillMissing.length > 0 ? stillMissing : missing, `apt-get could not install ${packages.join(' and ')}`);
}
