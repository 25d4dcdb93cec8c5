// The options and result of export (src/export/index.ts exportDomain), with their defaults.
import type { DigestAlgorithm } from '../archive/manifest.js';

/** How export reads the disks: `local` (their paths on this machine), `stream` (libvirt streams, source-stream.ts), `auto` (streams when the connection URI names a host). */
export type ExportTransfer = 'auto' | 'local' | 'stream';

/** Options of exportDomain (index.ts). Sizes in bytes. */
export interface ExportOptions {
  /** Name of the libvirt domain. */
  readonly domain: string;
  /** OUT.ova, or a directory (ends in / or exists as one) for an unpacked OVF package; its parent directory must exist. */
  readonly output: string;
  /** libvirt connection URI; default: libvirt's default (LIBVIRT_DEFAULT_URI, ...). */
  readonly connect?: string;
  /** DSP0243 1.x (DSP8023 1.1 schema) or 2.0 descriptor. @default 1 */
  readonly ovfVersion?: 1 | 2;
  /** Format of hard disk files: streamOptimized VMDK, qcow2 or raw. @default 'vmdk' */
  readonly diskFormat?: 'vmdk' | 'qcow2' | 'raw';
  /** deflate level of streamOptimized VMDK grains, 0-9. @default 1 */
  readonly compressLevel?: number;
  /** Manifest (.mf) digest, or none. @default 'sha256' */
  readonly manifest?: DigestAlgorithm | 'none';
  /** PEM private key signing the manifest into a .cert; needs `signCert` and a manifest. */
  readonly signKey?: string;
  /** PEM certificate (and chain) written into the .cert; needs `signKey`. */
  readonly signCert?: string;
  /** Mapping profile whose tables are read in reverse (an overlay may add more). @default 'faithful' */
  readonly profile?: 'faithful' | 'virtio' | (string & {});
  /** Directory of mapping tables overlaid on the built-in ones. */
  readonly mappingsDir?: string;
  /**
   * Leave out a disk on a bus no table maps, or a disk that cannot be read as the guest sees it
   * (a CD-ROM drive is kept without its medium), with a warning, instead of failing. @default false
   */
  readonly lax?: boolean;
  /**
   * Replace existing files at the output (the OVA, or the package's files inside the directory),
   * like ovftool's --overwrite. Without it an existing file is a UsageError naming it. Even with
   * it, a file that a disk of any domain or a volume of any pool of the connection is (same real
   * path or same device and inode), or anything but a regular file, is never replaced.
   * @default false
   */
  readonly force?: boolean;
  /**
   * Directory of the run journal that records what the export creates until it ends (see
   * src/journal/state-dir.ts); default: `$VIRT_OVF_STATE_DIR`, else /var/lib/virt-ovf/runs as
   * root, else `$XDG_STATE_HOME/virt-ovf/runs`.
   */
  readonly stateDir?: string;
  /** How the disks are read (see ExportTransfer). @default 'auto' */
  readonly transfer?: ExportTransfer;
  /** Aborting it stops the export and removes what it wrote; the error is the signal's reason. */
  readonly signal?: AbortSignal;
  /** Also abort on SIGINT/SIGTERM (InterruptedError), with handlers installed only while exporting. @default false */
  readonly handleSignals?: boolean;
}

/** {@link ExportOptions} with every default applied. */
export type ResolvedExportOptions = Required<Omit<ExportOptions, 'connect' | 'signKey' | 'signCert' | 'mappingsDir' | 'stateDir' | 'signal' | 'handleSignals'>> & Pick<ExportOptions, 'connect' | 'signKey' | 'signCert' | 'mappingsDir' | 'stateDir'>;

/** What export wrote. Sizes in bytes. */
export interface ExportResult {
  /** The OVA, or the directory of the unpacked package. */
  readonly output: string;
  readonly kind: 'ova' | 'directory';
  /** The domain was running: its disks are a point-in-time copy (backup job). */
  readonly live: boolean;
  /** Every package file; `digest` (lower-case hex, the manifest's algorithm) for disk files and the OVF. */
  readonly files: readonly { name: string; sizeBytes: number; digest?: string }[];
  readonly warnings: readonly string[];
}

/** The defaults of {@link ExportOptions}, as `virt-ovf export` has them. */
export const EXPORT_DEFAULTS = { ovfVersion: 1, diskFormat: 'vmdk', compressLevel: 1, manifest: 'sha256', profile: 'faithful', lax: false, force: false, transfer: 'auto' } as const;
