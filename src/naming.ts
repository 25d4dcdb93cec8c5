// Names safe for libvirt (domain, volume) and for file names.

/** Longest domain name virt-ovf produces; volume names add a suffix to it. */
export const MAX_NAME_LENGTH = 64;

/**
 * Makes `name` safe as a libvirt domain name and as a file name: characters other than
 * letters, digits, `.`, `_`, `+` and `-` become `_` (so no `/`, `..` path step, control
 * character or space survives), leading dots and dashes are dropped, and the result is cut
 * to 64 characters. An empty result becomes `fallback`.
 */
export function safeName(name: string, fallback = 'ovf-import'): string {
  const cleaned = name
    .normalize('NFKC')
    .replace(/[^A-Za-z0-9._+-]+/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[._+-]+/, '')
    .slice(0, MAX_NAME_LENGTH)
    .replace(/[._+-]+$/, '');
  return cleaned === '' ? fallback : cleaned;
}
