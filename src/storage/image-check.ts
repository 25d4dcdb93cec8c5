// Checks an untrusted disk image's own header bytes (read directly, never through qemu) before qemu-img opens it.
import { constants, readSync as readSyncAt } from 'node:fs';
import { open } from 'node:fs/promises';
import { PackageError } from '../errors.js';
import { checkQcow2Tables } from './image-tables-qcow2.js';
import { checkVmdkTables } from './image-tables-vmdk.js';
import type { ImageBytes } from './image-tables.js';
import { virtualSizeProblem } from './size-policy.js';
import type { ImageFormat, ImageSource } from './qemu-img.js';

export { checkFreeSpace } from './free-space.js';

/** What checkImage found: the format (as declared), the virtual size its header claims, and warnings. */
export interface CheckedImage {
  readonly format: ImageFormat;
  /** Virtual disk size in bytes, from the image's own header (raw: the byte range's size). */
  readonly virtualSizeBytes: number;
  /** Things worth telling the user that are not refusals, e.g. a raw disk starting with a qcow2 magic. */
  readonly warnings: string[];
  /** A VMDK delta's parentFileNameHint (a plain file name), when `allowParentHint` let it through. */
  readonly parentFileNameHint?: string;
}

/** Options of checkImage. */
export interface CheckImageOptions {
  /** The format the descriptor declares (ovf:format); must equal `src.format`, the -f qemu-img gets. */
  readonly declaredFormat: ImageFormat;
  /** The disk's ovf:capacity in bytes, when declared: a header claiming over 64× this is refused. */
  readonly capacityBytes?: number;
  /** The descriptor declares this disk a delta (ovf:parentRef): a VMDK may name its parent by a plain file name. */
  readonly allowParentHint?: boolean;
  readonly signal?: AbortSignal;
}

/** The image's first 4 KiB, last 512 bytes, a bounded reader of its byte range, and the refusal builder. */
type Header = { head: Buffer; tail: Buffer; read(pos: number, len: number): Promise<Buffer>; refuse(why: string): PackageError; parent?: { allowed: boolean; hint?: string } };

const QCOW2_KNOWN_INCOMPATIBLE = 0x1fn; // bits 0-4: dirty, corrupt, external data file, compression type, extended L2

/** Magic numbers of the formats qemu probes, as [name, offset, bytes]; `-1` means the last 512 bytes. */
const MAGICS: [string, number, Buffer][] = [
  ['qcow2', 0, Buffer.from('QFI\xfb', 'latin1')], ['vmdk', 0, Buffer.from('KDMV')], ['VMDK3 (COWD)', 0, Buffer.from('COWD')],
  ['VMDK text descriptor', 0, Buffer.from('# Disk DescriptorFile')], ['vhdx', 0, Buffer.from('vhdxfile')],
  ['vpc', 0, Buffer.from('conectix')], ['vpc', -1, Buffer.from('conectix')], ['vdi', 0x40, Buffer.from('7f10dabe', 'hex')],
  ['qed', 0, Buffer.from('QED\0', 'latin1')], ['luks', 0, Buffer.from('4c554b53babe', 'hex')],
];

/** Names of the formats whose magic `head` (first bytes) or `tail` (last 512 bytes) carries. */
function detect(head: Buffer, tail: Buffer): string[] {
  const found = MAGICS.filter(([, at, magic]) => (at < 0 ? tail.subarray(0, magic.length) : head.subarray(at, at + magic.length)).equals(magic));
  return [...new Set(found.map(([name]) => name))];
}

