// A domain disk as QEMU opens it: the storage source of its <disk> (source-xml.ts) turned into
// QEMU block options (QAPI BlockdevOptions, as libvirt's qemu_block.c builds them): the format
// node, the protocol below it (a file, a block device, a network server), a <slices> byte range,
// and the <backingStore> chain. The rules per protocol are mappings/export.json `qemuSources`.
import { statSync } from 'node:fs';
import type { ExportTable, NetworkSourceRule } from '../mapping/schema/export.js';
import type { ImageFormat } from '../storage/qemu-img.js';
import type { SourceAuth } from '../domain/model.js';
import type { SourceHost, StorageSource } from './source-xml.js';

/** QEMU block options (BlockdevOptions) as JSON: `driver` and the driver's options. */
export type BlockNode = { readonly [key: string]: unknown };

/** A disk as the guest sees it: the QEMU block options that open it, and how to name it. */
export interface DiskView {
  /** For messages: the file, the block device, or the network source (protocol://host:port/name). */
  readonly path: string;
  /** Format driver of the top image (-f of qemu-img). */
  readonly format: ImageFormat;
  /** The whole view: the format node with its protocol node, byte range and backing chain. */
  readonly node: BlockNode;
  /** `path` is a local file or block device holding the top image as is (no slice): it may be read in place. */
  readonly local: boolean;
  /** The top image is a local file or block device (slice or not): QEMU's image locks guard it against a writer. */
  readonly held: boolean;
  /** Some image of the chain written in the domain XML is on a network server (qemu-img then reads the served disk, not the server). */
  readonly network: boolean;
  /** The libvirt secrets the view's nodes name by secret object id (an rbd key, an iSCSI password): QEMU needs a `--object secret` for each. */
  readonly secrets: readonly ViewSecret[];
}

/** A secret object a view's node names (its `key-secret`, `password-secret`) and the libvirt secret that holds its value. */
export interface ViewSecret {
  readonly id: string;
  readonly auth: SourceAuth;
}

/** Why a disk's source cannot be opened as QEMU would (the message says what and why, not which disk). */
export class SourceProblem extends Error {}

/** What viewOf needs besides the source: the rules, how a pool volume is found, the top format. */
export interface ViewContext {
  readonly table: ExportTable;
  /** The path of volume `volume` of pool `pool` (virStorageVolGetPath), undefined when either is missing. */
  readonly volumePath: (pool: string, volume: string) => string | undefined;
  /** The format of the top image: the <driver type>, or the CD-ROM medium format. */
  readonly format: string;
}

/**
 * The guest's view of storage source `src`: QEMU block options that open the top image with
 * format `ctx.format` over its protocol (file, host_device, or the network driver of its
 * <source protocol>), a <slices> byte range as a raw node, and for formats that take a backing
 * file (qemuSources.backingFormats) the <backingStore> chain as written (an empty one ends it;
 * none lets QEMU follow the image's own backing file, as libvirt does).
 * @throws SourceProblem when the source cannot be opened: an unknown type or protocol, a missing
 *   volume, host or format, a secret export does not hand over (<encryption>, <auth> of a
 *   protocol whose qemuSources rule has no `auth`) or TLS.
 */
export function viewOf(src: StorageSource, ctx: ViewContext): DiskView {
  const format = checkFormat(ctx.format, ctx.table);
  const secrets: ViewSecret[] = [];
  const { node, path, local, held, network } = imageNode(src, format, { ...ctx, secrets });
  return { path, format, node, local, held, network, secrets };
}

/** The view of a local image file (a backup copy) of `format`, alone (no backing file). */
export function fileView(path: string, format: ImageFormat, table: ExportTable): DiskView {
  return { path, format, node: { driver: format, file: { driver: table.qemuSources.local.file, filename: path }, backing: null }, local: true, held: true, network: false, secrets: [] };
}

