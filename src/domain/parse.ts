// libvirt domain XML (virDomainGetXMLDesc, inactive) to the DomainDescription export maps to OVF.
// Element and attribute meanings: https://libvirt.org/formatdomain.html.
import { LibvirtError, OvfParseError } from '../errors.js';
import { parseXml, type XmlElement } from '../ovf/xml.js';
import type { DriveAddress } from './model.js';
import { LIBOSINFO_NS } from './xml.js';

/** <controller type index model> ("Controllers"). */
export interface DomainController {
  /** ide, scsi, sata, usb, pci, virtio-serial, ... */
  readonly type: string;
  readonly index: number;
  /** e.g. virtio-scsi, lsilogic, vmpvscsi, qemu-xhci; absent when libvirt chooses. */
  readonly model?: string;
}

/** Where a disk's bytes are (<disk type> and <source>, "Hard drives, floppy disks, CDROMs"). */
export type DomainDiskSource =
  | { readonly type: 'file'; readonly path: string }
  | { readonly type: 'block'; readonly dev: string }
  | { readonly type: 'volume'; readonly pool: string; readonly volume: string }
  | { readonly type: 'network'; readonly protocol: string; readonly name: string }
  | { readonly type: 'none' };

/** <disk device>: a hard disk, CD-ROM, floppy or SCSI LUN. */
export interface DomainDisk {
  readonly device: 'disk' | 'cdrom' | 'floppy' | 'lun';
  /** <target bus>: ide, sata, scsi, virtio, usb, ... (from the dev prefix when absent, as libvirt does). */
  readonly bus: string;
  /** <target dev>, e.g. vda, sdb, hdc. */
  readonly dev: string;
  /** <driver type>: raw, qcow2, ... */
  readonly driverType?: string;
  readonly source: DomainDiskSource;
  /** <address type='drive'>; absent for PCI-attached (virtio) disks. */
  readonly address?: DriveAddress;
  readonly readonly: boolean;
  /** <boot order>, 1-based. */
  readonly bootOrder?: number;
}

/** <interface type> ("Network interfaces"). */
export interface DomainInterface {
  /** network, bridge, user, direct, ... */
  readonly type: string;
  /** <source network>, <source bridge> or <source dev>. */
  readonly source?: string;
  /** <model type>, e.g. virtio, e1000, vmxnet3; absent when libvirt chooses. */
  readonly model?: string;
  /** <mac address>, lower case. */
  readonly mac?: string;
}

/** What export needs from a domain definition. Sizes in bytes. */
export interface DomainDescription {
  readonly name: string;
  readonly uuid?: string;
  readonly title?: string;
  readonly description?: string;
  /** <memory> in bytes (the unit attribute applied; KiB when absent). */
  readonly memoryBytes: number;
  /** <vcpu>: the maximum vCPU count. */
  readonly vcpus: number;
  /** <vcpu current>: vCPUs online at boot, when fewer than `vcpus`. */
  readonly vcpusCurrent?: number;
  /** <cpu><topology>. */
  readonly topology?: { readonly sockets: number; readonly dies: number; readonly cores: number; readonly threads: number };
  /** <os><type arch>, e.g. x86_64. */
  readonly arch: string;
  /** <os><type machine>, e.g. pc-q35-8.2. */
  readonly machine?: string;
  readonly firmware: 'bios' | 'efi';
  readonly secureBoot: boolean;
  /** libosinfo id from <metadata><libosinfo:libosinfo><libosinfo:os id>. */
  readonly osinfo?: string;
  readonly controllers: readonly DomainController[];
  readonly disks: readonly DomainDisk[];
  readonly interfaces: readonly DomainInterface[];
  readonly videos: readonly { readonly model: string }[];
  readonly sounds: readonly { readonly model: string }[];
  /** <tpm model> with its <backend type version>. */
  readonly tpm?: { readonly model?: string; readonly backend: string; readonly version?: string };
}

/** libvirt's scaled-integer multipliers ("Memory Allocation"): binary with iB or alone, decimal with B. */
const SCALE: Record<string, bigint> = { k: 1n, m: 2n, g: 3n, t: 4n, p: 5n, e: 6n };

/** The error for domain XML that cannot be read: libvirt handed over something virt-ovf does not understand. */
function fail(why: string, cause?: unknown): LibvirtError {
  // VIR_ERR_XML_ERROR (27) from VIR_FROM_DOMAIN (20).
  const err = new LibvirtError('virDomainGetXMLDesc', 27, 20, `domain XML: ${why}`);
  if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause });
  return err;
}

