// Small tmpfs mounts for the tests of full filesystems (root only): a pool, an output or temporary directory that fills up.
import { execa } from 'execa';
import { chmod, mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/** A mounted tmpfs and how to unmount it (idempotent, never throws). */
export interface Tmpfs {
  /** The mount point. */
  readonly path: string;
  unmount(): Promise<void>;
}

/**
 * Mounts a tmpfs of `sizeBytes` on a new directory `parent/label` (mode 0755, so QEMU's user can
 * traverse it). Returns undefined when not running as root (the caller skips and says why).
 */
export async function mountTmpfs(parent: string, label: string, sizeBytes: number): Promise<Tmpfs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const path = join(parent, label);
  await mkdir(path, { recursive: true });
  await execa('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', path]);
  await chmod(path, 0o755);
  let mounted = true;
  return {
    path,
    unmount: async () => {
      if (!mounted) return;
      mounted = false;
      await execa('umount', [path], { reject: false });
      await rmdir(path).catch(() => undefined);
    },
  };
}
