// CLI: builds the tiny bootable example appliance (see scripts/appliance.ts) and prints the OVA path.

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildAppliance, DEFAULT_MARKER, DEFAULT_NAME } from './appliance.js';

const USAGE = `usage: node dist/scripts/make-example.js [--dir DIR] [--controller sata|pvscsi] [--name NAME] [--marker TEXT]

  --dir DIR          output directory (default ./example)
  --controller C     disk controller in the descriptor: sata (default) or pvscsi
  --name NAME        appliance name / file prefix (default ${DEFAULT_NAME})
  --marker TEXT      text the guest prints on COM1 at boot (default ${DEFAULT_MARKER})
`;

/** Parses argv, builds the appliance, prints the OVA path; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        dir: { type: 'string', default: './example' },
        controller: { type: 'string', default: 'sata' },
        name: { type: 'string', default: DEFAULT_NAME },
        marker: { type: 'string', default: DEFAULT_MARKER },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const controller = values.controller;
  if (controller !== 'sata' && controller !== 'pvscsi') {
    process.stderr.write(`--controller must be sata or pvscsi, got ${controller}\n${USAGE}`);
    return 2;
  }
  const result = await buildAppliance({
    dir: resolve(values.dir),
    name: values.name,
    marker: values.marker,
    controller,
  });
  process.stdout.write(`${result.ova ?? result.ovf}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
