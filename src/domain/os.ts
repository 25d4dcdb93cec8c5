// <os>: <type arch machine>, UEFI firmware through libvirt's automatic selection and its
// secure-boot feature, or (read only) an OVMF <loader> ("BIOS bootloader", formatdomain.html).
import type { DomainRules } from '../mapping/schema/domain.js';
import { opt, plainChild, plainChildren } from '../xml/access.js';
import type { XmlElement } from '../xml/parse.js';
import type { DomainSection } from './element.js';

/** EFI when <os firmware='efi'>, or a <loader> of an EFI type or path; secure boot from the firmware feature or <loader secure='yes'>. */
function readFirmware(os: XmlElement | undefined, rules: DomainRules): { firmware: 'bios' | 'efi'; secureBoot: boolean } {
  const loader = plainChild(os, 'loader');
  const efi =
    os?.attrs.get('firmware') === 'efi' ||
    (loader !== undefined && (rules.read.efiLoaderTypes.includes(loader.attrs.get('type') ?? '') || new RegExp(rules.read.efiLoaderPattern, 'i').test(loader.text)));
  const feature = plainChildren(plainChild(os, 'firmware'), 'feature').find((f) => f.attrs.get('name') === rules.write.secureBootFeature);
  const secureBoot = efi && (feature?.attrs.get('enabled') === 'yes' || loader?.attrs.get('secure') === 'yes');
  return { firmware: efi ? 'efi' : 'bios', secureBoot };
}

/** Written: `<os firmware='efi'>` with `<feature enabled='yes|no' name='secure-boot'/>` (and enrolled-keys with secure boot). */
export const osSection: DomainSection<'arch' | 'machine' | 'firmware' | 'secureBoot'> = {
  read(root, rules) {
    const os = plainChild(root, 'os');
    const type = plainChild(os, 'type');
    return { arch: type?.attrs.get('arch') ?? rules.read.arch, ...opt('machine', type?.attrs.get('machine')), ...readFirmware(os, rules) };
  },
  write(dom, d, rules) {
    const w = rules.write;
    const os = dom.ele('os', d.firmware === 'efi' ? { firmware: 'efi' } : {});
    os.ele('type', { arch: d.arch, ...(d.machine !== undefined ? { machine: d.machine } : {}) }).txt(w.osType);
    if (d.firmware === 'efi') {
      const fw = os.ele('firmware');
      fw.ele('feature', { enabled: d.secureBoot ? 'yes' : 'no', name: w.secureBootFeature });
      if (d.secureBoot) fw.ele('feature', { enabled: 'yes', name: w.enrolledKeysFeature });
    }
  },
};
