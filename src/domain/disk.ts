// <disk type device> with driver, source, target, boot order, readonly and drive address
// ("Hard drives, floppy disks, CDROMs", formatdomain.html).
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { DomainRules } from '../mapping/schema/domain.js';
import { intText, opt, plainChild, plainChildren } from '../xml/access.js';
import type { XmlElement } from '../xml/parse.js';
import { domainXmlError, type DomainElement } from './element.js';
import type { DomainDisk, DomainDiskSource, DriveAddress } from './model.js';
import { readAuth, readHosts } from './network-source.js';
import { busFromDev } from './target-dev.js';

const DEVICES = ['disk', 'cdrom', 'floppy', 'lun'] as const;

/** <source> by <disk type>: file, block, volume, network; anything else (or no source) is none. */
function readSource(el: XmlElement, rules: DomainRules): DomainDiskSource {
  const src = plainChild(el, 'source');
  const a = (name: string): string | undefined => src?.attrs.get(name) || undefined;
  const type = el.attrs.get('type') ?? rules.read.diskType;
  if (src && type === 'file' && a('file')) return { type: 'file', path: a('file')! };
  if (src && type === 'block' && a('dev')) return { type: 'block', dev: a('dev')! };
  if (src && type === 'volume' && a('pool') && a('volume')) return { type: 'volume', pool: a('pool')!, volume: a('volume')! };
  if (src && type === 'network') return readNetworkSource(src);
  return { type: 'none' };
}

function writeSource(el: XMLBuilder, source: DomainDiskSource): void {
  if (source.type === 'volume') el.ele('source', { pool: source.pool, volume: source.volume });
  else if (source.type === 'file') el.ele('source', { file: source.path });
  else if (source.type === 'block') el.ele('source', { dev: source.dev });
  else if (source.type === 'network') writeNetworkSource(el, source);
}

/** <source protocol name> with its <host>s and <auth> (libvirt 3.9 reads <auth> inside <source>). */
function writeNetworkSource(el: XMLBuilder, source: DomainDiskSource & { type: 'network' }): void {
  const src = el.ele('source', { protocol: source.protocol, name: source.name });
  for (const h of source.hosts ?? []) src.ele('host', { name: h.name, ...(h.port !== undefined ? { port: h.port } : {}) });
  const auth = source.auth;
  if (auth) src.ele('auth', { username: auth.username }).ele('secret', { type: auth.secretType, ...(auth.uuid !== undefined ? { uuid: auth.uuid } : { usage: auth.usage }) });
}

function readNetworkSource(src: XmlElement): DomainDiskSource {
  const hosts = readHosts(src);
  const auth = readAuth(plainChild(src, 'auth'));
  return { type: 'network', protocol: src.attrs.get('protocol') ?? '', name: src.attrs.get('name') ?? '', ...(hosts.length > 0 ? { hosts } : {}), ...opt('auth', auth) };
}

function readAddress(el: XmlElement): DriveAddress | undefined {
  const addr = plainChildren(el, 'address').find((a) => a.attrs.get('type') === 'drive');
  const num = (name: string): number => intText(addr?.attrs.get(name)) ?? 0;
  return addr ? { controller: num('controller'), bus: num('bus'), target: num('target'), unit: num('unit') } : undefined;
}

export const diskElement: DomainElement<DomainDisk> = {
  element: 'disk',
  read(el, rules, index) {
    const target = plainChild(el, 'target');
    const dev = target?.attrs.get('dev');
    if (!dev) throw domainXmlError(`<disk> number ${index + 1} has no <target dev>`);
    const device = el.attrs.get('device') ?? rules.read.diskDevice;
    if (!(DEVICES as readonly string[]).includes(device)) throw domainXmlError(`<disk> ${dev}: unknown device "${device}"`);
    return {
      device: device as DomainDisk['device'],
      dev,
      bus: target?.attrs.get('bus') ?? busFromDev(dev, rules.targetDev),
      source: readSource(el, rules),
      readonly: plainChild(el, 'readonly') !== undefined,
      ...opt('driverType', plainChild(el, 'driver')?.attrs.get('type')),
      ...opt('address', readAddress(el)),
      ...opt('bootOrder', intText(plainChild(el, 'boot')?.attrs.get('order'))),
    };
  },
  write(devices, disk, rules) {
    const type = disk.source.type === 'none' ? rules.write.emptyDiskType : disk.source.type;
    const el = devices.ele('disk', { type, device: disk.device });
    if (disk.driverType !== undefined) el.ele('driver', { name: rules.write.diskDriverName, type: disk.driverType });
    writeSource(el, disk.source);
    el.ele('target', { dev: disk.dev, bus: disk.bus });
    if (disk.bootOrder !== undefined) el.ele('boot', { order: disk.bootOrder });
    if (disk.readonly) el.ele('readonly');
    const a = disk.address;
    if (a) el.ele('address', { type: 'drive', controller: a.controller, bus: a.bus, target: a.target, unit: a.unit });
  },
};
