// Writes an unpacked OVF package: each file as NAME.part (created with O_EXCL), all moved into
// place together at the end by the output guard (output.ts), so nothing that existed is touched
// before the package is complete.
import { createHash } from 'node:crypto';
import { mkdir, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { formatManifest } from '../archive/manifest.js';
import { PackageError } from '../errors.js';
import type { Ticket } from '../journal/journal.js';
import { partRemedy } from '../journal/stale.js';
import { openExclusive } from '../journal/tracked.js';
import { writeEnvelope } from '../ovf/write.js';
import { finalEnvelope, streamDisk, type PackageInput, type WrittenFile } from './members.js';
import type { Placement } from './output.js';
import { signManifest } from './sign.js';

/**
 * Writes the package into directory `dir` (created with its missing parents): the disk files
 * in References order, then the OVF, the manifest and the certificate. Each is written as
 * `NAME.part` and synced; the guard then gives all of them their names. On failure the
 * `.part` files and the directories this call created are removed.
 * @returns every file written, the OVF first.
 * @throws PackageError when a `.part` exists or a file cannot be written; UsageError from the
 *   guard; ToolError from qemu-img.
 */
export async function writeDirectory(input: PackageInput, dir: string, names: { ovf: string; mf: string; cert: string }): Promise<WrittenFile[]> {
  const { opts, disks, reporter } = input;
  const alg = opts.manifest === 'none' ? undefined : opts.manifest;
  const sizes = new Map<string, number>();
  const populated = new Map<string, number>();
  const digests = new Map<string, string>();
  const made = await mkdir(dir, { recursive: true }).catch((cause: NodeJS.ErrnoException) => {
    throw new PackageError(`${dir}: cannot create the package directory: ${cause.message}`, { file: dir, cause });
  });
  const parts: Placement[] = [];
  const tickets: Ticket[] = []; // the .part files' entries in the run journal
  const create = async (name: string): Promise<FileHandle> => {
    const file = { part: join(dir, `${name}.part`), final: join(dir, name) };
    const { handle, ticket } = await openExclusive(file.part, 0o644).catch((cause: NodeJS.ErrnoException) => {
      throw new PackageError(cause.code === 'EEXIST' ? `${file.part} already exists; ${partRemedy(file.part)}` : `${file.part}: cannot create: ${cause.message}`, { file: file.part, cause });
    });
    parts.push(file);
    tickets.push(ticket);
    return handle;
  };
  const close = async (fh: FileHandle, ok: boolean): Promise<void> => {
    try {
      if (ok) await fh.sync();
    } finally {
      await fh.close();
    }
  };
  try {
    for (const d of disks) {
      reporter.emit({ kind: 'stage', message: `Writing ${d.image.href}` });
      const fh = await create(d.image.href);
      const hash = alg ? createHash(alg) : undefined;
      let [size, ok] = [0, false];
      try {
        const r = await streamDisk(d, { write: async (c) => { hash?.update(c); size += c.length; await fh.write(c); } }, input);
        if (r.populatedBytes !== undefined) populated.set(d.image.href, r.populatedBytes);
        ok = true;
      } finally {
        await close(fh, ok);
      }
      sizes.set(d.image.href, size);
      if (hash) digests.set(d.image.href, hash.digest('hex'));
    }
    const ovf = Buffer.from(writeEnvelope(finalEnvelope(input.envelope, sizes, populated), { version: opts.ovfVersion, rules: input.ovfRules }));
    const files: { name: string; content: Buffer }[] = [{ name: names.ovf, content: ovf }];
    if (alg) {
      digests.set(names.ovf, createHash(alg).update(ovf).digest('hex'));
      const mf = formatManifest(alg, [names.ovf, ...disks.map((d) => d.image.href)].map((n) => ({ name: n, digest: digests.get(n)! })));
      files.push({ name: names.mf, content: mf });
      if (opts.signKey) files.push({ name: names.cert, content: signManifest(mf, names.mf, opts.signKey, opts.signCert!, alg) });
    }
    for (const f of files) {
      const fh = await create(f.name);
      await fh.writeFile(f.content).then(() => close(fh, true), (err: unknown) => close(fh, false).then(() => Promise.reject(err)));
    }
    await input.guard.place(parts);
    for (const t of tickets) t.forget();
    return [...files.map((f) => ({ name: f.name, sizeBytes: f.content.length })), ...disks.map((d) => ({ name: d.image.href, sizeBytes: sizes.get(d.image.href)!, ...(digests.has(d.image.href) ? { digest: digests.get(d.image.href)! } : {}) }))];
  } catch (err) {
    for (const f of parts) await rm(f.part, { force: true });
    for (const t of tickets) t.forget();
    if (made !== undefined) await removeCreated(dir, resolve(made));
    throw err;
  }
}

/** Removes `dir` and its parents up to `made` (the first directory mkdir created), each only if empty. */
async function removeCreated(dir: string, made: string): Promise<void> {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (!(await rmdir(d).then(() => true, () => false)) || d === made || dirname(d) === d) return;
  }
}
