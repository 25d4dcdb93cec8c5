// Rewrites the golden pairs of test/data/golden from what the code produces today (see
// test/golden/cases.ts), printing each file that changed; review the result with git diff.
//
//   npm run golden:update          (node dist/scripts/golden-update.js --update-golden)
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { actualOutput, listCases, writeGolden } from '../test/golden/cases.js';

/** Rewrites every golden when `--update-golden` is given; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  if (!argv.includes('--update-golden')) {
    process.stderr.write('usage: node dist/scripts/golden-update.js --update-golden\n  rewrites test/data/golden/*/CASE.domain.xml and CASE.ovf from the current code\n');
    return 2;
  }
  let changed = 0;
  for (const c of listCases()) {
    if (await writeGolden(c, await actualOutput(c))) {
      changed++;
      process.stdout.write(`rewrote ${c.kind}/${c.golden}\n`);
    }
  }
  process.stdout.write(`${changed} golden file(s) changed${changed > 0 ? '; review them with git diff test/data/golden' : ''}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