/**
 * The json: pseudo-filename qemu-img opens with `-f view.format`: the view without its top
 * driver. `top` leaves the backing chain out (`qemu-img info` refuses backing options).
 */
export function viewFilename(view: DiskView, table: ExportTable, opts: { top?: boolean } = {}): string {
  const { driver: _driver, ...rest } = view.node;
  const alone = opts.top && (table.qemuSources.backingFormats as readonly string[]).includes(view.format) ? { ...rest, backing: null } : rest;
  return `json:${JSON.stringify(alone)}`;
}

function checkFormat(format: string | undefined, table: ExportTable): ImageFormat {
  if (format === undefined) throw new SourceProblem('its <backingStore> names no <format>');
  if (!(table.sources.formats as readonly string[]).includes(format)) throw new SourceProblem(`driver type "${format}" cannot be read by qemu-img`);
  return format as ImageFormat;
}

/** The format node of one image of the chain, recursively. */
function imageNode(src: StorageSource, format: ImageFormat, ctx: ViewContext & { secrets: ViewSecret[] }): { node: BlockNode; path: string; local: boolean; held: boolean; network: boolean } {
  const rule = src.type === 'network' && Object.hasOwn(ctx.table.qemuSources.network, src.protocol ?? '') ? ctx.table.qemuSources.network[src.protocol!] : undefined;
  if (src.auth && !(src.authRef && rule?.auth)) throw new SourceProblem(`it needs the libvirt secret of its <auth>, which export does not hand to QEMU for ${src.type === 'network' ? `${src.protocol} sources` : 'this source'}`);
  if (src.encrypted) throw new SourceProblem('it is encrypted with a libvirt secret (<encryption>), which export does not read');
  const proto = protocolNode(src, ctx);
  if (src.auth && src.authRef && rule?.auth) {
    const id = `virt-ovf-secret-${ctx.secrets.length}`;
    ctx.secrets.push({ id, auth: src.authRef });
    proto.node = { ...proto.node, [rule.auth.user]: src.authRef.username, [rule.auth.secret]: id };
  }
  const file = src.slice ? { driver: 'raw', offset: src.slice.offset, size: src.slice.size, file: proto.node } : proto.node;
  const node: Record<string, unknown> = { driver: format, file };
  let network = !proto.local;
  if ((ctx.table.qemuSources.backingFormats as readonly string[]).includes(format) && src.backing !== undefined) {
    const backing = src.backing === null ? null : imageNode(src.backing, checkFormat(src.backing.format, ctx.table), ctx);
    node['backing'] = backing?.node ?? null;
    network ||= backing?.network ?? false;
  }
  return { node, path: proto.path, local: proto.local && !src.slice, held: proto.local, network };
}