/**
 * A libvirt scaled integer in bytes: `b`/`byte`/`bytes`; `k`,`KiB`,`M`,`MiB`... (powers of 1024);
 * `KB`,`MB`,`GB`... (powers of 1000); case-insensitive; `defaultUnit` when `unit` is absent.
 * @throws LibvirtError when the value is not a non-negative integer, the unit is unknown or
 *   the result exceeds 2^53 - 1.
 */
export function scaledToBytes(value: string, unit: string | undefined, where: string, defaultUnit = 'KiB'): number {
  const text = value.trim();
  const u = (unit ?? defaultUnit).trim().toLowerCase();
  if (!/^\d+$/.test(text)) throw fail(`${where}: "${value}" is not a non-negative integer`);
  let factor: bigint | undefined;
  if (u === 'b' || u === 'byte' || u === 'bytes') factor = 1n;
  else if (u[0] !== undefined && u[0] in SCALE) {
    const base = u.length === 1 || u.slice(1) === 'ib' ? 1024n : u.slice(1) === 'b' ? 1000n : undefined;
    if (base !== undefined) factor = base ** SCALE[u[0]]!;
  }
  if (factor === undefined) throw fail(`${where}: unknown unit "${unit}"`);
  const bytes = BigInt(text) * factor;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(`${where}: ${value} ${unit ?? defaultUnit} is too large`);
  return Number(bytes);
}

const kids = (el: XmlElement | undefined, local: string): XmlElement[] => (el ? el.children.filter((c) => c.local === local && c.ns === '') : []);
const kid = (el: XmlElement | undefined, local: string): XmlElement | undefined => kids(el, local)[0];
const int = (text: string | undefined): number | undefined => (text !== undefined && /^\s*\d+\s*$/.test(text) ? Number(text) : undefined);
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined || value === '' ? {} : { [key]: value }) as { [P in K]?: V };
}

/** libvirt's bus for a <target dev> without bus (virDomainDiskDefAssignAddress / qemu defaults). */
function busFromDev(dev: string): string {
  if (dev.startsWith('hd')) return 'ide';
  if (dev.startsWith('vd')) return 'virtio';
  if (dev.startsWith('xvd')) return 'xen';
  if (dev.startsWith('ub')) return 'usb';
  if (dev.startsWith('fd')) return 'fdc';
  return 'scsi';
}

function parseDisk(el: XmlElement, index: number): DomainDisk {
  const target = kid(el, 'target');
  const dev = target?.attrs.get('dev');
  if (!dev) throw fail(`<disk> number ${index + 1} has no <target dev>`);
  const device = el.attrs.get('device') ?? 'disk';
  if (device !== 'disk' && device !== 'cdrom' && device !== 'floppy' && device !== 'lun') throw fail(`<disk> ${dev}: unknown device "${device}"`);
  const src = kid(el, 'source');
  const type = el.attrs.get('type') ?? 'file';
  let source: DomainDiskSource = { type: 'none' };
  if (src && type === 'file' && src.attrs.get('file')) source = { type: 'file', path: src.attrs.get('file')! };
  else if (src && type === 'block' && src.attrs.get('dev')) source = { type: 'block', dev: src.attrs.get('dev')! };
  else if (src && type === 'volume' && src.attrs.get('pool') && src.attrs.get('volume')) source = { type: 'volume', pool: src.attrs.get('pool')!, volume: src.attrs.get('volume')! };
  else if (src && type === 'network') source = { type: 'network', protocol: src.attrs.get('protocol') ?? '', name: src.attrs.get('name') ?? '' };
  const addr = kids(el, 'address').find((a) => a.attrs.get('type') === 'drive');
  const num = (name: string): number => int(addr?.attrs.get(name)) ?? 0;
  return {
    device,
    dev,
    bus: target?.attrs.get('bus') ?? busFromDev(dev),
    source,
    readonly: kid(el, 'readonly') !== undefined,
    ...opt('driverType', kid(el, 'driver')?.attrs.get('type')),
    ...opt('address', addr ? { controller: num('controller'), bus: num('bus'), target: num('target'), unit: num('unit') } : undefined),
    ...opt('bootOrder', int(kid(el, 'boot')?.attrs.get('order'))),
  };
}

function parseInterface(el: XmlElement): DomainInterface {
  const type = el.attrs.get('type') ?? 'network';
  const src = kid(el, 'source');
  const source = src?.attrs.get(type === 'bridge' ? 'bridge' : type === 'network' ? 'network' : 'dev') ?? src?.attrs.get('network') ?? src?.attrs.get('bridge');
  return { type, ...opt('source', source), ...opt('model', kid(el, 'model')?.attrs.get('type')), ...opt('mac', kid(el, 'mac')?.attrs.get('address')?.toLowerCase()) };
}

