// Whether a conversion fits: the free space of a libvirt pool or a host directory.
import { statfs } from 'node:fs/promises';
import { LibvirtSetupError } from '../errors.js';
import type { StoragePool } from '../libvirt/index.js';
import { describeBytes } from './size-policy.js';

/**
 * Refuses a conversion that cannot fit: `neededBytes` against the free space of a libvirt pool
 * (virStoragePoolRefresh, best effort — it fails while another volume is being built — then
 * virStoragePoolGetInfo's `available`; for a dir pool libvirt counts f_bfree, blocks reserved
 * for root included, which is what root's qemu-img can fill) or of a directory (statfs(2):
 * f_bavail × f_bsize, what an unprivileged writer can fill).
 * `what` names the thing needing the space in the message, e.g. `disk 1 (disk1.vmdk)`;
 * `option` is the option that chooses the place (default `pool`; `tempDir` for temporary copies).
 * @throws LibvirtSetupError (exit 4, option `option`) "WHAT needs N bytes but pool X has only M
 *   bytes free", or when the pool is not running; LibvirtError when libvirt fails.
 */
export async function checkFreeSpace(target: StoragePool | { readonly dir: string }, neededBytes: number, what: string, opts: { option?: 'pool' | 'outputDir' | 'tempDir' } = {}): Promise<void> {
  const option = opts.option ?? 'pool';
  const { freeBytes: free, where } = await freeSpace(target, option);
  if (neededBytes > free) {
    const other = option === 'tempDir' ? 'another temporary directory' : 'another pool or output directory';
    throw new LibvirtSetupError(`${what} needs ${describeBytes(neededBytes)} but ${where} has only ${describeBytes(free)} free; free some space, or choose ${other}`, { option });
  }
}

/**
 * The bytes free in a libvirt pool (after a best-effort virStoragePoolRefresh, virStoragePoolGetInfo
 * `available`) or a directory (statfs(2): f_bavail × f_bsize), and how messages name the place.
 * @throws LibvirtSetupError (option `option` for a directory that cannot be measured) when the pool
 *   is not running; LibvirtError when libvirt fails.
 */
export async function freeSpace(target: StoragePool | { readonly dir: string }, option: 'pool' | 'outputDir' | 'tempDir' = 'pool'): Promise<{ freeBytes: number; where: string }> {
  if ('dir' in target) {
    const st = await statfs(target.dir).catch((err: Error) => Promise.reject(new LibvirtSetupError(`cannot measure the free space of ${target.dir}: ${err.message}`, { cause: err, option })));
    return { freeBytes: st.bavail * st.bsize, where: `directory ${target.dir}` };
  }
  await target.refresh().catch(() => undefined);
  const info = await target.info();
  const where = `pool "${target.name()}"`;
  if (info.state !== 2) throw new LibvirtSetupError(`${where} is not running (virStoragePoolState ${info.state}); start it with: virsh pool-start ${target.name()}`);
  return { freeBytes: info.availableBytes, where };
}
