// The bytes of one drive prepared for qemu-img: in place, joined or inflated, spilled from a stream, a delta chain, or the OVF environment ISO; checked before qemu-img opens them.
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Archive } from '../archive/model.js';
import { ToolError } from '../errors.js';
import { makeTempDir } from '../journal/tracked.js';
import type { FileDrive, GeneratedDrive } from '../mapping/drives.js';
import type { Reporter } from '../report.js';
import { checkFreeSpace } from '../storage/free-space.js';
import { checkImage, type CheckedImage } from '../storage/image-check.js';
import { makeIso } from '../storage/iso.js';
import { isNoSpaceText, noSpaceError } from '../storage/no-space.js';
import { imageInfo } from '../storage/qemu-img.js';
import { MAX_VIRTUAL_SIZE_BYTES } from '../storage/size-policy.js';
import { prepareDeltaChain, prepareSource, spill, type PreparedSource } from '../storage/sources.js';
import type { StreamedDigests } from './digests.js';

/** What preparing a drive's bytes needs (a ConvertContext has it all). */
export interface PrepareContext {
  readonly archive: Archive;
  /** Directory of the temporary copies; default os.tmpdir(). */
  readonly tempDir?: string;
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
  /** Digests of the members read as streams (the manifest check's single pass). */
  readonly digests?: StreamedDigests;
}

/** Bytes prepared for qemu-img, and their virtual size in bytes (what checkImage found, when it ran). */
export interface Prepared {
  readonly prepared: PreparedSource;
  readonly virtualSizeBytes: number;
  readonly checked?: CheckedImage;
}

/** The most bytes a gzip or chunked file may expand to: 1.1 × its capacity + 64 MiB, or the largest virtual size allowed when no capacity is declared (Ganeti). */
export function expandedLimit(drive: FileDrive): number {
  return drive.capacityBytes > 0 ? Math.ceil(drive.capacityBytes * 1.1) + 64 * 2 ** 20 : MAX_VIRTUAL_SIZE_BYTES;
}

/**
 * Spills the rest of an opened file to a sparse temporary file in tempDir (after checking that
 * directory has room for the data expected: import/space.ts counts no copy for a file it
 * expects to stream), then checks it as prepareFile does.
 * @throws NoSpaceError (option tempDir) when it has not; what spill and checkImage throw.
 */
export async function spillFile(drive: FileDrive, ctx: PrepareContext, bytes: AsyncIterable<Uint8Array>): Promise<Prepared> {
  const tempDir = ctx.tempDir ?? tmpdir();
  await checkFreeSpace({ dir: tempDir }, drive.dataBytes, `temporary space for "${drive.file.href}"`, { option: 'tempDir' });
  const copies = async function* (): AsyncGenerator<Uint8Array> {
    for await (const chunk of bytes) yield Uint8Array.prototype.slice.call(chunk);
  };
  const prepared = await spill(copies(), { file: drive.file, format: drive.format!, tempDir, signal: ctx.signal });
  return checkPrepared(drive, ctx, prepared, true);
}

/**
 * The file's bytes for qemu-img (in place, or joined/decompressed, or a delta chain placed in a
 * private directory), after checkImage read the header: extents, backing files, data files,
 * differencing disks and absurd sizes are refused before qemu-img opens it (hostile input).
 */
export async function prepareFile(drive: FileDrive, ctx: PrepareContext, opts: { probe?: boolean } = {}): Promise<Prepared> {
  const { archive, signal, tempDir } = ctx;
  const temp = tempDir ? { tempDir } : {};
  if (drive.parents.length === 0) {
    const taps = ctx.digests ? { taps: ctx.digests } : {};
    const prepared = await prepareSource(archive, { file: drive.file, stored: drive.stored, format: drive.format! }, { ...temp, ...taps, maxBytes: expandedLimit(drive), signal });
    return checkPrepared(drive, ctx, prepared, opts.probe !== false);
  }
  let checked: CheckedImage | undefined;
  const prepared = await prepareDeltaChain(archive, drive.file, drive.parents, {
    ...temp,
    signal,
    check: async (src, isDelta) => {
      const parentOrChild = await checkImage(src, { declaredFormat: 'vmdk', allowParentHint: isDelta, signal });
      checked ??= parentOrChild; // the delta itself is checked first
      return parentOrChild;
    },
  });
  try {
    return { prepared, checked: checked!, virtualSizeBytes: await probedSize(prepared, checked!, signal) };
  } catch (err) {
    await prepared.release();
    throw err;
  }
}

/** checkImage on prepared bytes (its warnings reported), then, when `probe`, qemu-img's own opening under limits (probedSize). Releases them on failure. */
async function checkPrepared(drive: FileDrive, ctx: PrepareContext, prepared: PreparedSource, probe: boolean): Promise<Prepared> {
  const { signal } = ctx;
  try {
    const checked = await checkImage(prepared.source, { declaredFormat: prepared.source.format, ...(drive.capacityBytes > 0 ? { capacityBytes: drive.capacityBytes } : {}), signal });
    for (const w of checked.warnings) ctx.reporter.emit({ kind: 'warning', message: w });
    return { prepared, checked, virtualSizeBytes: probe ? await probedSize(prepared, checked, signal) : checked.virtualSizeBytes };
  } catch (err) {
    await prepared.release();
    throw err;
  }
}

/**
 * Has qemu-img open the checked image once under resource limits (imageInfo: CPU time, address
 * space, timeout), so an image that makes qemu's own parser spin or balloon is killed there and
 * not in the unlimited convert. The virtual size is the header's (checkImage), except for VHD:
 * qemu takes the footer's current size or the CHS geometry depending on the creator application
 * (block/vpc.c) while checkImage reports the larger, so only qemu-img knows the size it will copy.
 * @throws ToolError when qemu-img cannot open the image or a limit kills it.
 */
export async function probedSize(prepared: PreparedSource, checked: CheckedImage, signal: AbortSignal): Promise<number> {
  const info = await imageInfo(prepared.source, { signal });
  return checked.format === 'vpc' ? info.virtualSizeBytes : checked.virtualSizeBytes;
}

/** Writes the generated files (ovf-env.xml) onto an ISO in a private directory in `dir` (default os.tmpdir()); a raw image, its size its virtual size. */
export async function prepareGenerated(drive: GeneratedDrive, dir: string | undefined): Promise<Prepared> {
  const { dir: work, release } = await makeTempDir(dir ?? tmpdir(), 'virt-ovf-');
  const path = join(work, `${drive.content}.iso`);
  try {
    await makeIso(path, drive.volumeLabel, drive.files).catch(async (err: unknown) => {
      if (err instanceof ToolError && isNoSpaceText(err.stderr)) throw await noSpaceError(err, { path, what: err.message, remedy: 'choose another temporary directory', option: 'tempDir' });
      throw err;
    });
    const { size } = await stat(path);
    return { prepared: { source: { path, offset: 0, size, format: 'raw', label: `the ${drive.content} ISO` }, temporary: true, release }, virtualSizeBytes: size };
  } catch (err) {
    await release();
    throw err;
  }
}
