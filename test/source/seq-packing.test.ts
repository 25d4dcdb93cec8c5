// Compressed OVAs (tar.gz, tar.xz, tar.zst, zip) and plain ones from standard input are imported in
// one pass (issue 11), from a file and through a pipe: the volume holds the appliance's disk.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeScratch, openScratch, poolVolumes, runCli } from '../commands/helpers.js';
import { uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { packAppliance, runPiped, sameContent, type Packed } from './seq-kit.js';

describe('compressed and piped packages import in one pass', () => {
  let pool: ScratchPool;
  let work: string;
  let packed: Packed;
  const domains: string[] = [];

  before(async () => {
    ({ pool, work } = await openScratch('seq-packing', { network: true }));
    packed = await packAppliance(join(work, 'app'));
  });
  after(() => closeScratch(pool, work, domains));

  const cases = [
    { packing: 'gzip', label: 'gzip-compressed tar' },
    { packing: 'xz', label: 'xz-compressed tar' },
    { packing: 'zstd', label: 'zstd-compressed tar' },
    { packing: 'zip', label: 'zip' },
    { packing: 'tar', label: 'tar' },
  ] as const;
  for (const c of cases) {
    for (const from of c.packing === 'tar' ? (['stdin'] as const) : (['file', 'stdin'] as const)) {
      test(`a ${c.label} package from ${from === 'file' ? 'a file' : 'a pipe on standard input'}: manifest verified, the volume holds the disk`, async () => {
        const name = uniqueName(`seq-${c.packing}-${from}`);
        domains.push(name);
        const pkg = packed[c.packing];
        const args = ['import', from === 'file' ? pkg : '-', '--pool', pool.name, '--name', name, '--virt-type', 'qemu'];
        const r = from === 'file' ? await runCli(args) : await runPiped(args, pkg);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, new RegExp(`Reading ${from === 'file' ? pkg.replace(/[.]/g, '\\.') : 'standard input'} in one pass \\(${c.label}\\)`));
        assert.match(r.stderr, /Manifest appliance\.mf: 2 file\(s\) verified over the streamed bytes/);
        const volume = `${name}-vmdisk1.qcow2`;
        assert.ok((await poolVolumes(pool)).includes(volume), 'the volume is in the pool');
        assert.ok(await sameContent(packed.app.rawDisk, join(pool.path, volume)), 'the volume holds the appliance disk byte for byte');
      });
    }
  }

  test('inspect - reads only the descriptor and says the package is read in one pass', async () => {
    const r = await runPiped(['inspect', '-', '--json'], packed.xz);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { package: { source: string; descriptor: string }; warnings: string[]; disks: { file?: string; present: boolean }[] };
    assert.equal(report.package.source, '-');
    assert.equal(report.package.descriptor, 'appliance.ovf');
    assert.deepEqual(report.disks.map((d) => d.file), ['appliance-disk1.vmdk']);
    assert.ok(report.warnings.some((w) => /read in one pass/.test(w)), report.warnings.join('\n'));
    assert.ok(!report.warnings.some((w) => /appliance-disk1\.vmdk" \(vmdk\) is copied/.test(w)), 'a VMDK declared streamOptimized streams: no temporary copy is announced');
  });
});