/**
 * Reads the image's header bytes from its byte range (`src.path` at `src.offset`, never past
 * `src.size`) and refuses what qemu-img must not open, before any qemu-img call:
 * - vmdk: only a self-contained sparse VMDK (`KDMV`, VMware Virtual Disk Format 1.1) whose embedded
 *   descriptor has createType monolithicSparse or streamOptimized, exactly one SPARSE extent naming
 *   a plain file name, no parentFileNameHint and parentCID ffffffff (checkVmdk).
 *   A text descriptor (`# Disk DescriptorFile`) is refused: it can only point at other files.
 * - qcow2 (QEMU docs/interop/qcow2.txt): refused with a backing file (backing_file_offset or
 *   _size non-zero, or a backing-format extension), an external data file (incompatible bit 2
 *   or extension 0x44415441), the corrupt bit, unknown incompatible bits, or encryption.
 * - vpc (Microsoft VHD spec): refused when the footer's disk type is 4 (differencing) or unknown.
 * - vdi (VirtualBox VDI 1.1 header): refused unless image type 1 (dynamic) or 2 (fixed) with no parent UUIDs.
 * - vhdx (MS-VHDX): refused with a parent (HasParent or a parent locator in the metadata region).
 * - raw: nothing to parse; a recognised magic (qcow2, VMDK, VHD, VDI...) only adds a warning, because qemu-img
 *   always gets `-f raw` and so never interprets it (the guest sees it as data).
 * A magic that does not match the declared format is refused as format confusion; a claimed
 * virtual size above 1 PiB, or above 64× `capacityBytes`, is refused (size-policy.ts).
 * Then the tables qemu follows must lie inside the byte range, or qemu would read zeros there
 * and convert the image "successfully": a sparse VMDK's grain directory, grain tables and grains
 * (image-tables-vmdk.ts), a qcow2's refcount, L1 and L2 tables and data clusters (image-tables-qcow2.ts).
 * The file must be a regular file (a FIFO or device is refused, opened O_NONBLOCK so it cannot hang).
 * @throws PackageError (exit 3) naming `src.label`, what was found and why it is refused; Error if `declaredFormat` ≠ `src.format`; the signal's reason once aborted.
 */
export async function checkImage(src: ImageSource, opts: CheckImageOptions): Promise<CheckedImage> {
  const label = src.label ?? src.path;
  const refuse = (why: string) => new PackageError(`${label}: ${why}; refused before qemu-img opens it`, { file: label });
  if (src.format !== opts.declaredFormat) throw new Error(`checkImage: declared ${opts.declaredFormat} but qemu-img would get -f ${src.format}`);
  opts.signal?.throwIfAborted();
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;
  const fh = await open(src.path, flags).catch((err: Error) => Promise.reject(new PackageError(`${label}: cannot open ${src.path}: ${err.message}`, { file: label, cause: err })));
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw refuse(`${src.path} is not a regular file`);
    if (src.offset < 0 || src.size < 0 || src.offset + src.size > st.size) throw refuse(`its byte range (offset ${src.offset}, ${src.size} bytes) runs past the end of ${src.path}`);
    const read = async (pos: number, len: number): Promise<Buffer> => {
      const n = Math.max(0, Math.min(len, src.size - pos));
      const buf = Buffer.alloc(n);
      if (n > 0) await fh.read(buf, 0, n, src.offset + pos);
      opts.signal?.throwIfAborted();
      return buf;
    };
    const readSync = (pos: number, len: number): Buffer => {
      const n = Math.max(0, Math.min(len, src.size - pos));
      const buf = Buffer.alloc(n);
      if (n > 0) readSyncAt(fh.fd, buf, 0, n, src.offset + pos);
      opts.signal?.throwIfAborted();
      return buf;
    };
    const [head, tail] = [await read(0, 4096), await read(Math.max(0, src.size - 512), 512)];
    const found = detect(head, tail);
    const declared = opts.declaredFormat;
    const warnings: string[] = [];
    const parent: { allowed: boolean; hint?: string } = { allowed: opts.allowParentHint === true };
    let virtualSizeBytes: number;
    if (declared === 'raw') {
      for (const f of found) warnings.push(`${label}: carries a ${f} header but ovf:format says raw; it is opened strictly as raw (qemu-img -f raw), so the header is not interpreted and the guest sees it as data`);
      virtualSizeBytes = src.size;
    } else {
      if (found[0] !== declared && !found.includes(declared)) {
        if (found.includes('VMDK text descriptor') && declared === 'vmdk') throw refuse('is a VMDK text descriptor (# Disk DescriptorFile): it can only point at other files, and only self-contained streamOptimized or monolithicSparse VMDKs are accepted');
        const what = found.length > 0 ? found.join(' and ') : `not ${declared} (no known header; it begins ${head.subarray(0, 8).toString('hex') || 'with nothing'})`;
        throw refuse(`declared ${declared} (ovf:format) but the file is ${what}`);
      }
      const others = found.filter((f) => f !== declared);
      if (others.length > 0) warnings.push(`${label}: also carries a ${others.join(' and ')} header; it is opened strictly as ${declared} (qemu-img -f ${declared})`);
      virtualSizeBytes = await FORMAT_CHECKS[declared]({ head, tail, read, refuse, parent });
    }
    const problem = virtualSizeProblem(virtualSizeBytes, opts.capacityBytes);
    if (problem) throw refuse(problem);
    await TABLE_CHECKS[declared]?.({ size: src.size, read, readSync, refuse }, head);
    return { format: declared, virtualSizeBytes, warnings, ...(parent.hint !== undefined ? { parentFileNameHint: parent.hint } : {}) };
  } finally {
    await fh.close();
  }
}

