// Which .mf is the package's manifest (DSP0243 5.1: the descriptor's base name): a .mf named after a disk is a digest list of that disk.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openArchive } from '../../src/archive/archive.js';
import { extraDigestLists, fileNamedAfter, findManifest } from '../../src/archive/manifest.js';
import { withTempDir } from './helpers.js';

async function pkg(dir: string, files: string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const f of ['vm.ovf', ...files]) await writeFile(join(dir, f), f.endsWith('.ovf') ? '<Envelope/>\n' : '');
  return dir;
}

describe('findManifest and digest lists named after a file', () => {
  it('does not take disk1.mf (beside disk1.vmdk) or disk1.vmdk.mf for the package manifest', async () => {
    await withTempDir(async (dir) => {
      const a = await openArchive(await pkg(join(dir, 'a'), ['disk1.vmdk', 'disk1.mf']));
      assert.equal(findManifest(a), undefined);
      assert.equal(fileNamedAfter(a, 'disk1.mf'), 'disk1.vmdk');
      assert.deepEqual(extraDigestLists(a, undefined), ['disk1.mf']);
      const b = await openArchive(await pkg(join(dir, 'b'), ['disk1.vmdk', 'disk1.vmdk.mf', 'checksums.mf']));
      assert.equal(findManifest(b), 'checksums.mf', 'the one .mf not named after a file is the manifest');
      assert.deepEqual(extraDigestLists(b, 'checksums.mf'), ['disk1.vmdk.mf']);
    });
  });

  it('still prefers the descriptor-named manifest, and still refuses to guess between two unrelated .mf files', async () => {
    await withTempDir(async (dir) => {
      const a = await openArchive(await pkg(join(dir, 'a'), ['disk1.vmdk', 'disk1.mf', 'vm.mf']));
      assert.equal(findManifest(a), 'vm.mf');
      assert.deepEqual(extraDigestLists(a, 'vm.mf'), ['disk1.mf']);
      const b = await openArchive(await pkg(join(dir, 'b'), ['disk1.vmdk', 'x.mf', 'y.mf']));
      assert.throws(() => findManifest(b), /several \.mf files \(x\.mf, y\.mf\)/);
    });
  });
});