/** EFI when <os firmware='efi'>, or a <loader> of type pflash or naming OVMF/edk2/AAVMF ("BIOS bootloader"). */
function parseFirmware(os: XmlElement | undefined): { firmware: 'bios' | 'efi'; secureBoot: boolean } {
  const loader = kid(os, 'loader');
  const efi =
    os?.attrs.get('firmware') === 'efi' ||
    (loader !== undefined && (loader.attrs.get('type') === 'pflash' || /ovmf|edk2|aavmf|qemu_efi/i.test(loader.text)));
  const feature = kids(kid(os, 'firmware'), 'feature').find((f) => f.attrs.get('name') === 'secure-boot');
  const secureBoot = efi && (feature?.attrs.get('enabled') === 'yes' || loader?.attrs.get('secure') === 'yes');
  return { firmware: efi ? 'efi' : 'bios', secureBoot };
}

/**
 * Parses the XML libvirt returns for a domain (virDomainGetXMLDesc, inactive definition).
 * Entities are never expanded and a DOCTYPE is refused (src/ovf/xml.ts, fast-xml-parser with
 * entity processing off). Memory honours the unit attribute (KiB when absent); vCPUs are
 * the <vcpu> maximum; firmware is EFI for <os firmware='efi'> or an OVMF/pflash <loader>,
 * with secure boot from <firmware><feature name='secure-boot' enabled='yes'> or
 * <loader secure='yes'>; the libosinfo id comes from the metadata virt-install writes.
 * @param xml the domain XML text.
 * @throws LibvirtError (virDomainGetXMLDesc, VIR_ERR_XML_ERROR) when the text is not
 *   well-formed, the root is not <domain>, <name> is missing, a <disk> has no <target dev> or
 *   an unknown device, or <memory>/<vcpu> cannot be read.
 */
export function parseDomainXml(xml: string): DomainDescription {
  let root: XmlElement;
  try {
    root = parseXml(xml, 'domain XML');
  } catch (err) {
    throw fail(err instanceof OvfParseError ? err.message.replace(/^domain XML:?\s*/, '') : String(err), err);
  }
  if (root.local !== 'domain' || root.ns !== '') throw fail(`the root element is <${root.qname}>, not <domain>`);
  const name = kid(root, 'name')?.text;
  if (!name) throw fail('<name> is missing');
  const memory = kid(root, 'memory');
  if (!memory) throw fail('<memory> is missing');
  const vcpu = kid(root, 'vcpu');
  const vcpus = int(vcpu?.text ?? '1');
  if (vcpus === undefined || vcpus < 1) throw fail(`<vcpu> "${vcpu?.text}" is not a positive integer`);
  const current = int(vcpu?.attrs.get('current'));
  const os = kid(root, 'os');
  const type = kid(os, 'type');
  const topo = kid(kid(root, 'cpu'), 'topology');
  const t = (n: string): number => int(topo?.attrs.get(n)) ?? 1;
  const devices = kid(root, 'devices');
  const osinfo = kid(root, 'metadata')
    ?.children.find((c) => c.ns === LIBOSINFO_NS && c.local === 'libosinfo')
    ?.children.find((c) => c.ns === LIBOSINFO_NS && c.local === 'os')
    ?.attrs.get('id');
  const tpm = kid(devices, 'tpm');
  const backend = kid(tpm, 'backend');
  return {
    name,
    memoryBytes: scaledToBytes(memory.text, memory.attrs.get('unit'), '<memory>'),
    vcpus,
    arch: type?.attrs.get('arch') ?? 'x86_64',
    ...parseFirmware(os),
    controllers: kids(devices, 'controller').map((c) => ({ type: c.attrs.get('type') ?? '', index: int(c.attrs.get('index')) ?? 0, ...opt('model', c.attrs.get('model')) })),
    disks: kids(devices, 'disk').map(parseDisk),
    interfaces: kids(devices, 'interface').map(parseInterface),
    videos: kids(devices, 'video').flatMap((v) => {
      const model = kid(v, 'model')?.attrs.get('type');
      return model ? [{ model }] : [];
    }),
    sounds: kids(devices, 'sound').map((s) => ({ model: s.attrs.get('model') ?? '' })),
    ...opt('uuid', kid(root, 'uuid')?.text),
    ...opt('title', kid(root, 'title')?.text),
    ...opt('description', kid(root, 'description')?.text),
    ...opt('vcpusCurrent', current !== undefined && current < vcpus ? current : undefined),
    ...opt('topology', topo ? { sockets: t('sockets'), dies: t('dies'), cores: t('cores'), threads: t('threads') } : undefined),
    ...opt('machine', type?.attrs.get('machine')),
    ...opt('osinfo', osinfo),
    ...opt('tpm', tpm ? { backend: backend?.attrs.get('type') ?? 'emulator', ...opt('model', tpm.attrs.get('model')), ...opt('version', backend?.attrs.get('version')) } : undefined),
  };
}
