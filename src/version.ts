// virt-ovf's version and installation root, found from this module's location.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory holding virt-ovf's package.json (and mappings/, man/): the first parent of
 * this module that has one, so it works from dist/src/ and from the single-file bundle.
 */
export const PACKAGE_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'mappings'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('virt-ovf: cannot find its package.json and mappings/ above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
})();

/** The package version, e.g. "0.1.0". */
export const VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
