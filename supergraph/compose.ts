/**
 * `npm run compose`: writes supergraph/supergraph.graphql from rover.yaml, and each audience's supergraph
 * (supergraph/audiences/<name>.graphql) from it and contracts/audiences/<name>.json.
 * `npm run compose:check`: exits 1, printing the composition errors or a diff, when a committed file is stale.
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { composeSupergraph, readSupergraphConfig } from './composeSupergraph.js';
import { readAudiences } from '../contracts/audiences.js';
import { contractSupergraph } from './contracts.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const configPath = `${root}rover.yaml`;
const outputPath = fileURLToPath(new URL('./supergraph.graphql', import.meta.url));
const check = process.argv.includes('--check');

const outcome = await composeSupergraph(await readSupergraphConfig(configPath));
if ('errors' in outcome) {
  console.error(`Composition failed (${outcome.errors.length} error${outcome.errors.length === 1 ? '' : 's'}):`);
  for (const error of outcome.errors) console.error(`  ${error}`);
  process.exit(1);
}
const audiencesDir = fileURLToPath(new URL('./audiences/', import.meta.url));
const outputs = new Map<string, string>([[outputPath, outcome.supergraphSdl]]);
try {
  for (const audience of readAudiences(`${root}contracts/audiences`)) {
    outputs.set(`${audiencesDir}${audience.name}.graphql`, contractSupergraph(outcome.supergraphSdl, audience));
  }
} catch (error) {
  console.error(`Audience failed: ${(error as Error).message}`);
  process.exit(1);
}
const stray = (await readdir(audiencesDir).catch(() => [] as string[])).map((file) => `${audiencesDir}${file}`).filter((path) => !outputs.has(path));
if (!check) {
  await mkdir(audiencesDir, { recursive: true });
  for (const path of stray) await rm(path);
  for (const [path, sdl] of outputs) {
    await writeFile(path, sdl);
    console.log(`Wrote ${path}`);
  }
} else {
  let stale = stray.length > 0;
  for (const path of stray) console.error(`${path.slice(root.length)} belongs to no audience: run \`npm run compose\`.`);
  for (const [path, sdl] of outputs) {
    const committed = await readFile(path, 'utf8').catch(() => '');
    if (committed === sdl) continue;
    stale = true;
    console.error(`${path.slice(root.length)} is stale: run \`npm run compose\` and commit the result.`);
    console.error(lineDiff(committed, sdl));
  }
  if (stale) process.exit(1);
  console.log('supergraph/supergraph.graphql and the audiences are up to date with rover.yaml and contracts/audiences.');
}

/** A minimal line diff (committed → composed), enough to see what changed. */
function lineDiff(before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while ((i < a.length || j < b.length) && out.length < 80) {
    if (a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && !a.slice(i, i + 50).includes(b[j]!)) {
      out.push(`+ ${b[j++]}`);
    } else {
      out.push(`- ${a[i++]}`);
    }
  }
  return out.join('\n');
}
