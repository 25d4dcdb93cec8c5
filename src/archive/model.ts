// The Archive interface over an OVF package (DSP0243 section 5), which archive/ova.ts and archive/ovf-dir.ts implement.

import type { Readable } from 'node:stream';

/** A file of the package. */
export interface ArchiveEntry {
  /** Name as written in ovf:href (tar member name without leading `./`, or path relative to the .ovf). */
  name: string;
  /** Length in bytes. */
  size: number;
}

/** Where the bytes of a package file live on the host. */
export interface ByteRange {
  /** Host file holding the bytes (the .ova, or the file beside the .ovf). */
  path: string;
  /** Byte offset of the first byte in `path`. */
  offset: number;
  /** Length in bytes. */
  size: number;
}

/** An OVF package (DSP0243 section 5): an OVA tar file or a directory holding a .ovf. */
export interface Archive {
  readonly kind: 'ova' | 'ovf';
  /** The .ova file, or the .ovf file (host paths), or the URL named (http:, https:). */
  readonly source: string;
  /**
   * True when the package is on this host, so that `locate` and `locatePadded` can give host
   * byte ranges; false for a URL, whose files are only read through `createReadStream` and
   * `readSmall` (HTTP range requests, source/http-reader.ts).
   */
  readonly local: boolean;
  /** Bytes transferred from the source so far (a URL: response bodies received); 0 for a local package. */
  readonly bytesTransferred: number;
  /** Name of the descriptor: member name in the OVA, or file name in the directory. */
  readonly descriptorName: string;
  /** Directory holding the .ovf (kind 'ovf': a host path, or the URL of the directory) or undefined. */
  readonly directory: string | undefined;
  /** The descriptor's bytes; throws PackageError when unreadable or larger than 16 MiB. */
  readDescriptor(): Promise<Buffer>;
  /** Every regular file of the package (no directories; in a directory package, no symbolic links), by canonical name. */
  entries(): ArchiveEntry[];
  /**
   * Entry for an ovf:href, or undefined when the package has no such file. Matching is exact
   * and case-sensitive on the canonical name (`./a//b` is `a/b`). Throws PackageError for an
   * href the path policy refuses (policy.ts: URL, absolute, `..`, control characters) and, in
   * a directory package, for one that resolves through a symbolic link or to a special file.
   */
  find(href: string): ArchiveEntry | undefined;
  /**
   * Where the bytes of `href` live on the host: the OVA file plus offset/size, or the file
   * beside the .ovf with offset 0. Verification (createReadStream) reads exactly this range.
   * Throws PackageError as find does, and when absent (policy.ts describeMissing: names a file
   * differing only in case); PackageError when the package is not `local` (a URL).
   */
  locate(href: string): ByteRange;
  /**
   * The range of `href` for a reader that wants whole 512-byte sectors (qemu's offset/size
   * layer): in an OVA, the member plus its tar padding, which must be zeros (the manifest does
   * not cover it); in a directory, the same as locate.
   * Throws PackageError as locate does (also when the package is not `local`), and when the
   * padding is missing (truncated) or not zeros.
   */
  locatePadded(href: string): Promise<ByteRange>;
  /**
   * Stream the bytes of `href` (a fs.ReadStream over the exact range, highWaterMark 1 MiB; for a
   * URL, a range request resumed where it stopped when the connection fails). Throws
   * PackageError when absent; the stream fails with HttpError when a URL's transfer does.
   */
  createReadStream(href: string): Readable;
  /** Read a small file (manifest, certificate) fully; throws PackageError when larger than `maxBytes` (default 16 MiB). */
  readSmall(href: string, maxBytes?: number): Promise<Buffer>;
}
