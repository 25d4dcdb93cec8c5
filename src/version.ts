// virt-ovf's version, read from package.json at load time.
import { readFileSync } from 'node:fs';

/** The package version, e.g. "0.1.0". */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
