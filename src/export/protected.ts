// What an export never replaces, even when forced: the files the connection's domains and pools
// hold (every domain's disks, backing files, firmware and NVRAM; every pool's volumes).
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { LibvirtError } from '../errors.js';
import { ErrorCode, listAllDomains, listAllPools, VIR_DOMAIN_XML_INACTIVE, volumePath, type Connection, type Domain, type StoragePool } from '../libvirt/index.js';
import { plainChild, plainChildren } from '../xml/access.js';
import { parseXml, type XmlElement } from '../xml/parse.js';

/** A host file the connection's domains or pools hold, and who holds it (for the error message). */
export interface HeldFile {
  /** The path as libvirt names it (a file, a block device, a volume's path). */
  readonly path: string;
  /** e.g. `a disk of domain "web"`, `volume "a.qcow2" of pool "default"`. */
  readonly owner: string;
  /** For an inactive pool, whose volumes libvirt cannot list: every file directly in this directory is held. */
  readonly directory?: boolean;
}

/** A path as the kernel sees it: its real path and, when it exists, device and inode. */
interface Identity {
  readonly real: string;
  readonly inode?: string;
}

/**
 * Every host file held by the domains and pools of `conn`: for each domain (all of them,
 * running or not: virConnectListAllDomains), the `<source>` of each `<disk>` and its
 * `<backingStore>` chain (file, block device, or pool volume resolved with
 * virStorageVolGetPath), and the `<os>` loader, NVRAM, kernel, initrd and device tree, read from the inactive definition
 * and, for a running domain, the live one too; for each active pool, the path of each volume
 * (virConnectListAllStoragePools, virStoragePoolListAllVolumes, virStorageVolGetPath); for an
 * inactive pool, its `<target><path>` directory.
 * @throws LibvirtError when libvirt cannot list or describe them (a domain or pool that
 *   vanishes meanwhile is skipped).
 */
export async function heldFiles(conn: Connection): Promise<HeldFile[]> {
  const held = await heldByDomains(conn);
  for (const pool of await listAllPools(conn)) {
    try {
      held.push(...(await unlessGone(() => poolFiles(pool), [])));
    } finally {
      pool.free();
    }
  }
  return held;
}

/**
 * The host files the domains of `conn` hold (the first half of heldFiles): each domain's disk
 * sources with their backing chains, and its <os> files, from the inactive and (running) live
 * definitions. A volume is named by its path (virStorageVolGetPath).
 * @throws LibvirtError when libvirt cannot list or describe them.
 */
export async function heldByDomains(conn: Connection): Promise<HeldFile[]> {
  const held: HeldFile[] = [];
  for (const domain of await listAllDomains(conn)) {
    try {
      held.push(...(await unlessGone(() => domainFiles(conn, domain), [])));
    } finally {
      domain.free();
    }
  }
  return held;
}

/**
 * Skips an object that vanished or changed state between listing and reading (VIR_ERR_NO_DOMAIN,
 * NO_STORAGE_POOL, NO_STORAGE_VOL; OPERATION_INVALID for a pool stopped meanwhile, whose
 * files are then no volume of an active pool).
 */
async function unlessGone<T>(read: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await read();
  } catch (err) {
    const gone: number[] = [ErrorCode.NO_DOMAIN, ErrorCode.NO_STORAGE_POOL, ErrorCode.NO_STORAGE_VOL, ErrorCode.OPERATION_INVALID];
    if (err instanceof LibvirtError && gone.includes(err.code)) return fallback;
    throw err;
  }
}

/** The <os> children that name a host file the domain boots from or keeps state in. */
const OS_FILES = [['loader', 'firmware'], ['nvram', 'NVRAM'], ['kernel', 'kernel'], ['initrd', 'initrd'], ['dtb', 'device tree']] as const;

async function domainFiles(conn: Connection, domain: Domain): Promise<HeldFile[]> {
  const name = domain.name();
  const xmls = [await domain.xml(VIR_DOMAIN_XML_INACTIVE)];
  if (domain.isActive()) xmls.push(await domain.xml(0));
  const out: HeldFile[] = [];
  for (const xml of xmls) {
    const root = parseXml(xml, `domain XML of "${name}"`);
    const os = plainChild(root, 'os');
    for (const [element, what] of OS_FILES) {
      const text = plainChild(os, element)?.text;
      if (text) out.push({ path: text, owner: `the ${what} of domain "${name}"` });
    }
    for (const disk of plainChildren(plainChild(root, 'devices'), 'disk')) {
      for (const path of chainPaths(conn, disk)) out.push({ path, owner: `a disk of domain "${name}"` });
    }
  }
  return out;
}

/** The host paths of a <disk> (or <backingStore>) source and of its whole backing chain. */
function chainPaths(conn: Connection, el: XmlElement): string[] {
  const paths: string[] = [];
  for (let node: XmlElement | undefined = el; node; node = plainChild(node, 'backingStore')) {
    const src = plainChild(node, 'source');
    const a = (name: string): string | undefined => src?.attrs.get(name) || undefined;
    const path = a('file') ?? a('dev') ?? (a('pool') && a('volume') ? volumePath(conn, a('pool')!, a('volume')!) : undefined);
    if (path !== undefined) paths.push(path);
  }
  return paths;
}

async function poolFiles(pool: StoragePool): Promise<HeldFile[]> {
  const name = pool.name();
  if (!pool.isActive()) {
    const root = parseXml(await pool.xml(), `pool XML of "${name}"`);
    const dir = plainChild(plainChild(root, 'target'), 'path')?.text;
    return dir ? [{ path: dir, owner: `a file in the directory of inactive pool "${name}"`, directory: true }] : [];
  }
  const out: HeldFile[] = [];
  for (const vol of await pool.listVolumes()) {
    try {
      const path = await unlessGone(async () => vol.path(), undefined);
      if (path !== undefined) out.push({ path, owner: `volume "${vol.name()}" of pool "${name}"` });
    } finally {
      vol.free();
    }
  }
  return out;
}

/** Real path (of the parent, for a path that does not exist) and device:inode when it exists. */
async function identity(path: string): Promise<Identity> {
  const st = await stat(path).catch(() => undefined);
  const real = await realpath(path).catch(async () => join(await realpath(dirname(path)).catch(() => resolve(dirname(path))), basename(path)));
  return st ? { real, inode: `${st.dev}:${st.ino}` } : { real };
}

/**
 * Who holds `target` among `held` ({@link heldFiles}): the same real path (symbolic links
 * resolved), the same file under another name (device and inode), or a file directly in an
 * inactive pool's directory.
 * @returns the holder's description, or undefined when nothing holds it.
 */
export async function holderOf(target: string, held: readonly HeldFile[]): Promise<string | undefined> {
  const t = await identity(target);
  for (const h of held) {
    const id = await identity(h.path);
    if (h.directory) {
      if (dirname(t.real) === id.real) return h.owner;
      continue;
    }
    if (id.real === t.real || (t.inode !== undefined && id.inode === t.inode)) return h.owner;
  }
  return undefined;
}
