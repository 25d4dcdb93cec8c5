// Schema of mappings/system.json: domain-wide import rules that are no device row (clock, topology, firmware keys, names).
import { z } from 'zod';
import { IDE_CANNOT_GROW } from './rows.js';

const bus = z.enum(['ide', 'scsi', 'sata', 'virtio', 'usb']);
const imageFormat = z.enum(['vmdk', 'qcow2', 'raw', 'vpc', 'vhdx', 'vdi']);
const volumeFormat = z.enum(['qcow2', 'raw']);

/** The controller a drive goes to when its Item names no usable Parent (see defaults.json *BusWhenNoController). */
const fallbackControllerSchema = z.strictObject({
  /** libvirt <controller type>. */
  type: z.enum(['ide', 'scsi', 'sata', 'usb']),
  /** Which <address type='drive'> field takes the slot (as in devices.json controller rows). */
  address: z.enum(['unit', 'target', 'ide']),
  /** Highest slot: unit 0-5 on AHCI SATA, unit 0-1 per IDE bus. */
  maxAddress: z.number().int().nonnegative(),
  /** Whether a full one is joined by another of the same type (default true; as in devices.json controller rows). */
  grows: z.boolean().optional(),
}).refine((c) => c.address !== 'ide' || c.grows === false, IDE_CANNOT_GROW);

export const systemSchema = z.strictObject({
  $comment: z.string().optional(),
  /** <clock offset> by the guest's OS family (os.json); `default` when the family is unknown or not listed. */
  clock: z.strictObject({
    byOsFamily: z.partialRecord(z.enum(['linux', 'windows', 'other']), z.enum(['utc', 'localtime'])),
    default: z.enum(['utc', 'localtime']),
  }),
  /** Where producers record cores per socket: Item child elements (VirtualBox, oVirt), then vmw:Config keys. */
  coresPerSocket: z.strictObject({ itemKeys: z.array(z.string().min(1)), vmwConfigKeys: z.array(z.string().min(1)) }),
  /** Item child elements giving how many of a socket's CPUs (coresPerSocket) are threads of one core (virt-ovf's exports); 1 when absent. */
  threadsPerCore: z.strictObject({ itemKeys: z.array(z.string().min(1)) }),
  /** Producer firmware keys beyond defaults.json firmware (VMware): VirtualBox's Firmware element, oVirt's BiosType. */
  firmware: z.strictObject({
    /** Case-insensitive pattern a vbox:Machine/Hardware/Firmware type must match to mean EFI. */
    vboxEfiPattern: z.string().min(1),
    /** VirtualSystem child element holding oVirt's BiosType number (values in defaults.json firmware.ovirtBiosTypes). */
    ovirtBiosTypeElement: z.string().min(1),
    /** Machine type secure boot needs (OVMF's SMM build runs on q35 only). */
    secureBootMachine: z.enum(['pc', 'q35']),
  }),
  /** Item child elements holding a MAC when rasd:Address does not (oVirt's rasd:MACAddress). */
  macAddressKeys: z.array(z.string().min(1)),
  /** Buses whose drives take no <address type='drive'> (virtio-blk: one PCI device per disk). */
  busesWithoutDriveAddress: z.array(bus),
  /** Controller by bus for drives without a usable Parent. */
  fallbackControllers: z.record(bus, fallbackControllerSchema),
  /** Format of a drive's media when the Disk has no ovf:format: by device, then by href pattern (case-insensitive). */
  undeclaredFormat: z.strictObject({
    byDevice: z.partialRecord(z.enum(['disk', 'cdrom']), imageFormat),
    byHref: z.array(z.strictObject({ pattern: z.string().min(1), format: imageFormat })),
  }),
  /** Target volumes: CD-ROM media format, file name extensions, the format without a pool (the format in a pool is mappings/pools.json's). */
  volumes: z.strictObject({
    cdromFormat: volumeFormat,
    extensions: z.strictObject({ qcow2: z.string().min(1), raw: z.string().min(1), cdrom: z.string().min(1) }),
    /** Format when writing into a directory instead of a pool, or when no pool is asked (--print-xml). */
    formatWithoutPool: volumeFormat,
  }),
  /** The OVF environment CD-ROM (DSP0243 11.2, iso transport): ISO volume label and file name. */
  ovfEnvironment: z.strictObject({ volumeLabel: z.string().min(1).max(32), fileName: z.string().min(1) }),
  /** vmw:Config key naming the VMware NVRAM file, which is not carried over (a warning says so). */
  vmwNvramKey: z.string().min(1),
});

/** Validated mappings/system.json. */
export type SystemRules = z.infer<typeof systemSchema>;
