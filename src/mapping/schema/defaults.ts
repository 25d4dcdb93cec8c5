// Schema of mappings/defaults.json: domain-wide defaults and the device profiles.
import { z } from 'zod';

/**
 * A device profile: the device tables consulted in order (first matching row wins), its machine
 * type, and the ids of the addedDevices rows every domain of the profile gets.
 */
export const profileSchema = z.strictObject({ tables: z.array(z.string()).min(1), machine: z.enum(['pc', 'q35']), addedDevices: z.array(z.string()).optional() });

/** What virt-install adds for the same OS (virtinst/guest.py), said beside each row. */
const why = { virtInstall: z.string().min(1) };

/**
 * A device no Item describes that a profile adds, as virt-install adds it to a new domain: a
 * USB tablet (pointer sync over VNC; only when the domain has graphics), the QEMU guest agent's
 * channel, a virtio RNG, a virtio memory balloon.
 */
export const addedDeviceSchema = z.discriminatedUnion('device', [
  z.strictObject({ device: z.literal('input'), type: z.enum(['tablet', 'mouse', 'keyboard']), bus: z.enum(['usb', 'virtio']), whenGraphics: z.boolean().optional(), ...why }),
  z.strictObject({ device: z.literal('channel'), type: z.literal('unix'), targetType: z.literal('virtio'), targetName: z.string().min(1), ...why }),
  z.strictObject({ device: z.literal('rng'), model: z.literal('virtio'), backendModel: z.enum(['random', 'builtin']), backendSource: z.string().min(1).optional(), ...why }),
  z.strictObject({ device: z.literal('memballoon'), model: z.string().min(1), ...why }),
]);
export type AddedDevice = z.infer<typeof addedDeviceSchema>;

/** The whole defaults.json (the built-in one holds every key; an overlay may hold any of them). */
export const defaultsSchema = z.strictObject({
  $comment: z.string().optional(),
  /** Profiles by name (--profile); an overlay adds profiles or replaces one of the same name. */
  profiles: z.record(z.string(), profileSchema),
  arch: z.string(),
  memoryUnitsWhenAbsent: z.string(),
  memoryMiBWhenAbsent: z.number().int().positive(),
  firmware: z.strictObject({
    vmwConfigKey: z.string(),
    efiValues: z.array(z.string()),
    secureBootVmwConfigKey: z.string(),
    /** oVirt's <BiosType> value to firmware: efi, or efi-secure for secure boot. */
    ovirtBiosTypes: z.record(z.string(), z.enum(['bios', 'efi', 'efi-secure'])),
  }),
  graphics: z.strictObject({ type: z.enum(['vnc', 'spice', 'none']), listen: z.string() }),
  serialConsole: z.boolean(),
  defaultNetwork: z.string(),
  cdromBusWhenNoController: z.enum(['ide', 'scsi', 'sata']),
  diskBusWhenNoController: z.enum(['ide', 'scsi', 'sata', 'virtio']),
  /** Rows a profile's addedDevices name, by id; an overlay replaces or adds rows by id. */
  addedDevices: z.record(z.string(), addedDeviceSchema),
  /** Export: vssd:VirtualSystemType written in System (one VMware and VirtualBox both accept). */
  export: z.strictObject({ virtualSystemType: z.string().min(1) }),
});

/** What an overlay defaults.json may hold: any subset of the keys. */
export const defaultsOverlaySchema = defaultsSchema.partial();

export type Defaults = z.infer<typeof defaultsSchema>;
export type Profile = z.infer<typeof profileSchema>;

/** Overlay keys replace built-in ones, except profiles and addedDevices rows, which merge by name. */
export function mergeDefaults(over: z.infer<typeof defaultsOverlaySchema>, base: Defaults): Defaults {
  return { ...base, ...over, profiles: { ...base.profiles, ...over.profiles }, addedDevices: { ...base.addedDevices, ...over.addedDevices } };
}
