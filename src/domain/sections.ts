// The domain's parts in document order: the one list both the writer (xml.ts) and the reader (parse.ts) walk.
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { DomainRules } from '../mapping/schema/domain.js';
import { plainChild } from '../xml/access.js';
import type { XmlElement } from '../xml/parse.js';
import { controllerElement } from './controller.js';
import { cpuSection, featuresSection } from './cpu.js';
import { graphicsElement, memballoonElement, serialConsole, soundElement, tpmElement, videoElement } from './devices.js';
import { channelElement, inputElement, rngElement } from './agents.js';
import { diskElement } from './disk.js';
import { readAll, type DomainSection } from './element.js';
import { identitySection, memorySection } from './general.js';
import { interfaceElement } from './interface.js';
import { clockSection, lifecycleSection } from './lifecycle.js';
import { metadataSection } from './metadata.js';
import type { DomainDescription } from './model.js';
import { osSection } from './os.js';

type DeviceKeys = 'controllers' | 'disks' | 'interfaces' | 'serialConsole' | 'serialLog' | 'channels' | 'inputs' | 'graphics' | 'videos' | 'sounds' | 'tpm' | 'memballoon' | 'rngs';

/** <devices>, in the order libvirt prints them: controllers, disks, interfaces, serial console, channels, inputs, graphics, video, sound, TPM, memballoon, RNGs. */
const devicesSection: DomainSection<DeviceKeys> = {
  read(root, rules: DomainRules) {
    const devices = plainChild(root, 'devices');
    const first = <T>(list: T[]): T | undefined => list[0];
    const graphics = first(readAll(devices, graphicsElement, rules));
    const tpm = first(readAll(devices, tpmElement, rules));
    const memballoon = first(readAll(devices, memballoonElement, rules));
    const some = <K extends string, T>(key: K, list: T[]): { [P in K]?: T[] } => (list.length > 0 ? ({ [key]: list } as { [P in K]?: T[] }) : {});
    return {
      controllers: readAll(devices, controllerElement, rules),
      disks: readAll(devices, diskElement, rules),
      interfaces: readAll(devices, interfaceElement, rules),
      ...serialConsole.read(devices, rules),
      ...some('channels', readAll(devices, channelElement, rules)),
      // libvirt adds PS/2 mouse and keyboard to every x86 domain; only the others are the domain's choice.
      ...some('inputs', readAll(devices, inputElement, rules).filter((i) => i.bus !== 'ps2')),
      ...some('rngs', readAll(devices, rngElement, rules)),
      videos: readAll(devices, videoElement, rules).filter((v) => v !== undefined),
      sounds: readAll(devices, soundElement, rules),
      ...(graphics ? { graphics } : {}),
      ...(tpm ? { tpm } : {}),
      ...(memballoon ? { memballoon } : {}),
    };
  },
  write(dom: XMLBuilder, d, rules) {
    const devices = dom.ele('devices');
    for (const c of d.controllers) controllerElement.write(devices, c, rules);
    for (const disk of d.disks) diskElement.write(devices, disk, rules);
    for (const nic of d.interfaces) interfaceElement.write(devices, nic, rules);
    serialConsole.write(devices, d, rules);
    for (const c of d.channels ?? []) channelElement.write(devices, c, rules);
    for (const i of d.inputs ?? []) inputElement.write(devices, i, rules);
    if (d.graphics) graphicsElement.write(devices, d.graphics, rules);
    for (const v of d.videos) videoElement.write(devices, v, rules);
    for (const s of d.sounds) soundElement.write(devices, s, rules);
    if (d.tpm) tpmElement.write(devices, d.tpm, rules);
    if (d.memballoon !== undefined) memballoonElement.write(devices, d.memballoon, rules);
    for (const r of d.rngs ?? []) rngElement.write(devices, r, rules);
  },
};

/** A section of any fields: what the writer and the reader need of each. */
interface AnySection {
  read(root: XmlElement, rules: DomainRules): Partial<DomainDescription>;
  write(dom: XMLBuilder, domain: DomainDescription, rules: DomainRules): void;
}

/** Every part of <domain>, in document order; each reads some of the fields. */
export const DOMAIN_SECTIONS: readonly AnySection[] = [
  identitySection,
  metadataSection,
  memorySection,
  osSection,
  featuresSection,
  cpuSection,
  clockSection,
  lifecycleSection,
  devicesSection,
];
