// checkFreeSpace: a directory (statfs) and a real libvirt pool (virStoragePoolGetInfo) refuse a disk that cannot fit (issue 4, case 4).

import assert from 'node:assert/strict';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LibvirtSetupError } from '../../src/errors.js';
import { Connection, definePool, lookupPool, type StoragePool } from '../../src/libvirt/index.js';
import { checkFreeSpace } from '../../src/storage/image-check.js';
import { ensureLibvirtd, scratchPool, TEST_URI, uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { scratchDir } from './helpers.js';

/** An assert.rejects validator: a LibvirtSetupError (exit 4) whose message matches `pattern`. */
function assertNoSpace(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof LibvirtSetupError, `a LibvirtSetupError, not ${String(e)}`);
    assert.equal(e.exitCode, 4);
    assert.match(e.message, pattern);
    return true;
  };
}

describe('checkFreeSpace', () => {
  let dir: string;
  let cleanupDir: () => Promise<void>;
  let scratch: ScratchPool;
  let conn: Connection;
  let pool: StoragePool;

  before(async () => {
    ({ dir, cleanup: cleanupDir } = await scratchDir());
    await ensureLibvirtd();
    scratch = await scratchPool();
    conn = Connection.open(TEST_URI);
    const found = lookupPool(conn, scratch.name);
    assert.ok(found);
    pool = found;
  });

  after(async () => {
    conn?.close();
    await scratch?.cleanup();
    await cleanupDir?.();
  });

  it('lets a disk that fits into a directory through, and refuses one that does not', async () => {
    await checkFreeSpace({ dir }, 4096, 'disk 1 (disk1.vmdk)');
    const st = await statfs(dir);
    const free = st.bavail * st.bsize;
    await assert.rejects(
      checkFreeSpace({ dir }, 2 ** 60, 'disk 1 (disk1.vmdk)'),
      assertNoSpace(new RegExp(`^disk 1 \\(disk1\\.vmdk\\) needs 1152921504606846976 bytes \\(1\\.0 EiB\\) but directory ${dir} has only \\d+ bytes \\(.*\\) free; free some space`)),
    );
    await assert.rejects(checkFreeSpace({ dir }, free + 2 ** 30, 'disk 2'), assertNoSpace(/^disk 2 needs \d+ bytes .* but directory/));
    await assert.rejects(checkFreeSpace({ dir: join(dir, 'missing') }, 1, 'disk 1'), assertNoSpace(/cannot measure the free space of .*missing: ENOENT/));
  });

  it('names the temporary directory as what to change when the temporary copies do not fit', async () => {
    await assert.rejects(checkFreeSpace({ dir }, 2 ** 60, 'temporary space for disk 1', { option: 'tempDir' }), (e: unknown) => {
      assertNoSpace(/^temporary space for disk 1 needs .* but directory .* free; free some space, or choose another temporary directory$/)(e);
      assert.equal((e as LibvirtSetupError).option, 'tempDir');
      return true;
    });
  });

  it('lets a disk that fits into a pool through, and refuses one larger than its available space', async () => {
    await checkFreeSpace(pool, 4096, 'disk 1 (disk1.vmdk)');
    const { availableBytes } = await pool.info();
    await assert.rejects(
      checkFreeSpace(pool, availableBytes + 2 ** 30, 'disk 1 (disk1.vmdk)'),
      assertNoSpace(new RegExp(`^disk 1 \\(disk1\\.vmdk\\) needs \\d+ bytes \\(.*\\) but pool "${scratch.name}" has only \\d+ bytes \\(.*\\) free; free some space, or choose another pool or output directory$`)),
    );
  });

  it('refuses a pool that is defined but not running', async () => {
    const name = uniqueName('virt-ovf-test-inactive');
    const defined = await definePool(conn, `<pool type='dir'><name>${name}</name><target><path>${dir}</path></target></pool>`);
    try {
      await assert.rejects(checkFreeSpace(defined, 1, 'disk 1'), assertNoSpace(new RegExp(`^pool "${name}" is not running \\(virStoragePoolState 0\\); start it with: virsh pool-start ${name}$`)));
    } finally {
      await defined.undefine();
    }
  });
});
