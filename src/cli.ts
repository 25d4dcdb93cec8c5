// argv to command: yargs definitions for import and inspect, exit codes (man/virt-ovf.1).
import yargs from 'yargs';
import { hideBin, Parser } from 'yargs/helpers';
import { CLEANUP_OPTIONS, runCleanup } from './commands/cleanup.js';
import { readExpectations, runCorpus } from './commands/corpus.js';
import { runExport } from './commands/export.js';
import { presentError } from './commands/present.js';
import { COMPLETION_KEY, COMPLETION_SHELLS, completionScript, offerCompletions, type CompletionShell } from './completion.js';
import { EXIT_STATUS, ExitCode, UsageError } from './errors.js';
import { importOptions, packageOptions, profileOptions, runPackageCommand, STDIN_ARG } from './cli-import.js';
import { loadMappings, resolveProfile } from './mapping/load.js';
import { exitDespiteAbandonedCalls } from './libvirt/index.js';
import { quietBrokenPipes } from './pipes.js';
import { createReporter, type Reporter } from './report.js';
import { traceToReporter } from './trace.js';
import { VERSION } from './version.js';

const EPILOG = `Exit status:
${Object.entries(EXIT_STATUS).map(([code, meaning]) => `  ${code.padEnd(4)} ${meaning}`).join('\n')}
Environment: LIBVIRT_DEFAULT_URI (connection when -c is absent), TMPDIR (temporary files),
VIRT_OVF_STATE_DIR (run journals; default /var/lib/virt-ovf/runs as root, else $XDG_STATE_HOME/virt-ovf/runs).
Every import and export records what it creates in a run journal until it ends; after a crash or
kill -9, 'virt-ovf cleanup' removes what the run left.
See virt-ovf(1).`;

async function main(argv: string[]): Promise<number> {
  // Read before yargs validates anything, so that a usage error is reported in the form asked for.
  const early = Parser(argv, { string: ['mappings'], boolean: ['json', 'quiet', 'verbose'], alias: { quiet: ['q'], verbose: ['v'] } });
  const json = early['json'] === true;
  const verbose = early['verbose'] === true;
  const reporter: Reporter = createReporter({ json, quiet: early['quiet'] === true, verbose });
  if (verbose) traceToReporter(reporter);
  const overlay = early['mappings'] !== undefined;
  const parser = yargs(argv.map((a) => (a === '-' ? STDIN_ARG : a)))
    .scriptName('virt-ovf')
    .version(VERSION)
    .usage('$0 <command> SOURCE [options]\n\nImport OVF/OVA appliances into libvirt.')
    .option('connect', { alias: 'c', type: 'string', describe: 'libvirt connection URI (default: $LIBVIRT_DEFAULT_URI, then libvirt\'s default)' })
    .option('json', { type: 'boolean', default: false, describe: 'Machine-readable output: newline-delimited JSON events and a final result' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print only warnings and errors' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'Print debug messages: the connection URI, every external command line, the table row each Item matched (and the stack trace of a bug)' })
    .alias('help', 'h')
    .command('import <source..>', 'Import OVAs, .ovf files or directories holding one, each as a libvirt domain', (y) => importOptions(y, overlay))
    .command('inspect <source>', 'Show what import would create, without touching the disks (nor libvirt, unless --pool names a pool)', (y) => packageOptions(y, overlay))
    .command('export <domain>', 'Export a libvirt domain as an OVA (or an OVF directory) that VMware, VirtualBox, virt-v2v and virt-ovf import', (y) =>
      profileOptions(
        y
          .positional('domain', { type: 'string', demandOption: true, describe: 'Name of the domain' })
          .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'OUT.ova, or DIR/ for an unpacked OVF package; written to OUT.ova.part and renamed when complete; an existing file is refused without --force' })
          .option('ovf-version', { choices: [1, 2] as const, default: 1 as const, describe: 'OVF 1.x (DSP8023 1.1) or 2.0 descriptor' })
          .option('disk-format', { choices: ['vmdk', 'qcow2', 'raw'] as const, default: 'vmdk' as const, describe: 'Disk files: streamOptimized VMDK (what VMware and VirtualBox import), qcow2 or raw' })
          .option('compress', { type: 'number', default: 1, describe: 'deflate level 0-9 of VMDK grains (1: fast, a few % larger than 6)' })
          .option('manifest', { choices: ['sha256', 'sha1', 'sha512', 'none'] as const, default: 'sha256' as const, describe: 'Manifest (.mf) digest, computed while the files are written' })
          .option('sign', { type: 'string', describe: 'Sign the manifest with this PEM private key (needs --cert)' })
          .option('cert', { type: 'string', describe: 'PEM certificate (and chain) written into the .cert with --sign' }),
        overlay,
        'Mapping profile whose tables are read in reverse',
      )
        .option('lax', { type: 'boolean', default: false, describe: 'Leave out a disk on a bus no table maps, or one that cannot be read as the guest sees it (with a warning), instead of failing' })
        .option('force', { type: 'boolean', default: false, describe: "Replace existing output files (ovftool's --overwrite); a disk of any domain or a volume of any pool is never replaced" })
        .option('transfer', { choices: ['auto', 'local', 'stream'] as const, default: 'auto' as const, describe: 'Read the disks from their paths here (local) or as volumes through libvirt streams (stream); auto: streams when the connection URI names a host' }),
    )
    .command('corpus <dir>', 'Translate every .ovf in DIR, validate each domain XML and define/undefine it; print a table', (y) =>
      y
        .positional('dir', { type: 'string', demandOption: true, describe: 'Directory of .ovf descriptors' })
        .option('expect', { type: 'string', describe: 'JSON file of expected failures: {"file.ovf": {"error": "OvfParseError", "message": "..."}}' })
        .option('define', { type: 'boolean', default: true, describe: 'Define and undefine each domain on the connection (--no-define: validate only)' }),
    )
    .command('cleanup', 'Remove what interrupted runs (killed, crashed) left: volumes, domains, files, temporary copies, child processes, as their run journals recorded them', (y) => y.options(CLEANUP_OPTIONS))
    .command('completion <shell>', 'Print the shell completion script for bash or zsh', (y) =>
      y.positional('shell', { choices: COMPLETION_SHELLS, demandOption: true, describe: 'Shell to complete in' }),
    )
    // yargs answers --get-yargs-completions itself; its own script command stays hidden (completion.ts writes ours).
    .completion('__yargs-completion-script', false, offerCompletions)
    .demandCommand(1, 'name a command: import, inspect, export, cleanup, corpus or completion')
    .strict()
    .epilog(EPILOG)
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });

  try {
    const args = await parser.parseAsync();
    if (args.help || args.version || args[COMPLETION_KEY] !== undefined) return ExitCode.Success;
    const [command] = args._;
    if (command === 'completion') {
      process.stdout.write(completionScript(args['shell'] as CompletionShell));
      return ExitCode.Success;
    }
    if (args['mappings'] !== undefined && args['profile'] !== undefined) resolveProfile(loadMappings(String(args['mappings'])), String(args['profile']));
    if (command === 'cleanup') return await runCleanup({ dryRun: args['dry-run'] === true, ...(args['connect'] !== undefined ? { connect: String(args['connect']) } : {}) }, reporter, json);
    if (command === 'corpus') {
      const expect = await readExpectations(args['expect'] as string | undefined);
      const width = 44;
      const { passed, failed } = await runCorpus(String(args['dir']), { expect, define: args['define'] !== false, ...(args['connect'] !== undefined ? { uri: String(args['connect']) } : {}) }, (row) => {
        if (json) process.stdout.write(JSON.stringify(row) + '\n');
        else process.stdout.write(`${row.file.padEnd(width)} ${row.producer.padEnd(18)} ${row.result.padEnd(16)} ${String(row.warnings).padStart(2)} warning(s)  ${row.summary}\n`);
      });
      process.stdout.write(`${passed} passed, ${failed} failed\n`);
      return failed === 0 ? ExitCode.Success : ExitCode.InvalidPackage;
    }
    if (command === 'export') {
      const level = Number(args['compress']);
      if (!Number.isInteger(level) || level < 0 || level > 9) throw new UsageError(`--compress ${String(args['compress'])}: expected a deflate level 0-9`);
      const result = await runExport(
        {
          domain: String(args['domain']),
          output: String(args['output']),
          ovfVersion: Number(args['ovf-version']) === 2 ? 2 : 1,
          diskFormat: args['disk-format'] as 'vmdk' | 'qcow2' | 'raw',
          compressLevel: level,
          manifest: args['manifest'] as 'sha256' | 'sha1' | 'sha512' | 'none',
          profile: String(args['profile']),
          lax: args['lax'] === true,
          force: args['force'] === true,
          transfer: args['transfer'] as 'auto' | 'local' | 'stream',
          ...(args['connect'] !== undefined ? { connect: String(args['connect']) } : {}),
          ...(args['sign'] !== undefined ? { signKey: String(args['sign']) } : {}),
          ...(args['cert'] !== undefined ? { signCert: String(args['cert']) } : {}),
          ...(args['mappings'] !== undefined ? { mappingsDir: String(args['mappings']) } : {}),
        },
        reporter,
      );
      if (json) reporter.emit({ kind: 'result', result });
      else if (!args['quiet']) process.stdout.write(`Exported ${String(args['domain'])} to ${result.output}${result.live ? ' (running: point-in-time copy)' : ''}\n`);
      return ExitCode.Success;
    }
    return await runPackageCommand(command === 'inspect' ? 'inspect' : 'import', args, reporter, json);
  } catch (err) {
    return fail(err, { json, verbose, reporter });
  }
}