/**
 * The sparse VMDK header and embedded-descriptor checks of {@link checkImage} over bytes already
 * in memory: the lead-in of a stream (storage/vmdk-stream) that cannot be read at random.
 * `bytes` must hold the first max(21, descriptorOffset + descriptorSize) sectors when the stream
 * has them (a read beyond gets what is there). No parent hint is allowed.
 * @returns the virtual size in bytes. @throws what `refuse` builds.
 */
export function checkVmdkLeadIn(bytes: Buffer, refuse: (why: string) => PackageError): Promise<number> {
  return checkVmdk({ head: bytes.subarray(0, 4096), tail: Buffer.alloc(0), read: async (pos, len) => bytes.subarray(pos, pos + len), refuse });
}

/** Bounds checks of the tables qemu follows, per format, run once the header passed. */
const TABLE_CHECKS: Partial<Record<ImageFormat, (img: ImageBytes, head: Buffer) => Promise<void>>> = { vmdk: checkVmdkTables, qcow2: checkQcow2Tables };

const u64 = (b: Buffer, at: number, le: boolean): number => Number(le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at));

/** Per-format checks; each returns the virtual size in bytes its header claims or throws h.refuse(...). */
const FORMAT_CHECKS: Record<Exclude<ImageFormat, 'raw'>, (h: Header) => Promise<number>> = {
  vmdk: checkVmdk,
  async qcow2({ head, read, refuse }) {
    if (head.length < 72) throw refuse('is too short to hold a qcow2 header');
    const version = head.readUInt32BE(4);
    if (version !== 2 && version !== 3) throw refuse(`is qcow2 version ${version}; only versions 2 and 3 are accepted`);
    const [backingOffset, backingSize] = [u64(head, 8, false), head.readUInt32BE(16)];
    if (backingOffset !== 0 || backingSize !== 0) {
      const name = backingSize > 0 && backingSize < 1024 ? (await read(backingOffset, backingSize)).toString('utf8') : '';
      throw refuse(`is a qcow2 with a backing file${name ? ` ${JSON.stringify(name)}` : ''} (backing_file_offset ${backingOffset}, backing_file_size ${backingSize}); a disk must be self-contained`);
    }
    const clusterBits = head.readUInt32BE(20);
    if (clusterBits < 9 || clusterBits > 21) throw refuse(`has an invalid qcow2 cluster_bits ${clusterBits}`);
    if (head.readUInt32BE(32) !== 0) throw refuse(`is an encrypted qcow2 (crypt_method ${head.readUInt32BE(32)})`);
    let extensionsAt = 72;
    if (version === 3) {
      if (head.length < 104) throw refuse('is too short to hold a qcow2 version 3 header');
      const incompatible = head.readBigUInt64BE(72);
      if (incompatible & 4n) throw refuse('is a qcow2 with an external data file (incompatible_features bit 2); a disk must be self-contained');
      if (incompatible & 2n) throw refuse('is a qcow2 marked corrupt (incompatible_features bit 1)');
      if (incompatible & ~QCOW2_KNOWN_INCOMPATIBLE) throw refuse(`is a qcow2 with unknown incompatible features 0x${incompatible.toString(16)}`);
      extensionsAt = head.readUInt32BE(100); // header_length
      if (extensionsAt < 104 || extensionsAt % 8 !== 0) throw refuse(`has an invalid qcow2 header_length ${extensionsAt}`);
    }
    // Header extensions (type, length, data padded to 8) run from the header's end to type 0, inside cluster 0.
    const cluster = await read(0, Math.min(2 ** clusterBits, 2 ** 21));
    for (let at = extensionsAt; ; ) {
      if (at + 8 > cluster.length) throw refuse('has qcow2 header extensions that run past the first cluster');
      const [type, length] = [cluster.readUInt32BE(at), cluster.readUInt32BE(at + 4)];
      if (type === 0) break;
      if (type === 0x44415441) throw refuse(`is a qcow2 naming an external data file ${JSON.stringify(cluster.toString('utf8', at + 8, Math.min(at + 8 + length, cluster.length)))}; a disk must be self-contained`);
      if (type === 0xe2792aca) throw refuse('is a qcow2 with a backing file format extension; a disk must be self-contained');
      at += 8 + Math.ceil(length / 8) * 8;
    }
    return u64(head, 24, false);
  },
  async vpc({ head, tail, refuse }) {
    // qemu reads the footer copy at offset 0 (dynamic disks), else the footer in the last 512 bytes (fixed disks).
    const footer = head.subarray(0, 8).toString('latin1') === 'conectix' ? head : tail;
    if (footer.length < 512) throw refuse('is too short to hold a VHD footer');
    const type = footer.readUInt32BE(60); // Disk Type
    if (type === 4) throw refuse('is a VHD differencing disk (disk type 4): it reads its parent from another file');
    if (type !== 2 && type !== 3) throw refuse(`is a VHD of unknown disk type ${type}`);
    const chs = footer.readUInt16BE(56) * footer.readUInt8(58) * footer.readUInt8(59) * 512;
    return Math.max(u64(footer, 48, false), chs);
  },
  async vdi({ head, refuse }) {
    if (head.length < 0x1c8 || head.readUInt32LE(0x44) >>> 16 !== 1) throw refuse('is not a VDI of header version 1.x (or is too short to hold one)');
    const type = head.readUInt32LE(0x4c);
    if (type === 3 || type === 4) throw refuse(`is a VDI ${type === 4 ? 'differencing' : 'undo'} image (image type ${type}): it reads its parent from another file`);
    if (type !== 1 && type !== 2) throw refuse(`is a VDI of unknown image type ${type}`);
    if (head.subarray(0x1a8, 0x1c8).some((b) => b !== 0)) throw refuse('is a VDI that names a parent image (uuid_link/uuid_parent)');
    return u64(head, 0x170, true);
  },
  vhdx: (h) => vhdxVirtualSize(h),
};

