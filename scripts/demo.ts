// Quick-start demo: imports an OVA into libvirt's EMBEDDED QEMU driver (qemu:///embed?root=DIR, no
// libvirt daemon), boots it under TCG, waits for its serial-console marker, prints the serial
// output, then destroys and undefines the guest.
//
//   node dist/scripts/demo.js --root /abs/dir [--ova example/tinyvm.ova] [--marker TEXT] [--timeout S]
//
// The embedded driver lives inside this process, so importing and booting happen here, through
// virt-ovf's own runImport() (with user-mode NICs: the embedded driver has no network driver)
// and libvirt binding. Starting QEMU from inside Node needs a fork-safe file-descriptor layout
// (libuv's fork handler vs. libvirt's daemonizing exec): see lowFdsReserved in demo/embedded.ts.
// This file is the command line; demo/run.ts runs the demo.

import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { VirtOvfError } from '../src/errors.js';
import { DEFAULT_MARKER } from './appliance.js';
import { lowFdsReserved, RESERVED_FD_COUNT } from './demo/embedded.js';
import { runDemo, type DemoIo } from './demo/run.js';

const USAGE = `usage: node dist/scripts/demo.js --root DIR [--ova FILE] [--marker TEXT] [--timeout SECONDS]

  --root DIR        root directory of the embedded libvirt driver (created; must be empty or absent)
  --ova FILE        appliance to import (default ./example/tinyvm.ova)
  --marker TEXT     text the guest prints on its serial console (default ${DEFAULT_MARKER})
  --timeout SECONDS how long to wait for the marker after the start (default 30)
`;

/** Set in the environment of the re-launched process. */
const CHILD_ENV = 'VIRT_OVF_DEMO_CHILD';

/**
 * Runs this script again with fds 3..3+RESERVED_FD_COUNT-1 on /dev/null (see lowFdsReserved),
 * copies its output to `io`, forwards SIGINT/SIGTERM, and returns its exit code.
 */
async function relaunch(argv: string[], io: DemoIo): Promise<number> {
  const devNull = openSync('/dev/null', 'r');
  try {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...argv], {
      stdio: ['ignore', 'pipe', 'pipe', ...Array<number>(RESERVED_FD_COUNT).fill(devNull)],
      env: { ...process.env, [CHILD_ENV]: '1' },
    });
    child.stdout?.on('data', (chunk: Buffer) => io.out.write(chunk));
    child.stderr?.on('data', (chunk: Buffer) => io.err.write(chunk));
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    try {
      return await new Promise<number>((resolveExit, reject) => {
        child.on('error', reject);
        child.on('close', (code, signal) => resolveExit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1)));
      });
    } finally {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
    }
  } finally {
    closeSync(devNull);
  }
}

/**
 * CLI entry; returns the exit code (0: the marker appeared; otherwise virt-ovf's exit codes).
 * The work runs in a child process started with a fork-safe fd layout unless this process
 * already has one.
 */
export async function main(argv: string[], io: DemoIo = { out: process.stdout, err: process.stderr }): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        root: { type: 'string' },
        ova: { type: 'string', default: './example/tinyvm.ova' },
        marker: { type: 'string', default: DEFAULT_MARKER },
        timeout: { type: 'string', default: '30' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.err.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out.write(USAGE);
    return 0;
  }
  const timeoutS = Number(values.timeout);
  if (values.root === undefined || values.root === '' || !(timeoutS > 0) || values.marker === '') {
    io.err.write(`${values.root ? '--timeout must be a positive number of seconds' : '--root is required'}\n${USAGE}`);
    return 2;
  }
  if (!lowFdsReserved()) {
    if (process.env[CHILD_ENV] === '1') {
      io.err.write(`demo: error: started with ${CHILD_ENV}=1 but fds 3-${2 + RESERVED_FD_COUNT} are not all /dev/null\n`);
      return 1;
    }
    return relaunch(argv, io);
  }
  try {
    const result = await runDemo({ ova: values.ova, root: values.root, marker: values.marker, timeoutMs: timeoutS * 1000, io });
    io.out.write(`Demo OK: imported ${result.domain} in ${(result.importMs / 1000).toFixed(1)} s, marker after ${(result.bootMs / 1000).toFixed(1)} s, ${(result.totalMs / 1000).toFixed(1)} s in all (${result.uri})\n`);
    return 0;
  } catch (err) {
    io.err.write(`demo: error: ${(err as Error).message}\n`);
    return err instanceof VirtOvfError ? err.exitCode : 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
