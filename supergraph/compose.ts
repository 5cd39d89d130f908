/**
 * `npm run compose`: writes supergraph/supergraph.graphql from rover.yaml.
 * `npm run compose:check`: exits 1, printing the composition errors or a diff, when the committed file is stale.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { composeSupergraph, readSupergraphConfig } from './composeSupergraph.js';

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
if (!check) {
  await writeFile(outputPath, outcome.supergraphSdl);
  console.log(`Wrote ${outputPath}`);
} else {
  const committed = await readFile(outputPath, 'utf8').catch(() => '');
  if (committed === outcome.supergraphSdl) {
    console.log('supergraph/supergraph.graphql is up to date with rover.yaml.');
  } else {
    console.error('supergraph/supergraph.graphql is stale: run `npm run compose` and commit the result.');
    console.error(lineDiff(committed, outcome.supergraphSdl));
    process.exit(1);
  }
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