/**
 * A sparse VMDK (VMware Virtual Disk Format 1.1, SparseExtentHeader, little-endian): version 1-3,
 * capacity > 0 (qemu follows the embedded descriptor's extents when it is 0), an embedded
 * descriptor (descriptorOffset/descriptorSize sectors) whose every line is a comment, `key = value`
 * or an extent; createType monolithicSparse or streamOptimized; parentCID ffffffff; exactly one
 * SPARSE extent of `capacity` sectors naming a plain file name (qemu never opens it: the header
 * describes the extent). "parentFileNameHint" anywhere in the descriptor, or in the 20 sectors
 * at byte 512 that qemu's vmdk_parent_open searches whatever descriptorOffset says, is refused.
 */
async function checkVmdk({ head, read, refuse, parent }: Header): Promise<number> {
  if (head.length < 512) throw refuse('is too short to hold a VMDK sparse header');
  const version = head.readUInt32LE(4);
  if (version < 1 || version > 3) throw refuse(`is a VMDK sparse extent of version ${version}`);
  const [capacity, descOffset, descSize] = [u64(head, 12, true), u64(head, 28, true), u64(head, 36, true)];
  if (capacity === 0) throw refuse('is a VMDK sparse header with capacity 0, which makes qemu open the extents its embedded descriptor names');
  if (descOffset === 0 || descSize === 0) throw refuse('is a VMDK sparse extent without an embedded descriptor (one piece of a multi-file disk)');
  const raw = descSize <= 2048 ? await read(descOffset * 512, descSize * 512) : Buffer.alloc(0);
  if (raw.length !== descSize * 512) throw refuse(`has an embedded descriptor (sector ${descOffset}, ${descSize} sectors) too large or past the end of the file`);
  const text = raw.toString('utf8', 0, raw.indexOf(0) < 0 ? raw.length : raw.indexOf(0));
  const window = (await read(512, 20 * 512)).toString('latin1');
  if (/parentFileNameHint/i.test(text) || window.includes('parentFileNameHint')) {
    // A delta is allowed only when the descriptor declares one (ovf:parentRef), and only with a
    // plain file name: import then places the parent under that name in a private directory.
    if (!parent?.allowed) throw refuse('is a VMDK with a parentFileNameHint: a delta disk that reads its parent from another file');
    const hints = [...text.matchAll(/^\s*parentFileNameHint\s*=\s*"([^"]*)"\s*$/gim)].map((m) => m[1]!);
    const hint = hints[0];
    if (hints.length !== 1 || hint === undefined || !window.includes(`parentFileNameHint="${hint}"`) || /[/\\\x00-\x1f\x7f]/.test(hint) || ['', '.', '..'].includes(hint) || hint.length > 255) {
      throw refuse(`is a VMDK delta whose parentFileNameHint is not one plain file name (${JSON.stringify(hints)})`);
    }
    parent.hint = hint;
  }
  const keys = new Map<string, string>();
  const extents: { type: string; sectors: number; name: string | undefined; line: string }[] = [];
  for (const line of text.split(/\r\n|\n|\r/)) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const extent = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\S+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?$/i.exec(t);
    const pair = /^([A-Za-z][\w.]*)\s*=\s*(.*)$/.exec(t);
    if (extent) extents.push({ type: extent[3]!, sectors: Number(extent[2]), name: extent[4], line: t });
    else if (pair && !keys.has(pair[1]!.toLowerCase())) keys.set(pair[1]!.toLowerCase(), pair[2]!.replace(/^"(.*)"$/, '$1'));
    else throw refuse(`has ${pair ? 'a duplicate' : 'an unrecognised'} line in its embedded descriptor: ${JSON.stringify(t.slice(0, 100))}`);
  }
  const createType = keys.get('createtype');
  const wanted = 'only self-contained streamOptimized and monolithicSparse VMDKs are accepted';
  if (createType !== 'monolithicSparse' && createType !== 'streamOptimized') throw refuse(`is a VMDK of createType ${JSON.stringify(createType ?? '(none)')}; ${wanted}`);
  const parentCID = keys.get('parentcid');
  if (parentCID !== undefined && parentCID.toLowerCase() !== 'ffffffff' && parent?.hint === undefined) throw refuse(`is a VMDK with parentCID ${parentCID}: a delta disk of another file`);
  const extent = extents[0];
  if (extents.length !== 1 || !extent) {
    throw refuse(`is a ${createType} VMDK with ${extents.length} extents (${extents.map((e) => e.line).join('; ')}); a self-contained VMDK has exactly one SPARSE extent`);
  }
  if (extent.type !== 'SPARSE') throw refuse(`is a ${createType} VMDK whose extent is ${extent.type} (${extent.line}), not SPARSE`);
  const plain = extent.name !== undefined && !/[/\\\x00-\x1f]/.test(extent.name) && !['', '.', '..'].includes(extent.name);
  if (!plain) throw refuse(`is a VMDK whose extent names ${JSON.stringify(extent.name ?? '')}, not the image's own file name`);
  if (extent.sectors !== capacity) throw refuse(`is a VMDK whose extent has ${extent.sectors} sectors but whose header says ${capacity}`);
  return capacity * 512;
}

