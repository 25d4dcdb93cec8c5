// The package commands of the command line: `import` (one package, --all, or a batch) and `inspect`: their flags, and flags to options.
import type { Argv } from 'yargs';
import { runImport, runImportAll, runImportBatch } from './commands/import.js';
import { formatInspect, runInspect } from './commands/inspect.js';
import { formatBatch, batchExitCode } from './commands/batch.js';
import { ExitCode, UsageError } from './errors.js';
import type { ImportOptions, InspectOptions, PackageOptions } from './import/options.js';
import { profileNames } from './mapping/load.js';
import { JSON_FORMAT_VERSION, type Reporter } from './report.js';

type Args = Record<string, unknown> & { _: (string | number)[] };

/**
 * What a lone `-` (standard input) is while yargs parses: yargs drops `-` from a variadic
 * positional, so main() swaps it for this (a NUL never occurs in a real argument) and
 * runPackageCommand swaps it back.
 */
export const STDIN_ARG = '\u0000-';

/** What each repeated NAME=VALUE option holds, and at which '=' it splits. */
const PAIR_OPTIONS = {
  // A property value may hold '=' (base64, key=value lists); an ovf:key seldom does.
  prop: { form: 'KEY=VALUE', split: 'first' },
  // An OVF network name is free text from the descriptor and may hold '='; libvirt network and bridge names seldom do.
  network: { form: 'OVFNAME=NETWORK', split: 'last' },
  bridge: { form: 'OVFNAME=BRIDGE', split: 'last' },
  // An ovf:diskId or a target device never holds '='.
  volume: { form: 'DISK=VOLUME', split: 'first' },
} as const;

/**
 * Parses repeated NAME=VALUE options: --prop and --volume split at the first '=', --network and
 * --bridge at the last. @throws UsageError on a pair without a name or a value.
 */
