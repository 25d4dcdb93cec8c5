// Schema of mappings/pools.json: what import does in each libvirt storage pool type (formatstorage.html).
import { z } from 'zod';

const volumeFormat = z.enum(['qcow2', 'raw']);

/** The rules of one libvirt pool type (<pool type>). */
const poolTypeSchema = z
  .strictObject({
    /** What <target><path> holds: volume files in a directory (whose filesystem is the pool's), device nodes (/dev, /dev/VG), or nothing (network storage). */
    storage: z.enum(['directory', 'devices', 'network']),
    /** Whether virStorageVolCreateXML makes new volumes there (false: the pool only exposes existing LUNs or devices). */
    createsVolumes: z.boolean(),
    /** Why import refuses the pool type (createsVolumes false), and what to do instead. */
    refusal: z.string().min(1).optional(),
    remedy: z.string().min(1).optional(),
    /** How volumes are named: DOMAIN-DISKID.EXT, or after the partition libvirt creates (disk pools: loop0p2, sdb3). */
    volumeName: z.enum(['domain', 'partition']),
    /** Volume formats virt-ovf writes there; defaultFormat unless the caller asks for another. */
    formats: z.array(volumeFormat).min(1),
    defaultFormat: volumeFormat,
    /** The volume XML's <target><format type> for each format; null writes no <format> (the pool has one layout). */
    volumeFormatType: z.partialRecord(volumeFormat, z.string().min(1).nullable()),
    /** How the domain's <disk> names a volume: <source pool volume>, or the pool's source as a network <source protocol>. */
    domainDisk: z.enum(['volume', 'network']),
    /** <source protocol> of a network disk (domainDisk network). */
    networkProtocol: z.string().min(1).optional(),
    /** How the bytes get into the volume: qemu-img writes its path (virStorageVolGetPath), or QEMU's rbd driver writes the image. */
    transfer: z.enum(['volume-path', 'qemu-rbd', 'qemu-iscsi']),
    /** What the free-space check counts for a volume: its data (thin volumes), or its whole capacity (a partition, a logical volume). */
    spaceTaken: z.enum(['data', 'capacity']),
  })
  .refine((r) => r.formats.includes(r.defaultFormat), 'defaultFormat must be one of formats')
  .refine((r) => r.formats.every((f) => r.volumeFormatType[f] !== undefined), 'every format needs a volumeFormatType')
  .refine((r) => r.createsVolumes || (r.refusal !== undefined && r.remedy !== undefined), 'a pool type that creates no volumes needs a refusal and a remedy')
  .refine((r) => r.domainDisk !== 'network' || r.networkProtocol !== undefined, 'a network domainDisk needs a networkProtocol');

export const poolsSchema = z.strictObject({
  $comment: z.string().optional(),
  /** By libvirt pool type: dir, fs, netfs, logical, disk, iscsi, iscsi-direct, scsi, mpath, zfs, rbd, gluster, vstorage. */
  types: z.record(z.string().min(1), poolTypeSchema),
});

/** Validated mappings/pools.json. */
export type PoolRules = z.infer<typeof poolsSchema>;
/** The rules of one pool type. */
export type PoolTypeRule = PoolRules['types'][string];
