// Error classes and the exit codes they map to (documented in man/virt-ovf.1, EXIT STATUS).

/** Process exit codes, one per failure class. */
export const ExitCode = {
  /** Everything requested was done. */
  Success: 0,
  /** A bug or an error virt-ovf did not classify. */
  Internal: 1,
  /**
   * Bad command-line usage: unknown option, missing argument, conflicting options; or a path
   * the user named (SOURCE, -o, --output-dir, --tmpdir, --ca, ...) cannot be used.
   */
  Usage: 2,
  /** The package is invalid or unsupported: archive, descriptor, manifest, mapping. */
  InvalidPackage: 3,
  /**
   * libvirt refused or failed: connection, pool, network, volume, domain; or a file libvirt
   * names (a domain's disk, a pool's directory) cannot be used.
   */
  Libvirt: 4,
  /**
   * A disk could not be inspected or converted by qemu-img, its bytes could not be transferred
   * from a URL (server error, connection dropped after the retries, timeout), or a filesystem
   * filled up while it was written.
   */
  Conversion: 5,
  /** Interrupted by SIGINT or SIGTERM; everything this run created was removed. */
  Interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** What each exit code means, in one line: the table of `--help`, man/virt-ovf.1 EXIT STATUS and the README. */
export const EXIT_STATUS: Readonly<Record<ExitCodeValue, string>> = {
  0: 'success',
  1: 'a bug in virt-ovf: "this is a bug; please report it" (-v prints the stack trace)',
  2: 'usage: a bad option, or a path you named is missing, read-only, not a directory or taken',
  3: 'invalid or unsupported package (archive, descriptor, manifest, signature, disk image)',
  4: 'libvirt refused or failed, or a file it names (a disk, a pool directory) cannot be used',
  5: 'a disk could not be read (qemu-img, or the transfer from a URL failed) or converted, or a filesystem filled up',
  130: 'interrupted (SIGINT, SIGTERM); everything the run created was removed',
};

/** What every error class accepts besides its message. */
export interface VirtOvfErrorOptions {
  readonly cause?: unknown;
  /**
   * The option (as the library spells it, e.g. `name`, `profile`, `outputDir`) whose value the
   * remedy concerns. Messages never name CLI flags themselves (the library has none); the CLI
   * adds the flag when it prints the error: a closing "choose …" remedy ends `with --FLAG`, any
   * other message gets ` (--FLAG)` (commands/present.ts withOption, flagOf).
   */
  readonly option?: string;
}

/** Base class: every error virt-ovf throws on purpose. `exitCode` says how the CLI exits. */
export class VirtOvfError extends Error {
  readonly exitCode: ExitCodeValue = ExitCode.Internal;
  /** The CLI option (without dashes) the remedy concerns, when there is one. */
  readonly option?: string;
  constructor(message: string, options: VirtOvfErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    if (options.option !== undefined) this.option = options.option;
  }
}

/** A command-line option is missing, malformed or conflicts with another. */
export class UsageError extends VirtOvfError {
  override readonly exitCode = ExitCode.Usage;
}

/** The package (OVA tar, OVF directory, manifest) is unusable. */
export class PackageError extends VirtOvfError {
  override readonly exitCode = ExitCode.InvalidPackage;
  /** File (path or archive member) at fault, when known. */
  readonly file?: string;
  constructor(message: string, options: VirtOvfErrorOptions & { file?: string } = {}) {
    super(message, options);
    if (options.file !== undefined) this.file = options.file;
  }
}

/** The OVF descriptor is not well-formed, not OVF, or holds a value that cannot be understood. */
export class OvfParseError extends PackageError {
  /** The element (or attribute) at fault, as a path such as `Envelope/DiskSection/Disk[2]/@ovf:capacity`. */
  readonly element?: string;
  constructor(message: string, options: VirtOvfErrorOptions & { file?: string; element?: string } = {}) {
    super(message, options);
    if (options.element !== undefined) this.element = options.element;
  }
}

/** The manifest (`.mf`) is malformed or a digest does not match. */
export class ManifestError extends PackageError {}

/**
 * A VirtualHardwareSection Item that the mapping tables cannot express and that the
 * descriptor marks `ovf:required="true"` (fatal unless `--lax`, as in ovftool).
 */
export class UnsupportedItemError extends PackageError {
  readonly instanceId: string;
  readonly resourceType: number | undefined;
  readonly resourceSubType: string | undefined;
  constructor(
    message: string,
    item: { instanceId: string; resourceType?: number; resourceSubType?: string; file?: string; option?: string },
  ) {
    super(message, { ...(item.file !== undefined ? { file: item.file } : {}), ...(item.option !== undefined ? { option: item.option } : {}) });
    this.instanceId = item.instanceId;
    this.resourceType = item.resourceType;
    this.resourceSubType = item.resourceSubType;
  }
}

/** A mapping table in mappings/ (or a --mappings overlay) fails its schema. */
export class MappingError extends VirtOvfError {
  override readonly exitCode = ExitCode.InvalidPackage;
}

/** libvirt reported an error (virGetLastError / virConnCopyLastError). */
export class LibvirtError extends VirtOvfError {
  override readonly exitCode = ExitCode.Libvirt;
  /** virErrorNumber, e.g. 42 VIR_ERR_NO_DOMAIN. */
  readonly code: number;
  /** virErrorDomain, e.g. 10 VIR_FROM_QEMU. */
  readonly domain: number;
  /** The libvirt entry point that failed, e.g. `virDomainDefineXML`. */
  readonly func: string;
  constructor(func: string, code: number, domain: number, message: string) {
    // libvirt ends some messages (QEMU's stderr) with a newline; inner newlines are kept.
    super(`${func}: ${message.trimEnd()}`);
    this.func = func;
    this.code = code;
    this.domain = domain;
  }
}

/** A precondition on the libvirt side is not met (missing pool or network, name taken). */
export class LibvirtSetupError extends VirtOvfError {
  override readonly exitCode = ExitCode.Libvirt;
}

/** The exit codes a FileError can carry: a path the user named (2), or one libvirt named (4). */
export type FileErrorExitCode = typeof ExitCode.Usage | typeof ExitCode.Libvirt;

/**
 * A file or directory cannot be used: an OS error (errno ENOENT, EACCES, EPERM, EROFS, EEXIST,
 * ENOTDIR, EISDIR, ...) on a path, said plainly ("WHAT PATH: WHY; HOW TO FIX", see
 * os-error.ts). Exit 2 when the path is one the user named (the package, the output, the
 * temporary directory, a key or CA file), 4 when libvirt named it (a domain's disk, a pool's
 * directory). A full filesystem is NoSpaceError instead.
 */
export class FileError extends VirtOvfError {
  override readonly exitCode: FileErrorExitCode;
  /** The path at fault (absolute or as the user gave it). */
  readonly path: string;
  /** The errno code, e.g. `ENOENT`; `ENOTDIR` also for "exists but is not a directory". */
  readonly errno: string;
  constructor(message: string, info: { path: string; errno: string; exitCode: FileErrorExitCode; option?: string; cause?: unknown }) {
    super(message, { cause: info.cause, ...(info.option !== undefined ? { option: info.option } : {}) });
    this.exitCode = info.exitCode;
    this.path = info.path;
    this.errno = info.errno;
  }
}

/** An external tool (qemu-img) failed. */
export class ToolError extends VirtOvfError {
  override readonly exitCode = ExitCode.Conversion;
  readonly command: string;
  readonly toolExitCode: number | undefined;
  readonly stderr: string;
  constructor(message: string, info: { command: string; exitCode?: number; stderr?: string; cause?: unknown }) {
    super(message, { cause: info.cause });
    this.command = info.command;
    this.toolExitCode = info.exitCode;
    this.stderr = info.stderr ?? '';
  }
}

/** The exit codes a TransferError can carry: the URL named cannot be used (2), or the transfer failed (5). */
export type TransferErrorExitCode = typeof ExitCode.Usage | typeof ExitCode.Conversion;

/**
 * A package named by an http:// or https:// URL could not be read (source/http-*.ts). Exit 2
 * when the URL itself cannot be used as given: not found (HTTP 404, 410), access refused (401,
 * 403: option `httpHeaderFile`), another 4xx answer, a host name that does not resolve, a
 * server certificate not trusted (option `httpCaFile`), a redirect refused (more than 5, or from
 * https to http). Exit 5 when the transfer failed: a server error (5xx), a connection refused,
 * reset or dropped mid-body after the retries, a timeout, a file that changed on the server
 * during the import. Messages never hold a request header's value.
 */
export class TransferError extends VirtOvfError {
  override readonly exitCode: TransferErrorExitCode;
  /** The URL at fault, without user information and with its query elided. */
  readonly url: string;
  /** The HTTP status of the answer at fault, when there was one. */
  readonly status?: number;
  constructor(message: string, info: { url: string; exitCode: TransferErrorExitCode; status?: number; option?: string; cause?: unknown }) {
    super(message, { cause: info.cause, ...(info.option !== undefined ? { option: info.option } : {}) });
    this.exitCode = info.exitCode;
    this.url = info.url;
    if (info.status !== undefined) this.status = info.status;
  }
}

/**
 * A filesystem filled up (ENOSPC, EDQUOT) while a disk or a temporary copy was written; what
 * the run created is removed. `mountPoint` is the filesystem that is full.
 */
export class NoSpaceError extends VirtOvfError {
  override readonly exitCode = ExitCode.Conversion;
  /** The file being written when the filesystem filled up. */
  readonly path: string;
  /** Mount point of the full filesystem. */
  readonly mountPoint: string;
  constructor(message: string, info: { path: string; mountPoint: string; option?: string; cause?: unknown }) {
    super(message, { cause: info.cause, ...(info.option !== undefined ? { option: info.option } : {}) });
    this.path = info.path;
    this.mountPoint = info.mountPoint;
  }
}

/** The run was interrupted by a signal; cleanup has run. */
export class InterruptedError extends VirtOvfError {
  override readonly exitCode = ExitCode.Interrupted;
  readonly signal: string;
  constructor(signal: string) {
    super(`interrupted by ${signal}`);
    this.signal = signal;
  }
}
