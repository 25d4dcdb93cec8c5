// The page cache before each measured command: dropped (cold) when this process may, else warmed.
import { writeFile } from 'node:fs/promises';
import { log } from './format.js';
import { readThrough, runSync } from './probe.js';

/** Cache policy decided once: drop before each run (cold), or warm-up reads (warm). */
let cacheMode: 'cold' | 'warm' | undefined;

/**
 * Cold mode: sync and drop the page cache, then re-warm only the two runtimes (node and
 * qemu-img executables) so the data reads are cold but neither tool pays for loading its
 * interpreter from disk. Warm mode (no permission): read the input files once.
 */
export async function prepareCache(inputs: string[]): Promise<void> {
  if (cacheMode !== 'warm') {
    try {
      runSync('sync', []);
      await writeFile('/proc/sys/vm/drop_caches', '3\n');
      cacheMode = 'cold';
      runSync(process.execPath, ['-e', '0']);
      runSync('qemu-img', ['--version']);
      return;
    } catch (err) {
      if (cacheMode === 'cold') throw err;
      cacheMode = 'warm';
      log(`cannot drop the page cache (${(err as Error).message}); measuring with a WARM cache`);
    }
  }
  for (const path of inputs) await readThrough(path);
}

/** The cache policy the runs used (warm until the first drop succeeded). */
export function cacheModeUsed(): 'cold' | 'warm' {
  return cacheMode ?? 'warm';
}
