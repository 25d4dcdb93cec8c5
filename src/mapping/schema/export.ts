// The schema of mappings/export.json: what export writes where the device tables have no row.
import { z } from 'zod';

const comment = { $comment: z.string().optional() };
const formats = z.enum(['raw', 'qcow2', 'vmdk', 'vpc', 'vhdx', 'vdi']);

/** How the drives of one libvirt <target bus> are laid out on export. */
const busSchema = z.strictObject({
  ...comment,
  /** One controller Item per libvirt controller, per IDE channel, or one for the whole domain (virtio-blk). */
  controllerItem: z.enum(['controller', 'channel', 'domain']),
  /** libvirt's default drive address (virDomainDiskDefAssignAddress): unit = dev index % units; the quotient is the bus or the controller. */
  driveAddress: z.strictObject({ units: z.number().int().positive(), next: z.enum(['bus', 'controller']) }),
  /** ddb.adapterType of a streamOptimized VMDK of a disk on this bus: a key of `vmdkAdapters`. */
  vmdkAdapterType: z.string().min(1),
  /** ElementName and Description of a domain-wide controller Item (controllerItem "domain"). */
  elementName: z.string().min(1).optional(),
  description: z.string().min(1).optional(),
});

/** How QEMU opens one network <source protocol>: its block driver, libvirt's default port, the layout of the driver's options. */
const networkSourceSchema = z.strictObject({
  driver: z.string().min(1),
  port: z.number().int().min(1).max(65535).optional(),
  layout: z.enum(['nbd', 'iscsi', 'rbd', 'gluster', 'url', 'ssh', 'nfs']),
  /** For a source with <auth>: the driver options naming the user and the secret object holding the libvirt secret's value (rbd: user, key-secret). */
  auth: z.strictObject({ user: z.string().min(1), secret: z.string().min(1) }).optional(),
});

/** The BIOS geometry a streamOptimized VMDK declares for one ddb.adapterType. */
const vmdkAdapterSchema = z.strictObject({ heads: z.number().int().min(1).max(255), maxCylinders: z.number().int().min(1) });

/** mappings/export.json, validated. */
export const exportSchema = z.strictObject({
  ...comment,
  /** rasd:AllocationUnits written for the processor and the memory Item (DSP0004 programmatic units). */
  allocationUnits: z.strictObject({ ...comment, processor: z.string().min(1), memory: z.string().min(1) }),
  /** Per-bus entries, each over busDefaults. */
  buses: z.record(z.string(), busSchema.partial()),
  busDefaults: busSchema,
  /** The ddb.adapterType values the bus rules may name, with their geometry. */
  vmdkAdapters: z.strictObject({ ...comment, types: z.record(z.string(), vmdkAdapterSchema) }),
  /** Prefixes of libvirt <target dev> names before the drive letters (sda, vdb, hdc, xvda). */
  /** libvirt's <tpm> model and emulator version when the definition leaves them out. */
  tpmWhenAbsent: z.strictObject({ ...comment, model: z.string().min(1), version: z.string().min(1) }),
  /** <tpm><backend type> values whose TPM is emulated and written; others (passthrough) use the host's TPM. */
  emulatedTpmBackends: z.array(z.string().min(1)),
  /** The ovf:transport (DSP0243 11.1) export declares while the domain has the ovf-env.xml CD-ROM import attached, so that re-import attaches it again. */
  environmentTransport: z.string().min(1),
  /** The model value libvirt uses for "no device" (<video><model type='none'>, <controller type='usb' model='none'>). */
  noDeviceModel: z.string().min(1),
  /** <interface type> values that pass a host device through: never written. */
  passthroughInterfaceTypes: z.array(z.string().min(1)),
  /** The os.json export family for an unknown libosinfo id, and what is written when it has no entry. */
  operatingSystemWhenUnknown: z.strictObject({ ...comment, family: z.enum(['linux', 'windows', 'other']), cimOsType: z.number().int().min(0).max(65535), vmwOsType: z.string().min(1) }),
  /** vmw:Config values for the firmware and secure boot keys of defaults.json. */
  firmwareValues: z.strictObject({ ...comment, bios: z.string().min(1), efi: z.string().min(1), secureBoot: z.string().min(1) }),
  /** Domain <disk>s whose bytes are carried: readable <driver type>s, the type when absent, the CD-ROM medium format, the <disk device>s carried. */
  sources: z.strictObject({ ...comment, formats: z.array(formats).min(1), driverTypeWhenAbsent: formats, cdromFormat: formats, devices: z.array(z.enum(['disk', 'cdrom'])).min(1) }),
  /** How a disk's <source> is opened as QEMU opens it (src/export/source-qemu.ts): protocol drivers of local <disk type>s and network protocols; formats that take a backing chain. */
  qemuSources: z.strictObject({
    ...comment,
    local: z.strictObject({ ...comment, file: z.string().min(1), block: z.string().min(1) }),
    network: z.record(z.string(), networkSourceSchema),
    backingFormats: z.array(formats),
  }),
  /** Package file names ({name}, {n}, {ext}) and the extension of each written format (cdrom: CD-ROM media). */
  fileNames: z.strictObject({
    ...comment,
    disk: z.string().min(1),
    cdrom: z.string().min(1),
    extensions: z.strictObject({ vmdk: z.string().min(1), qcow2: z.string().min(1), raw: z.string().min(1), cdrom: z.string().min(1) }),
  }),
}).superRefine((t, ctx) => {
  // Every bus rule names an adapter type the table gives a geometry for.
  const named = [['busDefaults'], t.busDefaults.vmdkAdapterType] as const;
  for (const [path, type] of [named, ...Object.entries(t.buses).map(([bus, r]) => [['buses', bus], r.vmdkAdapterType] as const)]) {
    if (type !== undefined && !Object.hasOwn(t.vmdkAdapters.types, type)) {
      ctx.addIssue({ code: 'custom', path: [...path, 'vmdkAdapterType'], message: `"${type}" is not one of vmdkAdapters.types (${Object.keys(t.vmdkAdapters.types).join(', ')})` });
    }
  }
});

/** The export table, validated. */
export type ExportTable = z.infer<typeof exportSchema>;
/** How QEMU opens one network protocol (an entry of qemuSources.network). */
export type NetworkSourceRule = z.infer<typeof networkSourceSchema>;
/** The ddb.adapterType of a streamOptimized VMDK and the geometry it declares (export.json vmdkAdapters). */
export interface VmdkAdapter {
  readonly type: string;
  readonly heads: number;
  readonly maxCylinders: number;
}
/** The storage rules of one bus (an entry of `buses` over `busDefaults`). */
export type BusRules = z.infer<typeof busSchema>;
