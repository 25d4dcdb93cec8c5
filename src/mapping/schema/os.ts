// Schema of mappings/os.json: guest OS identifiers (VMware, VirtualBox, oVirt, CIM) to libosinfo ids, and back for export.
import { z } from 'zod';

/** A libosinfo id and the OS family (windows sets the clock to localtime). */
export const osEntrySchema = z.strictObject({ osinfo: z.string().url(), family: z.enum(['linux', 'windows', 'other']) });

/** CIM_OperatingSystem.OsType number (OperatingSystemSection ovf:id) and VMware guest id (vmw:osType). */
export const osExportSchema = z.strictObject({ cimOsType: z.number().int().min(0).max(65535), vmwOsType: z.string().min(1) });

/** The whole os.json; every lookup table may be absent (empty). */
export const osSchema = z.strictObject({
  $comment: z.string().optional(),
  vmwOsType: z.record(z.string(), osEntrySchema).default({}),
  vboxOsType: z.record(z.string(), osEntrySchema).default({}),
  ovirtOsType: z.record(z.string(), osEntrySchema).default({}),
  cimOsType: z.record(z.string().regex(/^\d+$/), osEntrySchema).default({}),
  /** What export writes for a libosinfo id (mapping/reverse.ts); ids not listed use the tables above read in reverse. */
  export: z
    .strictObject({
      $comment: z.string().optional(),
      osinfo: z.record(z.string().url(), osExportSchema).default({}),
      family: z.partialRecord(z.enum(['linux', 'windows', 'other']), osExportSchema).default({}),
    })
    .default({ osinfo: {}, family: {} }),
});

export type OsEntry = z.infer<typeof osEntrySchema>;
export type OsTables = z.infer<typeof osSchema>;

/** An overlay os.json merges key by key over the built-in one. */
export function mergeOs(over: OsTables, base: OsTables): OsTables {
  return {
    vmwOsType: { ...base.vmwOsType, ...over.vmwOsType },
    vboxOsType: { ...base.vboxOsType, ...over.vboxOsType },
    ovirtOsType: { ...base.ovirtOsType, ...over.ovirtOsType },
    cimOsType: { ...base.cimOsType, ...over.cimOsType },
    export: { osinfo: { ...base.export.osinfo, ...over.export.osinfo }, family: { ...base.export.family, ...over.export.family } },
  };
}
