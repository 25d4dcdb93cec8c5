// Fills what a domain leaves unset from mappings/domain.json "defaults" (virtinst's set_defaults()):
// <features>, the CPU mode per domain type, the lifecycle actions, the memballoon, read-only CD-ROMs.
import type { DomainRules } from '../mapping/schema/domain.js';
import type { DomainDescription } from './model.js';

/**
 * The domain with every unset default filled: features (acpi, apic; smm with secure boot),
 * cpuMode by domain type (host-passthrough for kvm), onPoweroff/onReboot/onCrash, the
 * memballoon (virtio when a virtio NIC or disk exists, else none), readonly for CD-ROMs.
 * Fields already set are kept as they are.
 */
export function domainDefaults(domain: DomainDescription, rules: DomainRules): DomainDescription {
  const r = rules.defaults;
  const cpuMode = domain.cpuMode ?? (domain.type !== undefined && Object.hasOwn(r.cpuModeByDomainType, domain.type) ? r.cpuModeByDomainType[domain.type] : undefined);
  const balloon = r.memballoon;
  const virtio = domain.interfaces.some((n) => n.model !== undefined && balloon.whenInterfaceModels.includes(n.model)) || domain.disks.some((d) => balloon.whenDiskBuses.includes(d.bus));
  return {
    ...domain,
    features: domain.features ?? [...r.features.map((name) => ({ name })), ...(domain.secureBoot ? r.secureBootFeatures : [])],
    ...(cpuMode !== undefined ? { cpuMode } : {}),
    onPoweroff: domain.onPoweroff ?? r.lifecycle.onPoweroff,
    onReboot: domain.onReboot ?? r.lifecycle.onReboot,
    onCrash: domain.onCrash ?? r.lifecycle.onCrash,
    memballoon: domain.memballoon ?? (virtio ? balloon.model : balloon.otherwise),
    disks: domain.disks.map((d) => (d.readonly !== undefined ? d : { ...d, readonly: r.readonlyDevices.includes(d.device) })),
  };
}
