// Schema of mappings/domain.json: the libvirt domain and OVF element rules src/domain and src/ovf apply.
import { z } from 'zod';
import { ResourceType } from '../../ovf/model.js';

const name = z.string().min(1);
/** A CIM ResourceType by its name in ovf/model.ts (DSP0243's CIM_ResourceAllocationSettingData), read as its number. */
const resourceType = z.enum(Object.keys(ResourceType) as [keyof typeof ResourceType, ...(keyof typeof ResourceType)[]]).transform((k) => ResourceType[k] as number);

/** mappings/domain.json. */
export const domainRulesSchema = z.strictObject({
  $comment: z.string().optional(),
  /** What a domain that leaves these unset gets when it is written (src/domain/defaults.ts). */
  defaults: z.strictObject({
    /** <features> children every domain gets, e.g. acpi, apic. */
    features: z.array(name),
    /** <features> children added when secure boot is on (SMM), with their state attribute. */
    secureBootFeatures: z.array(z.strictObject({ name, state: name.optional() })),
    /** <cpu mode> by <domain type>; types not listed get no mode (libvirt's default). */
    cpuModeByDomainType: z.record(z.string(), name),
    /** <on_poweroff>, <on_reboot>, <on_crash>. */
    lifecycle: z.strictObject({ onPoweroff: name, onReboot: name, onCrash: name }),
    /** <memballoon model>: `model` when a NIC model or disk bus listed is present, else `otherwise`. */
    memballoon: z.strictObject({ model: name, whenInterfaceModels: z.array(name), whenDiskBuses: z.array(name), otherwise: name }),
    /** <disk device> values that are always <readonly/>. */
    readonlyDevices: z.array(name),
    /** <cpu><topology dies> when the topology gives none. */
    topologyDies: z.number().int().positive(),
    /** <tpm><backend type> when the TPM gives none. */
    tpmBackend: name,
  }),
  /** Fixed values the domain writer emits. */
  write: z.strictObject({
    memoryUnit: z.enum(['KiB']),
    vcpuPlacement: name,
    osType: name,
    diskDriverName: name,
    /** <disk type> of a drive without a source (an empty CD-ROM). */
    emptyDiskType: name,
    secureBootFeature: name,
    enrolledKeysFeature: name,
    serial: z.strictObject({ type: name, targetPort: z.number().int().nonnegative(), logAppend: name }),
    console: z.strictObject({ type: name, targetType: name, targetPort: z.number().int().nonnegative() }),
    graphics: z.strictObject({ port: z.number().int(), autoport: name, listenType: name }),
  }),
  /** What libvirt implies when its XML leaves a value out (the domain reader). */
  read: z.strictObject({
    arch: name,
    memoryUnit: name,
    diskType: name,
    diskDevice: name,
    interfaceType: name,
    /** <loader type> values that mean UEFI firmware. */
    efiLoaderTypes: z.array(name),
    /** Case-insensitive pattern on the <loader> path that means UEFI firmware. */
    efiLoaderPattern: z.string().refine((p) => {
      try {
        return new RegExp(p) !== undefined;
      } catch {
        return false;
      }
    }, 'not a valid regular expression'),
  }),
  /** The <interface><source> attribute by <interface type>. */
  interfaceSource: z.strictObject({ byType: z.record(z.string(), name), otherwise: name }),
  /** <target dev> naming: the prefix written for a bus, and the bus read from a prefix. */
  targetDev: z.strictObject({
    prefixByBus: z.record(z.string(), z.string().regex(/^[a-z]+$/)),
    busByPrefix: z.record(z.string().regex(/^[a-z]+$/), name),
    busOtherwise: name,
  }),
  ovf: z.strictObject({
    /** OVF 2.0 element (DSP8023 2.0.1) for Items of these ResourceTypes; every other Item is an Item. */
    ovf2Elements: z.strictObject({ StorageItem: z.array(resourceType), EthernetPortItem: z.array(resourceType) }),
  }),
});

/** The validated contents of mappings/domain.json. */
export type DomainRules = z.infer<typeof domainRulesSchema>;
/** The OVF part of the rules, for the OVF writer. */
export type OvfRules = DomainRules['ovf'];