/**
 * Reports an error (presentError) and returns the exit code: one `error` event (one JSON object
 * with --json); a bug's stack trace only with -v; `Try 'virt-ovf --help'` after a UsageError
 * in text mode.
 */
function fail(err: unknown, how: { json: boolean; verbose: boolean; reporter: Reporter }): number {
  const shown = presentError(err);
  if (shown.bug && shown.stack && how.verbose) {
    if (how.json) how.reporter.emit({ kind: 'debug', message: shown.stack });
    else process.stderr.write(`${shown.stack}\n`);
  }
  how.reporter.emit({ kind: 'error', message: shown.message, exitCode: shown.exitCode, errorClass: shown.errorClass, ...(shown.option ? { option: shown.option } : {}) });
  if (shown.errorClass === 'UsageError' && !how.json) process.stderr.write("Try 'virt-ovf --help'.\n");
  return shown.exitCode;
}

let failedUnexpectedly = false;

/**
 * A failure outside any command (an exception nothing awaited): a bug, reported once as one,
 * then exit 1 as Node would. EPIPE on a closed stdout or stderr is left to the run (nothing can
 * be printed there; reporting it would fail again).
 */
function failUnexpected(err: unknown): void {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') return;
  if (failedUnexpectedly) return;
  failedUnexpectedly = true;
  const early = Parser(hideBin(process.argv), { boolean: ['json', 'verbose'], alias: { verbose: ['v'] } });
  const json = early['json'] === true;
  process.exit(fail(err, { json, verbose: early['verbose'] === true, reporter: createReporter({ json }) }));
}

process.on('uncaughtException', failUnexpected);
process.on('unhandledRejection', failUnexpected);
quietBrokenPipes();
process.exitCode = await main(hideBin(process.argv));
exitDespiteAbandonedCalls(process.exitCode);
