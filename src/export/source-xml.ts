// The storage source of each domain <disk> as libvirt describes it (formatdomain.html, "Hard
// drives, floppy disks, CDROMs": <source>, <host>, <slices>, <auth>, <backingStore>): what QEMU
// is told to open, read from the same domain XML the definition came from.
import { parseXml, type XmlElement } from '../xml/parse.js';
import { intText, opt, plainChild, plainChildren } from '../xml/access.js';
import type { SourceAuth } from '../domain/model.js';
import { readAuth } from '../domain/network-source.js';

/** One <host> of a network <source>: a TCP host and port, or a Unix socket (transport='unix'). */
export interface SourceHost {
  readonly name?: string;
  /** Port as written; the protocol's default (mappings/export.json qemuSources) when absent. */
  readonly port?: number;
  /** tcp (default), unix or rdma. */
  readonly transport?: string;
  /** Socket path of transport='unix'. */
  readonly socket?: string;
}

/** A storage source: a <disk>'s, or one <backingStore> of its chain (libvirt's virStorageSource). */
export interface StorageSource {
  /** <disk type> or <backingStore type>: file, block, volume, network, dir, nvme, vhostuser, ... */
  readonly type: string;
  /** <driver type> of a disk, <format type> of a backing store; absent when not written. */
  readonly format?: string;
  /** <source file> (file), <source dev> (block). */
  readonly path?: string;
  /** <source pool volume> (volume). */
  readonly pool?: string;
  readonly volume?: string;
  /** <source protocol name query tls> (network). */
  readonly protocol?: string;
  readonly name?: string;
  readonly query?: string;
  readonly tls?: boolean;
  readonly hosts: readonly SourceHost[];
  /** rbd: <snapshot name>, <config file>. */
  readonly snapshot?: string;
  readonly config?: string;
  /** https/ftps: <ssl verify='no'> turns certificate checks off. */
  readonly sslVerify?: boolean;
  /** <source> or <disk> has <auth> (a libvirt secret QEMU is handed). */
  readonly auth: boolean;
  /** That <auth>'s user and <secret type uuid|usage>, when complete. */
  readonly authRef?: SourceAuth;
  /** <source> or <disk> has <encryption> (a libvirt secret): export cannot read it. */
  readonly encrypted: boolean;
  /** <slices><slice type='storage' offset size>: the image is this byte range of the source (bytes). */
  readonly slice?: { readonly offset: number; readonly size: number };
  /**
   * The next image of the chain: a StorageSource (<backingStore> with a <source>), null when
   * the chain ends here (an empty <backingStore/>), undefined when not written (QEMU follows
   * the backing file the image itself names, as libvirt then does).
   */
  readonly backing?: StorageSource | null;
}

/** One <backingStore type> with its <format> and <source>, recursively; null for an empty one. */
function readBacking(el: XmlElement | undefined): StorageSource | null | undefined {
  if (!el) return undefined;
  if (!plainChild(el, 'source') || !el.attrs.get('type')) return null;
  return readSource(el, el.attrs.get('type')!, plainChild(el, 'format'));
}

/** The storage source of `el` (a <disk> or a <backingStore>) of type `type`; `formatEl` holds its type attribute. */
function readSource(el: XmlElement, type: string, formatEl: XmlElement | undefined): StorageSource {
  const src = plainChild(el, 'source');
  const a = (name: string): string | undefined => src?.attrs.get(name) || undefined;
  const slice = plainChildren(plainChild(src, 'slices'), 'slice').find((s) => s.attrs.get('type') === 'storage');
  const [offset, size] = [intText(slice?.attrs.get('offset')), intText(slice?.attrs.get('size'))];
  const hosts = plainChildren(src, 'host').map((h) => ({
    ...opt('name', h.attrs.get('name')),
    ...opt('port', intText(h.attrs.get('port'))),
    ...opt('transport', h.attrs.get('transport')),
    ...opt('socket', h.attrs.get('socket')),
  }));
  const verify = plainChild(src, 'ssl')?.attrs.get('verify');
  const backing = readBacking(plainChild(el, 'backingStore'));
  return {
    type,
    ...opt('format', formatEl?.attrs.get('type')),
    ...opt('path', a('file') ?? a('dev')),
    ...opt('pool', a('pool')),
    ...opt('volume', a('volume')),
    ...opt('protocol', a('protocol')),
    ...opt('name', a('name')),
    ...opt('query', a('query')),
    ...(a('tls') !== undefined ? { tls: a('tls') === 'yes' } : {}),
    hosts,
    ...opt('snapshot', plainChild(src, 'snapshot')?.attrs.get('name')),
    ...opt('config', plainChild(src, 'config')?.attrs.get('file')),
    ...(verify !== undefined ? { sslVerify: verify !== 'no' } : {}),
    auth: plainChild(src, 'auth') !== undefined || plainChild(el, 'auth') !== undefined,
    ...opt('authRef', readAuth(plainChild(src, 'auth') ?? plainChild(el, 'auth'))),
    encrypted: plainChild(src, 'encryption') !== undefined || plainChild(el, 'encryption') !== undefined,
    ...(offset !== undefined && size !== undefined ? { slice: { offset, size } } : {}),
    ...(backing !== undefined ? { backing } : {}),
  };
}

/**
 * The storage source of every <disk> of a domain XML (virDomainGetXMLDesc), by <target dev>;
 * a disk without <source> is absent. `diskType` is what a <disk> without a type attribute is
 * (domain.json read.diskType). The XML is the one the definition was parsed from, so it is
 * well-formed (parse errors propagate as OvfParseError).
 */
export function readStorageSources(xml: string, diskType: string): Map<string, StorageSource> {
  const root = parseXml(xml, 'domain XML');
  const out = new Map<string, StorageSource>();
  for (const disk of plainChildren(plainChild(root, 'devices'), 'disk')) {
    const dev = plainChild(disk, 'target')?.attrs.get('dev');
    if (!dev || !plainChild(disk, 'source')) continue;
    out.set(dev, readSource(disk, disk.attrs.get('type') ?? diskType, plainChild(disk, 'driver')));
  }
  return out;
}
