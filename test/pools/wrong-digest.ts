// An OVA whose manifest gives its disk a wrong digest: import writes the disk, then fails the
// manifest check and rolls back (the tests of what a rollback leaves in an existing volume).
import { execa } from 'execa';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Unpacks `ova` into `dir`/wrong-digest, changes the first hex digit of the VMDK's digest in the
 * manifest and packs it again (OVF, manifest, disks: DSP0243 order). @returns the new OVA's path.
 */
export async function withWrongDiskDigest(ova: string, dir: string): Promise<string> {
  const unpacked = join(dir, 'wrong-digest');
  await mkdir(unpacked, { recursive: true });
  await execa('tar', ['xf', ova, '-C', unpacked]);
  const files = await readdir(unpacked);
  const mf = files.find((f) => f.endsWith('.mf'));
  if (!mf) throw new Error(`${ova} has no manifest`);
  const text = await readFile(join(unpacked, mf), 'utf8');
  const changed = text.replace(/(\.vmdk\)= )([0-9a-f])/, (_m, a: string, c: string) => `${a}${c === '0' ? '1' : '0'}`);
  if (changed === text) throw new Error(`${mf} names no VMDK digest`);
  await writeFile(join(unpacked, mf), changed);
  const out = join(dir, 'wrong-digest.ova');
  await execa('tar', ['cf', out, '-C', unpacked, files.find((f) => f.endsWith('.ovf'))!, mf, ...files.filter((f) => f.endsWith('.vmdk'))]);
  return out;
}
