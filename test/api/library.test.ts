// The public library (src/index.ts): what it exports, its defaults, flag-free errors, and no side effects on import.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { TEST_URI } from '../libvirt/harness.js';
import { DATA_DIR, PROJECT_ROOT } from '../ovf/helpers.js';

/** dist/src/index.js, the file package.json's "exports" names. */
const INDEX = join(PROJECT_ROOT, 'dist', 'src', 'index.js');

describe('the virt-ovf library', () => {
  it('installs no signal handler when imported, and exports the entry points, reporters and errors', async () => {
    const program = `
      const before = ['SIGINT', 'SIGTERM'].map((s) => process.listenerCount(s));
      const lib = await import(${JSON.stringify(pathToFileURL(INDEX).href)});
      const after = ['SIGINT', 'SIGTERM'].map((s) => process.listenerCount(s));
      console.log(JSON.stringify({ before, after, names: Object.keys(lib).sort() }));`;
    const r = await execa('node', ['--input-type=module', '-e', program]);
    const out = JSON.parse(String(r.stdout)) as { before: number[]; after: number[]; names: string[] };
    assert.deepEqual(out.after, out.before);
    for (const name of ['importPackage', 'inspectPackage', 'exportDomain', 'createReporter', 'silentReporter', 'ExitCode', 'VirtOvfError', 'UsageError', 'PackageError', 'OvfParseError', 'ManifestError', 'UnsupportedItemError', 'MappingError', 'LibvirtError', 'LibvirtSetupError', 'ToolError', 'InterruptedError']) {
      assert.ok(out.names.includes(name), `index.js exports ${name}`);
    }
  });

  it('imports with --print-xml semantics and the documented defaults (profile faithful, pool default)', async () => {
    const { importPackage, silentReporter } = await import(pathToFileURL(INDEX).href);
    const reporter = silentReporter();
    const result = await importPackage({ source: join(DATA_DIR, 'vmware-ovf10.ovf'), printXml: true, connect: TEST_URI, virtType: 'qemu', reporter });
    assert.equal(result.domain, 'tiny-vm');
    assert.equal(result.defined, false);
    assert.match(result.xml, /profile="faithful"/);
    assert.match(result.xml, /pool="default" volume="tiny-vm-vmdisk1\.qcow2"/);
    assert.match(reporter.warnings.join('\n'), /no file named "tiny-disk1\.vmdk"/, "the caller's reporter receives the warnings (the disk files are absent)");
  });

  it('inspects a package without options beyond its source', async () => {
    const { inspectPackage } = await import(pathToFileURL(INDEX).href);
    const report = await inspectPackage({ source: join(DATA_DIR, 'vmware-ovf10.ovf') });
    assert.equal(report.domain.name, 'tiny-vm');
    assert.equal(report.package.producer, 'VMware');
    assert.ok(report.disks.some((d: { device: string }) => d.device === 'disk'));
  });

  it('throws errors that name the option concerned instead of a CLI flag', async () => {
    const { inspectPackage, UsageError, MappingError } = await import(pathToFileURL(INDEX).href);
    const source = join(DATA_DIR, 'vmware-ovf10.ovf');
    await assert.rejects(inspectPackage({ source, profile: 'fastest' }), (err: InstanceType<typeof UsageError>) => {
      assert.ok(err instanceof UsageError);
      assert.equal(err.option, 'profile');
      assert.equal(err.exitCode, 2);
      assert.doesNotMatch(err.message, /--/);
      return true;
    });
    await assert.rejects(inspectPackage({ source, mappingsDir: join(DATA_DIR, 'no-such-dir') }), (err: InstanceType<typeof MappingError>) => {
      assert.ok(err instanceof MappingError);
      assert.equal(err.option, 'mappings');
      assert.doesNotMatch(err.message, /--/);
      return true;
    });
  });
});
