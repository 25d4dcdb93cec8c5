// Measures the temporary disk space a run really uses: $TMPDIR points at a fresh directory
// while it runs, which is watched (fs.watch) and sampled (allocated bytes) until it ends.
import { watch } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What {@link measureTemp} saw. Sizes in bytes. */
export interface TempUsage<T> {
  readonly result: T;
  /** Names created in the temporary directory (relative, in the order seen). */
  readonly created: readonly string[];
  /** Largest allocation (st_blocks × 512) of regular files in the directory at any sample. */
  readonly peakBytes: number;
  /** Entries still there when the run ended. */
  readonly left: readonly string[];
}

/** Allocated bytes of the regular files under `dir`. */
async function allocated(dir: string): Promise<number> {
  let total = 0;
  for (const rel of await readdir(dir, { recursive: true }).catch(() => [])) {
    const st = await stat(join(dir, rel)).catch(() => undefined);
    if (st?.isFile()) total += st.blocks * 512;
  }
  return total;
}

/**
 * Runs `fn` with $TMPDIR (and so os.tmpdir() and every child's TMPDIR) set to a fresh empty
 * directory, records every name created there and samples its allocated bytes every 5 ms;
 * restores $TMPDIR and removes the directory afterwards.
 */
export async function measureTemp<T>(fn: () => Promise<T>): Promise<TempUsage<T>> {
  const dir = await mkdtemp(join(tmpdir(), 'virt-ovf-temp-usage-'));
  const saved = process.env['TMPDIR'];
  const created: string[] = [];
  const watcher = watch(dir, { recursive: true }, (_event, name) => {
    if (name && !created.includes(name)) created.push(name);
  });
  let peakBytes = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakBytes = Math.max(peakBytes, await allocated(dir));
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  process.env['TMPDIR'] = dir;
  try {
    const result = await fn();
    sampling = false;
    await sampler;
    peakBytes = Math.max(peakBytes, await allocated(dir));
    return { result, created, peakBytes, left: await readdir(dir) };
  } finally {
    sampling = false;
    watcher.close();
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
    await rm(dir, { recursive: true, force: true });
  }
}
