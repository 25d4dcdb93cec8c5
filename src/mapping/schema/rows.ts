// Schema of a device table (mappings/devices.json, virtio.json, or any other non-fixed table): RASD Items to libvirt devices.
import { z } from 'zod';

/** An IDE-addressed controller is a channel of libvirt's one IDE controller, which no second one joins. */
export const IDE_CANNOT_GROW = { message: 'a controller with "address": "ide" is a channel of libvirt\'s one IDE controller: set "grows": false', path: ['grows'] };

/** How a controller row attaches the drives under it. */
export const controllerSchema = z
  .strictObject({
  /** libvirt <controller type>. */
  type: z.enum(['ide', 'scsi', 'sata', 'usb', 'virtio-serial']),
  /** libvirt <controller model>, e.g. vmpvscsi, lsisas1068, lsilogic, virtio-scsi. */
  model: z.string().optional(),
  /** libvirt <target bus> for hard disks on this controller. */
  diskBus: z.enum(['ide', 'scsi', 'sata', 'virtio', 'usb']),
  /** libvirt <target bus> for CD-ROMs (default: diskBus). */
  cdromBus: z.enum(['ide', 'scsi', 'sata', 'usb']).optional(),
  /** Which <address type='drive'> field takes rasd:AddressOnParent: unit (lsilogic, sata), target (pvscsi, lsisas1068, virtio-scsi), ide (bus from the controller's rasd:Address, unit from AddressOnParent). */
  address: z.enum(['unit', 'target', 'ide']),
  /** Highest AddressOnParent the emulated device accepts. */
  maxAddress: z.number().int().nonnegative(),
  /** Machine type the controller needs (IDE needs pc/i440fx). */
  machine: z.enum(['pc', 'q35']).optional(),
  /**
   * Whether drives beyond maxAddress go to an additional controller of the same type and model
   * (default true). false: more drives than addresses is an error naming the count (IDE).
   */
  grows: z.boolean().optional(),
  })
  .refine((c) => c.address !== 'ide' || c.grows === false, IDE_CANNOT_GROW);

/** One row: which RASD Items it matches (ResourceType, ResourceSubType, ...) and the libvirt device it makes. */
export const rowSchema = z.strictObject({
  id: z.string().min(1),
  resourceTypes: z.array(z.number().int().nonnegative()).min(1),
  subTypes: z.array(z.string().min(1)).optional(),
  systemTypes: z.string().optional(),
  /** Other child elements of the Item that must match (case-insensitive; "*" = present), for dialects such as oVirt's <Type>/<Device>. */
  extra: z.record(z.string(), z.string()).optional(),
  kind: z.enum(['processor', 'memory', 'controller', 'disk', 'cdrom', 'nic', 'video', 'sound', 'usb', 'tpm', 'ignore']),
  note: z.string().optional(),
  reason: z.string().optional(),
  controller: controllerSchema.optional(),
  nic: z.strictObject({ model: z.string().min(1) }).optional(),
  video: z.strictObject({ model: z.string().min(1) }).optional(),
  sound: z.strictObject({ model: z.string().min(1) }).optional(),
  usb: z.strictObject({ model: z.string().min(1) }).optional(),
  tpm: z.strictObject({ model: z.enum(['tpm-crb', 'tpm-tis']), version: z.enum(['1.2', '2.0']) }).optional(),
  /** Who reads the row: import (OVF to libvirt), export (libvirt to OVF, mapping/reverse.ts) or both (default). */
  direction: z.enum(['both', 'import', 'export']).optional(),
  /** ResourceSubType export writes when the first of `subTypes` is not the one other readers accept best. */
  exportSubType: z.string().min(1).optional(),
  /** Warning export prints when it writes a device through this row. */
  exportNote: z.string().optional(),
});

/** A device table file: `{ "$comment"?, "rows": [...] }`, rows in match order (first match wins). */
export const deviceTableSchema = z.strictObject({ $comment: z.string().optional(), rows: z.array(rowSchema) });

export type MappingRow = z.infer<typeof rowSchema>;
export type ControllerMapping = z.infer<typeof controllerSchema>;
