// Shared helpers for the OVF, mapping and domain tests: project paths, temp dirs, OVF builders.

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the first directory above this file that holds package.json (works from test/ and dist/test/). */
export const PROJECT_ROOT = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the project root from ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
})();

/** Hand-written fixtures (test/data in the source tree; they are not copied into dist). */
export const DATA_DIR = join(PROJECT_ROOT, 'test', 'data');

/** The shared corpus of real-world descriptors; may be absent. */
export const CORPUS_DIR = resolve(PROJECT_ROOT, '..', 'shared', 'corpus', 'ovf');

/** Runs `fn` with a fresh directory under os.tmpdir(), removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'virt-ovf-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Namespace URIs used by the generated descriptors. */
export const NS = {
  ovf1: 'http://schemas.dmtf.org/ovf/envelope/1',
  ovf2: 'http://schemas.dmtf.org/ovf/envelope/2',
  rasd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData',
  vssd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData',
  vmw: 'http://www.vmware.com/schema/ovf',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;

/** One RASD Item for {@link ovfDocument}: child element local names (rasd: prefixed) to text. */
export interface ItemSpec {
  readonly attrs?: string;
  readonly rasd: Readonly<Record<string, string | readonly string[]>>;
  /** Raw XML appended inside the Item (vmw:Config, vmw:CoresPerSocket, ...). */
  readonly extraXml?: string;
}

/** Options for {@link ovfDocument}. */
export interface DocumentSpec {
  readonly files?: readonly { id: string; href: string; size?: number }[];
  readonly disks?: readonly { id: string; capacity: string; units?: string; fileRef?: string; format?: string }[];
  readonly networks?: readonly string[];
  readonly systems: readonly {
    id: string;
    name?: string;
    systemType?: string;
    osAttrs?: string;
    items: readonly ItemSpec[];
    /** Raw XML appended inside the VirtualHardwareSection (vmw:Config ...). */
    hardwareXml?: string;
  }[];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** Renders one Item. */
export function itemXml(item: ItemSpec): string {
  const children = Object.entries(item.rasd)
    .flatMap(([name, value]) => (typeof value === 'string' ? [value] : [...(value as readonly string[])]).map((v) => `        <rasd:${name}>${esc(v)}</rasd:${name}>`))
    .join('\n');
  return `      <Item${item.attrs ? ' ' + item.attrs : ''}>\n${children}\n${item.extraXml ?? ''}      </Item>`;
}

/** Builds a small OVF 1.x descriptor (VMware-like namespaces) from a spec. */
export function ovfDocument(spec: DocumentSpec): string {
  const files = (spec.files ?? []).map((f) => `    <File ovf:id="${f.id}" ovf:href="${esc(f.href)}"${f.size !== undefined ? ` ovf:size="${f.size}"` : ''}/>`).join('\n');
  const disks = (spec.disks ?? [])
    .map(
      (d) =>
        `    <Disk ovf:diskId="${d.id}" ovf:capacity="${d.capacity}"${d.units ? ` ovf:capacityAllocationUnits="${d.units}"` : ''}${d.fileRef ? ` ovf:fileRef="${d.fileRef}"` : ''} ovf:format="${d.format ?? 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized'}"/>`,
    )
    .join('\n');
  const networks = (spec.networks ?? []).map((n) => `    <Network ovf:name="${esc(n)}"><Description>${esc(n)}</Description></Network>`).join('\n');
  const systems = spec.systems
    .map(
      (s) => `  <VirtualSystem ovf:id="${esc(s.id)}">
    <Info>A virtual machine</Info>
    <Name>${esc(s.name ?? s.id)}</Name>
${s.osAttrs !== undefined ? `    <OperatingSystemSection ${s.osAttrs}><Info>Guest OS</Info></OperatingSystemSection>\n` : ''}    <VirtualHardwareSection>
      <Info>Virtual hardware</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemType>${esc(s.systemType ?? 'vmx-13')}</vssd:VirtualSystemType>
      </System>
${s.items.map(itemXml).join('\n')}
${s.hardwareXml ?? ''}    </VirtualHardwareSection>
  </VirtualSystem>`,
    )
    .join('\n');
  const collection = spec.systems.length > 1;
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="${NS.ovf1}" xmlns:ovf="${NS.ovf1}" xmlns:rasd="${NS.rasd}" xmlns:vssd="${NS.vssd}" xmlns:vmw="${NS.vmw}" xmlns:xsi="${NS.xsi}">
  <References>
${files}
  </References>
  <DiskSection>
    <Info>Virtual disks</Info>
${disks}
  </DiskSection>
  <NetworkSection>
    <Info>Networks</Info>
${networks}
  </NetworkSection>
${collection ? '  <VirtualSystemCollection ovf:id="collection">\n    <Info>Several machines</Info>\n' : ''}${systems}
${collection ? '  </VirtualSystemCollection>\n' : ''}</Envelope>
`;
}

/** The processor and memory Items every generated system needs. */
export function cpuAndMemory(cpus = 1, memory = '1024', units = 'byte * 2^20'): ItemSpec[] {
  return [
    { rasd: { ElementName: `${cpus} virtual CPU(s)`, InstanceID: '1', ResourceType: '3', VirtualQuantity: String(cpus), AllocationUnits: 'hertz * 10^6' } },
    { rasd: { ElementName: 'Memory', InstanceID: '2', ResourceType: '4', VirtualQuantity: memory, AllocationUnits: units } },
  ];
}