/** VHDX GUIDs (MS-VHDX 2.2.3, 2.6.2) in their on-disk byte order: metadata region 8B7CA206-4790-4B9A-B8FE-575F050F886E,
 * Virtual Disk Size 2FA54224-CD1B-4876-B211-5DBED83BF4B8, File Parameters CAA16737-FA36-4D43-B3B6-33F0AA44E76B,
 * Parent Locator A8D35F2D-B30B-454D-ABF7-D3D84834AB0C. */
const [VHDX_METADATA_REGION, VHDX_VIRTUAL_DISK_SIZE, VHDX_FILE_PARAMETERS, VHDX_PARENT_LOCATOR] = [
  '06a27c8b90479a4bb8fe575f050f886e', '2442a52f1bcd7648b2115dbed83bf4b8', '3767a1ca36fa434db3b633f0aa44e76b', '2d5fd3a80bb34d45abf7d3d84834ab0c',
].map((hex) => Buffer.from(hex, 'hex')) as [Buffer, Buffer, Buffer, Buffer];

/** Reads the VHDX region table (at 192 KiB) and metadata table; refuses a disk with a parent (MS-VHDX 2.2, 2.6). */
async function vhdxVirtualSize({ read, refuse }: Header): Promise<number> {
  const regions = await read(192 * 1024, 64 * 1024);
  if (regions.length < 16 || regions.toString('latin1', 0, 4) !== 'regi') throw refuse('has no VHDX region table');
  const count = Math.min(regions.readUInt32LE(8), 2047);
  let [metadata, base]: [Buffer | undefined, number] = [undefined, 0];
  for (let i = 0; i < count && 16 + 32 * (i + 1) <= regions.length; i++) {
    const entry = regions.subarray(16 + 32 * i, 16 + 32 * (i + 1));
    if (entry.subarray(0, 16).equals(VHDX_METADATA_REGION)) {
      base = u64(entry, 16, true);
      metadata = await read(base, Math.min(entry.readUInt32LE(24), 2 ** 20));
    }
  }
  if (!metadata || metadata.length < 32 || metadata.toString('latin1', 0, 8) !== 'metadata') throw refuse('has no VHDX metadata table');
  let size: number | undefined;
  for (let i = 0; i < metadata.readUInt16LE(10) && 32 + 32 * (i + 1) <= metadata.length; i++) {
    const entry = metadata.subarray(32 + 32 * i, 32 + 32 * (i + 1));
    const item = await read(base + entry.readUInt32LE(16), Math.min(entry.readUInt32LE(20), 64));
    if (entry.subarray(0, 16).equals(VHDX_PARENT_LOCATOR)) throw refuse('is a VHDX differencing disk (it has a parent locator)');
    if (entry.subarray(0, 16).equals(VHDX_FILE_PARAMETERS) && item.length >= 8 && item.readUInt32LE(4) & 2) throw refuse('is a VHDX differencing disk (HasParent)');
    if (entry.subarray(0, 16).equals(VHDX_VIRTUAL_DISK_SIZE) && item.length >= 8) size = u64(item, 0, true);
  }
  if (size === undefined) throw refuse('has no VHDX virtual disk size');
  return size;
}
