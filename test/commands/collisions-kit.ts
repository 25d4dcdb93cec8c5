// Packages whose descriptor values collide with what virt-ovf makes (issue 9, item 7), written as
// OVF directories from test/ovf/helpers.ts ovfDocument; shared by the import-collisions tests.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cpuAndMemory, ovfDocument, type DocumentSpec, type ItemSpec } from '../ovf/helpers.js';

/** A SATA (AHCI) controller Item. */
export const sataController = (id: string): ItemSpec => ({ rasd: { InstanceID: id, ResourceType: '20', ResourceSubType: 'AHCI', ElementName: `SATA ${id}` } });

/** An IDE controller Item on channel `channel`. */
export const ideController = (id: string, channel: string): ItemSpec => ({ rasd: { InstanceID: id, ResourceType: '5', Address: channel, ElementName: `IDE ${id}` } });

/** A hard disk Item on `parent` at `address`, backed by Disk `diskId`. */
export const diskItem = (id: string, parent: string, address: string, diskId: string): ItemSpec => ({
  rasd: { InstanceID: id, ResourceType: '17', Parent: parent, AddressOnParent: address, HostResource: `ovf:/disk/${diskId}`, ElementName: `Hard disk ${id}` },
});

/** A CD-ROM Item on `parent` at `address` holding File `fileId`. */
export const cdromItem = (id: string, parent: string, address: string, fileId: string): ItemSpec => ({
  rasd: { InstanceID: id, ResourceType: '15', Parent: parent, AddressOnParent: address, HostResource: `ovf:/file/${fileId}`, ElementName: `CD-ROM ${id}` },
});

/** An empty 1 MiB Disk of DiskSection. */
export const emptyDisk = (id: string) => ({ id, capacity: '1', units: 'byte * 2^20' });

/** A ProductSection with one user-configurable string property `note` (default `value`, markup as written). */
export const noteProperty = (value: string) =>
  `    <ProductSection>\n      <Info>Settings</Info>\n      <Property ovf:key="note" ovf:type="string" ovf:userConfigurable="true" ovf:value="${value}"/>\n    </ProductSection>\n`;

/** Options of writePackage: the descriptor's parts, extra files, a ProductSection. */
export interface PackageSpec {
  readonly items: readonly ItemSpec[];
  readonly disks?: DocumentSpec['disks'];
  readonly files?: DocumentSpec['files'];
  /** Files of the package besides the descriptor: name to content. */
  readonly content?: Readonly<Record<string, Buffer>>;
  /** ProductSection markup put before the VirtualHardwareSection. */
  readonly product?: string;
}

/** Writes `DIR/vm.ovf` (VirtualSystem "vm", 64 MiB, one vCPU, then `items`) and the content files; returns the descriptor's path. */
export async function writePackage(dir: string, spec: PackageSpec): Promise<string> {
  await mkdir(dir, { recursive: true });
  let text = ovfDocument({ files: spec.files ?? [], disks: spec.disks ?? [], systems: [{ id: 'vm', items: [...cpuAndMemory(1, '64'), ...spec.items] }] });
  if (spec.product !== undefined) text = text.replace('    <VirtualHardwareSection>', `${spec.product}    <VirtualHardwareSection>`);
  for (const [name, bytes] of Object.entries(spec.content ?? {})) await writeFile(join(dir, name), bytes);
  await writeFile(join(dir, 'vm.ovf'), text);
  return join(dir, 'vm.ovf');
}

/** The volume="…" sources of a domain XML written by virt-ovf, in <disk> order. */
export const volumesOf = (xml: string): string[] => [...xml.matchAll(/<source pool="[^"]*" volume="([^"]+)"/g)].map((m) => m[1]!);
