// Options and results of importPackage and inspectPackage, their defaults, and the checks that need nothing but the options (and the paths they name).
import { accessSync, constants, statSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { UsageError } from '../errors.js';
import { resolveUri } from '../libvirt/index.js';
import { checkUserDirectory, explainOsError } from '../os-error.js';
import type { Reporter } from '../report.js';
import type { MacPolicy } from './macs.js';

/** A device profile of defaults.json; a mappings overlay may add others. */
export type ProfileName = 'faithful' | 'virtio' | (string & {});

/** Options shared by importPackage and inspectPackage. */
export interface PackageOptions {
  /**
   * The package: an OVA file, an .ovf file, or a directory holding one .ovf; or an http:// or
   * https:// URL of an OVA, or of an .ovf whose files sit beside it (read by range requests).
   */
  readonly source: string;
  /** For an https:// source: PEM file of the CAs trusted for the server's certificate; replaces the system store. Not the signature's (caFile). */
  readonly httpCaFile?: string;
  /**
   * For a URL source: file of request headers, one `Name: value` per line (e.g. an
   * Authorization header), sent to the URL's origin only and never printed;
   * `$VIRT_OVF_HTTP_HEADER` may hold more.
   */
  readonly httpHeaderFile?: string;
  /** VirtualSystem ovf:id inside a VirtualSystemCollection; default: the first. */
  readonly vm?: string;
  /** Domain name; default: the VirtualSystem's Name or ovf:id, made safe for libvirt and file names. */
  readonly name?: string;
  /** Device profile. @default 'faithful' */
  readonly profile?: ProfileName;
  /** Directory of mapping tables overlaid on the built-in mappings/. */
  readonly mappingsDir?: string;
  /** OVF network name to libvirt network name. */
  readonly networks?: Readonly<Record<string, string>>;
  /** OVF network name to host bridge name. */
  readonly bridges?: Readonly<Record<string, string>>;
  /** Import even when an ovf:required Item cannot be mapped (it is left out with a warning). */
  readonly lax?: boolean;
  /** NICs no networks/bridges entry names use QEMU user-mode networking instead of the default network. */
  readonly userNetwork?: boolean;
  /** DeploymentOptionSection Configuration id; default: ovf:default, else the first. */
  readonly deployment?: string;
  /** ProductSection property values by key, checked against type and qualifiers. */
  readonly properties?: Readonly<Record<string, string>>;
  /** Attach the OVF environment on a CD-ROM even when the descriptor does not ask for the iso transport. */
  readonly ovfEnv?: boolean;
}

/**
 * Options of inspectPackage: the package's and, optionally, where import would put the disks.
 * With `pool` (or `outputDir`) inspect also says each disk's volume, its data path and why, and
 * whether the free space suffices (report `target`), reading the pool through the connection
 * (`connect`, as import's); nothing is created. Without either it opens no connection, and
 * `transfer` and `volumeFormat` are refused. None has a default here.
 */
export interface InspectOptions extends PackageOptions, Pick<ImportOptions, 'connect' | 'pool' | 'outputDir' | 'transfer' | 'volumeFormat' | 'existingVolumes'> {}

/** Options of importPackage (the CLI's `virt-ovf import`, see man/virt-ovf.1). */
export interface ImportOptions extends PackageOptions {
  /** Connection URI; default: LIBVIRT_DEFAULT_URI, then libvirt's default. */
  readonly connect?: string;
  /** Storage pool for the volumes. @default 'default' */
  readonly pool?: string;
  /** Write the disks and DOMAIN.xml into this directory instead of a pool (excludes `pool`). */
  readonly outputDir?: string;
  /**
   * How disks are converted: `auto` decodes a streamOptimized VMDK or raw disk (gzip-compressed
   * or chunked too) straight into the volume, reading it once, and uses qemu-img for every other
   * format; `qemu-img` uses qemu-img for every disk. @default 'auto'
   */
  readonly converter?: 'auto' | 'qemu-img';
  /**
   * Existing volumes of the pool to write disks into instead of creating volumes (the CLI's
   * `--volume DISK=VOLUME`): DISK is a disk's DiskSection ovf:diskId or its target device (`sda`),
   * VOLUME a volume of `pool`. Needed for pools that create no volumes (iscsi, iscsi-direct, scsi,
   * mpath). Each is written raw, and must exist, be unused by any domain, hold at least the disk's
   * virtual size and, unless `overwriteVolumes`, be blank (its first and last MiB read as zeros).
   * Never removed; a rollback zeroes its first and last MiB again.
   */
  readonly existingVolumes?: Readonly<Record<string, string>>;
  /** Write into existing volumes (existingVolumes) even when they hold data. @default false */
  readonly overwriteVolumes?: boolean;
  /** Target volume format; default: qcow2 on file-based pools and directories, raw on block pools (system.json). */
  readonly volumeFormat?: 'qcow2' | 'raw';
  /**
   * How disk bytes reach the pool: `local` (written here at the volume's path), `stream` (a
   * libvirt stream, virStorageVolUpload: remote hosts), or `auto`: local when the connection is
   * local and the pool's storage is visible here, else stream (src/transfer/choose.ts). @default 'auto'
   */
  readonly transfer?: 'auto' | 'local' | 'stream';
  /** Domain type; default: kvm when the host offers it, else qemu. */
  readonly virtType?: 'kvm' | 'qemu';
  /**
   * The descriptor's NIC MAC addresses: `keep` them, `new` (libvirt generates each), or `auto`:
   * keep each unless a domain defined on the connection already uses it (then a new one, with a
   * warning), like VirtualBox's MAC import policy. @default 'auto'
   */
  readonly macPolicy?: MacPolicy;
  /** Start the domain after defining it. */
  readonly start?: boolean;
  /** Only build the domain XML: nothing is checked on the host or created. */
  readonly printXml?: boolean;
  /** Check everything against the host, then stop before creating anything. */
  readonly dryRun?: boolean;
  /** Verify the manifest digests and the signature; false skips both with a warning. @default true */
  readonly verify?: boolean;
  /** Also log the serial console to this host file. */
  readonly serialLog?: string;
  /**
   * Directory for the sparse temporary copies of gzip-compressed or chunked disks, delta chains
   * and the OVF environment ISO; never inside the pool's target path or the output directory.
   * Default: the system's (os.tmpdir(): `$TMPDIR`, else /tmp).
   */
  readonly tempDir?: string;
  /**
   * Directory of the run journal that records what the import creates until it ends (see
   * src/journal/state-dir.ts); default: `$VIRT_OVF_STATE_DIR`, else /var/lib/virt-ovf/runs as
   * root, else `$XDG_STATE_HOME/virt-ovf/runs`.
   */
  readonly stateDir?: string;
  /** The user accepts the package's EULA; required when it has one. */
  readonly acceptEula?: boolean;
  /** PEM bundle of CAs trusted for the package signature; default: the system store. Not the HTTPS server's (httpCaFile). */
  readonly caFile?: string;
  /** Refuse an unsigned package, or one whose certificate is expired, self-signed or untrusted. */
  readonly requireSignature?: boolean;
  /** Aborts the import; everything it created is removed, and it rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** While disks are converted, SIGINT and SIGTERM abort the import (the CLI sets this). @default false */
  readonly handleSignals?: boolean;
  /** Receives progress events and warnings (importPackage's second argument wins). @default silentReporter() */
  readonly reporter?: Reporter;
}

/** The option names the public API (src/index.ts) uses. */
export type ImportPackageOptions = ImportOptions;
export type InspectPackageOptions = InspectOptions;

/** What importPackage did. Sizes in bytes. */
export interface ImportResult {
  readonly domain: string;
  /** The domain's UUID; empty for printXml. */
  readonly uuid: string;
  readonly virtType: 'kvm' | 'qemu';
  readonly defined: boolean;
  readonly started: boolean;
  readonly volumes: readonly { name: string; path: string; format: string; capacityBytes: number }[];
  /** The domain XML (defined, or what would be with printXml / dryRun). */
  readonly xml: string;
  /** DOMAIN.xml written with outputDir. */
  readonly xmlFile?: string;
  readonly warnings: readonly string[];
}

/** The HTTP(S) settings of a package's source (archive/archive.ts SourceOptions). */
export function sourceOptionsOf(opts: Pick<PackageOptions, 'httpCaFile' | 'httpHeaderFile'> & { readonly caFile?: string }): { http: { caFile?: string; extraCaFile?: string; headerFile?: string } } {
  return {
    http: {
      ...(opts.httpCaFile !== undefined ? { caFile: opts.httpCaFile } : {}),
      ...(opts.caFile !== undefined ? { extraCaFile: opts.caFile } : {}),
      ...(opts.httpHeaderFile !== undefined ? { headerFile: opts.httpHeaderFile } : {}),
    },
  };
}

/** The defaults of the optional options, as the types document them. */
export const IMPORT_DEFAULTS = { profile: 'faithful', pool: 'default', verify: true } as const;

/** ImportOptions with the defaults filled in. */
export type ResolvedImportOptions = ImportOptions & { readonly profile: ProfileName; readonly pool: string; readonly verify: boolean };

/** Fills in the defaults of IMPORT_DEFAULTS. */
export function withDefaults(options: ImportOptions): ResolvedImportOptions {
  return { ...options, profile: options.profile ?? IMPORT_DEFAULTS.profile, pool: options.pool ?? IMPORT_DEFAULTS.pool, verify: options.verify ?? IMPORT_DEFAULTS.verify };
}

/**
 * Refuses options that contradict each other, before anything is opened.
 * @throws UsageError when a pool other than the default is given with outputDir, when start is
 *   asked on an embedded driver (it would fork QEMU from this process), or when requireSignature
 *   comes with verify false; FileError (option `caFile`) when the CA file cannot be read.
 */
export function checkUsage(opts: ResolvedImportOptions): void {
  if (opts.outputDir !== undefined && opts.pool !== IMPORT_DEFAULTS.pool) {
    throw new UsageError(`the disks go either to storage pool "${opts.pool}" or to directory ${opts.outputDir}, not both`);
  }
  const uri = resolveUri(opts.connect);
  if (opts.start && uri?.includes(':///embed')) {
    // The embedded driver would fork QEMU from this Node process, whose libuv fork handler
    // closes libvirt's sync pipe; virsh (same root) starts it fine.
    throw new UsageError(`starting the domain is not supported with ${uri}: import without starting it, then start it with virsh -c '${uri}' start NAME`);
  }
  if (opts.requireSignature && !opts.verify) throw new UsageError('a required signature cannot be checked when verification is off; turn verification on', { option: 'verify' });
  if (opts.converter !== undefined && opts.converter !== 'auto' && opts.converter !== 'qemu-img') throw new UsageError(`unknown converter ${JSON.stringify(opts.converter)}: auto or qemu-img`, { option: 'converter' });
  if (opts.caFile !== undefined) checkCaFile(opts.caFile);
  if (opts.overwriteVolumes && Object.keys(opts.existingVolumes ?? {}).length === 0) throw new UsageError('overwriting existing volumes needs the volumes, named with --volume DISK=VOLUME', { option: 'overwriteVolumes' });
}

/**
 * Refuses a CA file that cannot be read, whether or not the package turns out to be signed.
 * @throws FileError (exit 2, option `caFile`).
 */
function checkCaFile(path: string): void {
  try {
    if (statSync(path).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR', syscall: 'open', path });
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw explainOsError(err, [{ path, what: 'CA file', option: 'caFile' }]) ?? err;
  }
}

/** The directory of the temporary copies: `tempDir`, else the system's (os.tmpdir()). */
export function tempDirOf(opts: Pick<ImportOptions, 'tempDir'>): string {
  return opts.tempDir ?? tmpdir();
}

/** `path` with symbolic links resolved as far as it exists. */
async function canonical(path: string): Promise<string> {
  return realpath(path).catch(() => resolve(path));
}

/**
 * Refuses a directory for temporary copies that cannot serve: missing, not a directory, not
 * writable (EACCES, EROFS), or inside one of `forbidden` (the pool's target path, where libvirt
 * would list the copies as volumes, or the output directory). `dir` is the resolved tempDir
 * (tempDirOf); the messages say whether it came from the option or from `$TMPDIR`. Each
 * `forbidden` entry names a directory and what it is, e.g. `pool "default"`.
 * @throws FileError (exit 2, option `tempDir`) when it cannot serve; UsageError (option `tempDir`) inside a forbidden directory.
 */
export async function checkTempDir(dir: string, explicit: boolean, forbidden: readonly { readonly path: string; readonly what: string }[]): Promise<void> {
  const named = explicit ? `temporary directory ${dir}` : `the system temporary directory ${dir} ($TMPDIR)`;
  await checkUserDirectory(dir, { named, what: 'temporary directory', option: 'tempDir', writable: true });
  const real = await canonical(dir);
  for (const f of forbidden) {
    const rel = relative(await canonical(f.path), real);
    if (rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))) {
      throw new UsageError(`${named} lies inside ${f.what} (${f.path}); choose another temporary directory`, { option: 'tempDir' });
    }
  }
}