/** The protocol node of a source: the file or block device, or the network driver's options. */
function protocolNode(src: StorageSource, ctx: ViewContext): { node: BlockNode; path: string; local: boolean } {
  const local = ctx.table.qemuSources.local;
  if ((src.type === 'file' || src.type === 'block') && src.path) return { node: { driver: local[src.type], filename: src.path }, path: src.path, local: true };
  if (src.type === 'volume' && src.pool && src.volume) {
    const path = ctx.volumePath(src.pool, src.volume);
    if (path === undefined) throw new SourceProblem(`volume "${src.volume}" not found in pool "${src.pool}"`);
    const st = path.startsWith('/') ? statOrUndefined(path) : undefined;
    if (!st) throw new SourceProblem(`volume "${src.volume}" of pool "${src.pool}" is not a local file or block device (${path})`);
    return { node: { driver: st.isBlockDevice() ? local.block : local.file, filename: path }, path, local: true };
  }
  if (src.type === 'network') return networkNode(src, ctx.table);
  throw new SourceProblem(`a <disk type='${src.type}'> source is not one export reads (file, block, volume, network)`);
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** host:port for URLs and portals (IPv6 addresses in brackets). */
function hostPort(h: SourceHost, rule: NetworkSourceRule): string {
  const host = h.name!.includes(':') ? `[${h.name}]` : h.name!;
  const port = h.port ?? rule.port;
  return port === undefined ? host : `${host}:${port}`;
}

/** A QAPI SocketAddress: inet host and port (as a string), or a Unix socket. */
function socketAddress(h: SourceHost, rule: NetworkSourceRule): BlockNode {
  if (h.transport === 'unix') return { type: 'unix', path: h.socket };
  return { type: 'inet', host: h.name, ...(h.port ?? rule.port ? { port: String(h.port ?? rule.port) } : {}) };
}

/** A network <source protocol name> with its <host>s, as QEMU's block driver of that protocol takes it. */
function networkNode(src: StorageSource, table: ExportTable): { node: BlockNode; path: string; local: boolean } {
  const protocol = src.protocol ?? '';
  const rule = Object.hasOwn(table.qemuSources.network, protocol) ? table.qemuSources.network[protocol]! : undefined;
  if (!rule) throw new SourceProblem(`network protocol "${protocol}" is not one export opens (${Object.keys(table.qemuSources.network).join(', ')})`);
  if (src.tls) throw new SourceProblem(`its ${protocol} connection uses TLS with libvirt's certificates, which export does not read`);
  const hosts = src.hosts.filter((h) => (h.transport === 'unix' ? h.socket : h.name));
  if (hosts.length === 0) throw new SourceProblem(`its ${protocol} <source> has no <host>`);
  if (rule.layout !== 'nbd' && rule.layout !== 'gluster' && hosts.some((h) => h.transport === 'unix')) throw new SourceProblem(`${protocol} over a Unix socket is not supported`);
  const name = src.name ?? '';
  const first = hosts[0]!;
  const path = `${protocol}://${first.transport === 'unix' ? `unix:${first.socket}` : hostPort(first, rule)}/${name}`;
  const node = ((): BlockNode => {
    const driver = rule.driver;
    switch (rule.layout) {
      case 'nbd':
        return { driver, server: socketAddress(first, rule), ...(name ? { export: name } : {}) };
      case 'iscsi': {
        const slash = name.lastIndexOf('/');
        const lun = slash >= 0 ? Number(name.slice(slash + 1)) : 0;
        return { driver, transport: 'tcp', portal: hostPort(first, rule), target: slash >= 0 ? name.slice(0, slash) : name, lun: Number.isInteger(lun) ? lun : 0 };
      }
      case 'rbd': {
        const parts = name.split('/');
        if (parts.length < 2 || parts.length > 3) throw new SourceProblem(`rbd name "${name}" is not pool/image or pool/namespace/image`);
        return { driver, pool: parts[0], ...(parts.length === 3 ? { namespace: parts[1] } : {}), image: parts.at(-1), ...(src.snapshot ? { snapshot: src.snapshot } : {}), ...(src.config ? { conf: src.config } : {}), server: hosts.map((h) => ({ host: h.name, port: String(h.port ?? rule.port) })) };
      }
      case 'gluster': {
        const slash = name.indexOf('/');
        if (slash <= 0) throw new SourceProblem(`gluster name "${name}" is not volume/path`);
        return { driver, volume: name.slice(0, slash), path: name.slice(slash + 1), server: hosts.map((h) => socketAddress(h, rule)) };
      }
      case 'url':
        return { driver, url: `${protocol}://${hostPort(first, rule)}/${name.replace(/^\//, '')}${src.query ? `?${src.query}` : ''}`, ...(src.sslVerify === false ? { sslverify: false } : {}) };
      case 'ssh':
        return { driver, server: { host: first.name, port: String(first.port ?? rule.port) }, path: name.startsWith('/') ? name : `/${name}` };
      case 'nfs':
        return { driver, server: { type: 'inet', host: first.name }, path: name.startsWith('/') ? name : `/${name}` };
    }
  })();
  return { node, path, local: false };
}