export function parsePairs(option: keyof typeof PAIR_OPTIONS, values: readonly string[] | undefined): Record<string, string> {
  const { form, split } = PAIR_OPTIONS[option];
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const v of values ?? []) {
    const eq = split === 'first' ? v.indexOf('=') : v.lastIndexOf('=');
    if (eq <= 0 || eq === v.length - 1) throw new UsageError(`--${option} ${v}: expected ${form}`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/**
 * --profile and --mappings. Without --mappings the profile is one of the built-in tables' (a yargs
 * choice); with it any name passes here and is checked once the overlay is loaded (main).
 */
export function profileOptions<T>(y: Argv<T>, overlay: boolean, describe: string) {
  const choices = overlay ? {} : { choices: profileNames() };
  return y
    .option('profile', { type: 'string', ...choices, default: 'faithful', describe })
    .option('mappings', { type: 'string', describe: "Directory of mapping tables overlaid on virt-ovf's own (may add device tables and profiles)" });
}

function mappingOptions<T>(y: Argv<T>, overlay: boolean) {
  const named = y
    .option('vm', { type: 'string', describe: 'VirtualSystem ovf:id to use inside a VirtualSystemCollection (default: the first)' })
    .option('name', { type: 'string', describe: 'Domain name (default: from the OVF; made safe for libvirt and file names)' });
  return profileOptions(named, overlay, 'Device profile from the tables\' defaults.json: faithful (closest emulated device), virtio, or one a --mappings overlay adds')
    .option('network', { type: 'string', array: true, describe: 'Attach NICs on OVF network OVFNAME to libvirt network NETWORK (OVFNAME=NETWORK, repeatable)' })
    .option('bridge', { type: 'string', array: true, describe: 'Attach NICs on OVF network OVFNAME to host bridge BRIDGE (OVFNAME=BRIDGE, repeatable)' })
    .option('user-net', { type: 'boolean', default: false, describe: 'Attach NICs that no --network/--bridge names to QEMU user-mode networking instead of the libvirt network "default"' })
    .option('lax', { type: 'boolean', default: false, describe: 'Import even when an ovf:required item cannot be mapped' })
    .option('deployment', { type: 'string', describe: "DeploymentOptionSection configuration to use (default: the descriptor's ovf:default, else the first)" })
    .option('prop', { type: 'string', array: true, describe: 'Set ProductSection property KEY to VALUE (KEY=VALUE, repeatable; checked against its type and qualifiers)' })
    .option('ovf-env', { type: 'boolean', default: false, describe: 'Attach the OVF environment (ovf-env.xml) on a CD-ROM even when the descriptor does not ask for the iso transport' });
}

/** --http-ca and --http-header-file: how a URL SOURCE is reached (credentials only from a file or $VIRT_OVF_HTTP_HEADER, never from argv). */
function urlOptions<T>(y: Argv<T>) {
  return y
    .option('http-ca', { type: 'string', describe: 'For an https:// SOURCE: PEM file of the CAs trusted for the server certificate (default: the system CA store); --ca is the package signature\'s' })
    .option('http-header-file', { type: 'string', describe: 'For a URL SOURCE: file of request headers, one "Name: value" per line (e.g. Authorization), sent to that server only, never printed; $VIRT_OVF_HTTP_HEADER may hold more' });
}

/** What SOURCE may be, for --help. */
const SOURCE_KINDS = 'OVA file (plain or compressed: tar.gz, tar.xz, tar.zst, zip), .ovf file, directory with one .ovf, - for standard input, or an http(s):// URL of an OVA or .ovf';

/** `inspect SOURCE`: the package and mapping flags, and the target flags (no defaults: without --pool or --output-dir inspect opens no connection). */
export function packageOptions<T>(y: Argv<T>, overlay: boolean) {
  return urlOptions(mappingOptions(y.positional('source', { type: 'string', demandOption: true, describe: SOURCE_KINDS }), overlay))
    .option('pool', { type: 'string', describe: 'Also say, per disk, the volume import would create in this pool, its data path (--transfer) and why, and whether the free space suffices; opens the connection, creates nothing' })
    .option('output-dir', { type: 'string', describe: 'The same for import --output-dir DIR (no connection)' })
    .option('format', { choices: ['qcow2', 'raw'] as const, describe: 'With --pool: volume format, as import (default: the pool type\'s)' })
    .option('transfer', { choices: ['auto', 'local', 'stream'] as const, describe: 'With --pool: the data path import would be asked for, as import (default: auto)' })
    .option('volume', { type: 'string', array: true, describe: 'With --pool: disk DISK goes into existing volume VOLUME, as import (DISK=VOLUME, repeatable)' });
}

/** `import SOURCE...`: the package flags plus where and how the domain is created. */
export function importOptions<T>(y: Argv<T>, overlay: boolean) {
  return urlOptions(mappingOptions(y.positional('source', { type: 'string', array: true, demandOption: true, describe: `${SOURCE_KINDS}; several import one domain each` }), overlay))
      .option('pool', { type: 'string', default: 'default', describe: 'Storage pool for the disk volumes' })
      .option('format', { choices: ['qcow2', 'raw'] as const, describe: 'Volume format (default: qcow2 on directory pools, raw on block pools)' })
      .option('volume', { type: 'string', array: true, describe: 'Write disk DISK (its ovf:diskId, or its device, e.g. sda) raw into existing volume VOLUME of the pool instead of creating one (DISK=VOLUME, repeatable; needed for iscsi, iscsi-direct, scsi and mpath pools); the volume must be unused, large enough and blank' })
      .option('overwrite-volumes', { type: 'boolean', default: false, describe: 'With --volume: write into the named volumes even when they hold data' })
      .option('output-dir', { type: 'string', describe: 'Write disks and DOMAIN.xml into this directory instead of a pool (for connections without a storage driver)' })
      .option('virt-type', { choices: ['kvm', 'qemu'] as const, describe: 'Domain type (default: kvm when the host offers it, else qemu)' })
      .option('mac-policy', { choices: ['keep', 'new', 'auto'] as const, default: 'auto' as const, describe: "NIC MAC addresses: keep the OVF's, new (libvirt generates them), or auto (keep unless a domain on the host already uses it)" })
      .option('start', { type: 'boolean', default: false, describe: 'Start the domain after defining it' })
      .option('print-xml', { type: 'boolean', default: false, describe: 'Print the domain XML and create nothing' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Check everything against the host, create nothing' })
      .option('verify', { type: 'boolean', default: true, describe: 'Verify the manifest (.mf) digests; --no-verify skips it with a warning' })
      .option('serial-log', { type: 'string', describe: "Also log the guest's serial console to this host file" })
      .option('ca', { type: 'string', describe: 'PEM file of CA certificates trusted for the package signature (.cert), and beside the system store for an https:// SOURCE without --http-ca; default: the system CA store' })
      .option('require-signature', { type: 'boolean', default: false, describe: 'Refuse a package that is unsigned or whose certificate chain does not validate (dates, key usage, CA constraints), is self-signed or untrusted' })
      .option('accept-eula', { type: 'boolean', default: false, describe: 'Accept the license agreement (EulaSection) of the package; required when it has one' })
      .option('all', { type: 'boolean', default: false, describe: 'Import every VirtualSystem of a VirtualSystemCollection, each as its own domain named PREFIX-MEMBER' })
      .option('transfer', { choices: ['auto', 'local', 'stream'] as const, default: 'auto' as const, describe: "How disk bytes reach the pool: written here (local), through a libvirt stream (stream: remote hosts), or auto" })
      .option('converter', { choices: ['auto', 'qemu-img'] as const, default: 'auto' as const, describe: 'Disk converter: auto streams streamOptimized VMDK and raw disks straight into the volume and uses qemu-img for the rest; qemu-img uses it for every disk' })
      .option('tmpdir', {
        type: 'string',
        describe: 'Directory for the sparse temporary copy a gzip-compressed or chunked disk needs (default: $TMPDIR, else /tmp; never inside the pool or output directory); removed afterwards',
      })
    .option('jobs', { alias: 'j', type: 'number', default: 1, describe: 'With several packages: how many are imported at the same time' });
}

/** The options every package command takes, from the parsed flags. */
function packageOptionsOf(args: Args, source: string): PackageOptions {
  return {

    source,
    profile: String(args['profile']),
    lax: args['lax'] === true,
    userNetwork: args['user-net'] === true,
    ovfEnv: args['ovf-env'] === true,
    properties: parsePairs('prop', args['prop'] as string[] | undefined),
    ...(args['deployment'] !== undefined ? { deployment: String(args['deployment']) } : {}),
    networks: parsePairs('network', args['network'] as string[] | undefined),
    bridges: parsePairs('bridge', args['bridge'] as string[] | undefined),
    ...(args['vm'] !== undefined ? { vm: String(args['vm']) } : {}),
    ...(args['name'] !== undefined ? { name: String(args['name']) } : {}),
    ...(args['mappings'] !== undefined ? { mappingsDir: String(args['mappings']) } : {}),
    ...(args['http-ca'] !== undefined ? { httpCaFile: String(args['http-ca']) } : {}),
    ...(args['http-header-file'] !== undefined ? { httpHeaderFile: String(args['http-header-file']) } : {}),
  };
}

/** The options of an inspect of `source`: the package's, and the target flags when given. */
function inspectOptionsOf(args: Args, source: string): InspectOptions {
  const given = (flag: string) => (args[flag] !== undefined ? String(args[flag]) : undefined);
  const [connect, pool, outputDir, volumeFormat, transfer] = ['connect', 'pool', 'output-dir', 'format', 'transfer'].map(given);
  return {
    ...packageOptionsOf(args, source),
    ...(pool !== undefined ? { pool, ...(connect !== undefined ? { connect } : {}) } : {}),
    ...(outputDir !== undefined ? { outputDir } : {}),
    ...(volumeFormat !== undefined ? { volumeFormat: volumeFormat as 'qcow2' | 'raw' } : {}),
    ...(transfer !== undefined ? { transfer: transfer as 'auto' | 'local' | 'stream' } : {}),
    ...(args['volume'] !== undefined ? { existingVolumes: parsePairs('volume', args['volume'] as string[]) } : {}),
  };
}

/** The options of an import of `source`, from the parsed flags. */
function importOptionsOf(args: Args, source: string): ImportOptions {
  return {
    ...packageOptionsOf(args, source),
    pool: String(args['pool']),
    verify: args['verify'] !== false,
    start: args['start'] === true,
    printXml: args['print-xml'] === true,
    dryRun: args['dry-run'] === true,
    ...(args['connect'] !== undefined ? { connect: String(args['connect']) } : {}),
    ...(args['format'] !== undefined ? { volumeFormat: args['format'] as 'qcow2' | 'raw' } : {}),
    ...(args['volume'] !== undefined ? { existingVolumes: parsePairs('volume', args['volume'] as string[]) } : {}),
    ...(args['overwrite-volumes'] === true ? { overwriteVolumes: true } : {}),
    ...(args['output-dir'] !== undefined ? { outputDir: String(args['output-dir']) } : {}),
    ...(args['virt-type'] !== undefined ? { virtType: args['virt-type'] as 'kvm' | 'qemu' } : {}),
    ...(args['serial-log'] !== undefined ? { serialLog: String(args['serial-log']) } : {}),
    ...(args['tmpdir'] !== undefined ? { tempDir: String(args['tmpdir']) } : {}),
    macPolicy: args['mac-policy'] as 'keep' | 'new' | 'auto',
    converter: args['converter'] as 'auto' | 'qemu-img',
    transfer: args['transfer'] as 'auto' | 'local' | 'stream',
    acceptEula: args['accept-eula'] === true,
    requireSignature: args['require-signature'] === true,
    ...(args['ca'] !== undefined ? { caFile: String(args['ca']) } : {}),
  };
}

/**
 * Runs `inspect` or `import` from the parsed flags and prints the outcome: inspect's report; the
 * domain line, XML or JSON result of one import; a batch's summary table (or one JSON result per
 * package). Returns the exit code.
 * @throws what the commands throw (the caller presents it).
 */
export async function runPackageCommand(command: 'import' | 'inspect', args: Args, reporter: Reporter, json: boolean): Promise<number> {
  const sources = ([] as unknown[]).concat(args['source']).map(String).map((s) => (s === STDIN_ARG ? '-' : s));
  if (command === 'inspect') {
    const report = await runInspect(inspectOptionsOf(args, sources[0]!));
    if (json) process.stdout.write(JSON.stringify({ version: JSON_FORMAT_VERSION, ...report }, null, 2) + '\n');
    else process.stdout.write(formatInspect(report));
    return ExitCode.Success;
  }
  if (args['all'] === true && args['vm'] !== undefined) throw new UsageError('--all and --vm exclude each other');
  if (args['all'] === true && args['volume'] !== undefined) throw new UsageError('--volume names the disks of one domain; import each VirtualSystem on its own (--vm) to write it into existing volumes');
  if (sources.length > 1) return runBatch(args, sources, reporter, json);
  const importer = args['all'] === true ? runImportAll : runImport;
  const outcome = await importer(importOptionsOf(args, sources[0]!), reporter);
  const results = Array.isArray(outcome) ? outcome : [outcome];
  if (json) reporter.emit({ kind: 'result', result: Array.isArray(outcome) ? results : outcome });
  for (const result of json ? [] : results) {
    if (args['print-xml'] || args['dry-run']) process.stdout.write(result.xml);
    else if (!args['quiet']) process.stdout.write(`Domain ${result.domain} (${result.uuid}) ${result.started ? 'defined and started' : 'defined'}\n`);
  }
  return ExitCode.Success;
}

/**
 * `import A B …`: each package its own domain (importPackages), then one JSON result per package
 * or the summary table on stdout (the XMLs with --print-xml / --dry-run). Flags that name one
 * domain (--name, --vm, --serial-log, --volume, --all) are refused.
 * @throws UsageError for those flags and what importPackages refuses before any work.
 */
async function runBatch(args: Args, sources: readonly string[], reporter: Reporter, json: boolean): Promise<number> {
  for (const flag of ['name', 'vm', 'serial-log', 'volume']) if (args[flag] !== undefined) throw new UsageError(`--${flag} names one domain, so it takes one package; import ${sources[0]} on its own`);
  if (args['all'] === true) throw new UsageError(`--all imports the VirtualSystems of one package; import ${sources[0]} on its own`);
  const { source: _, name: _n, vm: _v, serialLog: _s, existingVolumes: _e, ...opts } = importOptionsOf(args, sources[0]!);
  const outcomes = await runImportBatch(sources, { ...opts, jobs: Number(args['jobs']) }, reporter);
  if (json) for (const o of outcomes) reporter.emit({ kind: 'result', result: formatBatch.json(o) });
  else if (args['print-xml'] || args['dry-run']) for (const o of outcomes) process.stdout.write(o.result?.xml ?? '');
  if (!json && !args['quiet']) process.stdout.write(formatBatch.table(outcomes));
  return batchExitCode(outcomes);
}
