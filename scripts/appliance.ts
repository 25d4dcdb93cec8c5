// Generates a tiny bootable test appliance (MBR that prints a marker on COM1) as raw, streamOptimized VMDK, OVF, manifest and OVA.

import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';

/** Size of a disk sector and of the boot sector, in bytes. */
export const SECTOR_SIZE = 512;
/** Default appliance name (file prefix and VirtualSystem ovf:id). */
export const DEFAULT_NAME = 'tinyvm';
/** Default text the boot sector prints on COM1. */
export const DEFAULT_MARKER = 'VIRT-OVF-APPLIANCE-BOOT-OK';
/** Default virtual disk size, in bytes (1 MiB). */
export const DEFAULT_DISK_SIZE_BYTES = 1024 * 1024;
/** Size of the chunks the `mixed` content is generated in, in bytes (1 MiB). */
export const CHUNK_SIZE_BYTES = 1024 * 1024;
/** Disk format URI that VMware ovftool writes for streamOptimized VMDKs. */
export const VMDK_STREAM_OPTIMIZED_FORMAT =
  'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized';

/** Physical address the BIOS loads the boot sector to. */
const LOAD_ADDRESS = 0x7c00;
/** COM1 base I/O port (transmit holding register / divisor latch low). */
const COM1 = 0x3f8;

// ---------------------------------------------------------------------------
// Boot sector: a minimal label-resolving emitter for the handful of
// 16-bit instructions the program needs.
// ---------------------------------------------------------------------------

/** One piece of the program: literal bytes, a label, a short jump, or `mov si, label`. */
type Piece =
  | { kind: 'bytes'; bytes: number[] }
  | { kind: 'label'; name: string }
  | { kind: 'jump'; opcode: number; target: string }
  | { kind: 'movSi'; target: string };

const lo = (v: number): number => v & 0xff;
const hi = (v: number): number => (v >> 8) & 0xff;

/** `mov dx, port` (BA iw) then `mov al, value` (B0 ib) then `out dx, al` (EE). */
function outb(port: number, value: number): Piece {
  return { kind: 'bytes', bytes: [0xba, lo(port), hi(port), 0xb0, value & 0xff, 0xee] };
}
function bytes(...b: number[]): Piece {
  return { kind: 'bytes', bytes: b };
}
function label(name: string): Piece {
  return { kind: 'label', name };
}
/** Short jump (EB) or conditional short jump (7x) with an 8-bit displacement. */
function jump(opcode: number, target: string): Piece {
  return { kind: 'jump', opcode, target };
}

function pieceLength(p: Piece): number {
  switch (p.kind) {
    case 'bytes':
      return p.bytes.length;
    case 'label':
      return 0;
    case 'jump':
      return 2;
    case 'movSi':
      return 3;
  }
}

/** Resolves labels (offsets relative to the start of the sector) and emits the machine code. */
function assemble(pieces: Piece[]): { code: number[]; labels: Map<string, number> } {
  const labels = new Map<string, number>();
  let offset = 0;
  for (const p of pieces) {
    if (p.kind === 'label') {
      if (labels.has(p.name)) throw new Error(`duplicate label ${p.name}`);
      labels.set(p.name, offset);
    }
    offset += pieceLength(p);
  }
  const resolve = (name: string): number => {
    const at = labels.get(name);
    if (at === undefined) throw new Error(`undefined label ${name}`);
    return at;
  };
  const code: number[] = [];
  for (const p of pieces) {
    switch (p.kind) {
      case 'bytes':
        code.push(...p.bytes);
        break;
      case 'label':
        break;
      case 'jump': {
        const rel = resolve(p.target) - (code.length + 2);
        if (rel < -128 || rel > 127) throw new Error(`jump to ${p.target} out of short range (${rel})`);
        code.push(p.opcode, rel & 0xff);
        break;
      }
      case 'movSi': {
        const address = LOAD_ADDRESS + resolve(p.target);
        code.push(0xbe, lo(address), hi(address));
        break;
      }
    }
  }
  return { code, labels };
}

/** The program; the string sits right after the code, at label `msg`. */
function bootProgram(): Piece[] {
  return [
    bytes(0x31, 0xc0), // xor ax, ax
    bytes(0x8e, 0xd8), // mov ds, ax        ; DS = 0 so [si] addresses 0x7C00 + offset
    bytes(0xfc), // cld                      ; lodsb increments SI
    // 16550 UART init: 115200 baud 8N1, FIFOs on (QEMU does not need it; real hardware does).
    outb(COM1 + 1, 0x00), // IER: no interrupts
    outb(COM1 + 3, 0x80), // LCR: DLAB on
    outb(COM1 + 0, 0x01), // DLL: divisor 1 = 115200 baud
    outb(COM1 + 1, 0x00), // DLM
    outb(COM1 + 3, 0x03), // LCR: 8 data bits, no parity, 1 stop bit, DLAB off
    outb(COM1 + 2, 0xc7), // FCR: enable and clear FIFOs
    outb(COM1 + 4, 0x03), // MCR: DTR + RTS
    { kind: 'movSi', target: 'msg' }, // mov si, msg
    label('next'),
    bytes(0xac), // lodsb                    ; al = [ds:si++]
    bytes(0x84, 0xc0), // test al, al
    jump(0x74, 'done'), // jz done           ; NUL terminator
    bytes(0x88, 0xc4), // mov ah, al
    bytes(0xba, lo(COM1 + 5), hi(COM1 + 5)), // mov dx, 0x3FD (LSR)
    label('wait'),
    bytes(0xec), // in al, dx
    bytes(0xa8, 0x20), // test al, 0x20       ; THR empty?
    jump(0x74, 'wait'), // jz wait
    bytes(0x88, 0xe0), // mov al, ah
    bytes(0xba, lo(COM1), hi(COM1)), // mov dx, 0x3F8
    bytes(0xee), // out dx, al
    jump(0xeb, 'next'), // jmp next
    label('done'),
    bytes(0xfa), // cli
    label('halt'),
    bytes(0xf4), // hlt
    jump(0xeb, 'halt'), // jmp halt
    label('msg'),
  ];
}

/**
 * Builds a 512-byte MBR whose 16-bit real-mode code (loaded at 0x7C00) prints `marker`
 * followed by "\r\n" on COM1 (I/O port 0x3F8) and then halts forever.
 *
 * @param marker printable ASCII (0x20–0x7E); at most `512 - codeLength - 5` characters.
 * @returns a 512-byte buffer ending in the 0x55 0xAA boot signature.
 */
export function bootSector(marker: string): Buffer {
  if (!/^[\x20-\x7e]+$/.test(marker)) {
    throw new RangeError('marker must be non-empty printable ASCII');
  }
  const { code } = assemble(bootProgram());
  const text = Buffer.from(`${marker}\r\n\0`, 'ascii');
  const room = SECTOR_SIZE - 2 - code.length;
  if (text.length > room) {
    throw new RangeError(`marker too long: ${marker.length} characters, at most ${room - 3} fit`);
  }
  const sector = Buffer.alloc(SECTOR_SIZE);
  Buffer.from(code).copy(sector, 0);
  text.copy(sector, code.length);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

// ---------------------------------------------------------------------------
// Raw disk content
// ---------------------------------------------------------------------------

type ChunkKind = 'hole' | 'text' | 'random';
/** Repeating pattern of chunk kinds for `mixed` content: 40% hole, 40% text, 20% random. */
const MIXED_PATTERN: readonly ChunkKind[] = ['text', 'hole', 'random', 'hole', 'text'];

const WORDS = (
  'appliance virtual machine disk controller network adapter memory processor firmware ' +
  'manifest descriptor envelope section reference capacity allocation resource volume ' +
  'pool domain import export convert stream grain sector header footer checksum'
).split(' ');

/** Fills `buf` with log-like, highly compressible but not constant ASCII text. */
function fillText(buf: Buffer, chunkIndex: number): void {
  let pos = 0;
  let line = 0;
  while (pos < buf.length) {
    const w1 = WORDS[(chunkIndex + line) % WORDS.length] ?? '';
    const w2 = WORDS[(line * 7 + 3) % WORDS.length] ?? '';
    const w3 = WORDS[(line * 13 + chunkIndex * 5) % WORDS.length] ?? '';
    const s = `chunk ${chunkIndex} line ${line}: ${w1} ${w2} ${w3} status=ok elapsed=${(line * 37) % 1000}ms\n`;
    pos += buf.write(s, pos, 'ascii');
    line += 1;
  }
}

/** Fills `buf` with deterministic incompressible bytes (AES-128-CTR keystream seeded by the chunk index). */
function fillRandom(buf: Buffer, chunkIndex: number): void {
  const key = createHash('sha256').update('virt-ovf appliance').digest().subarray(0, 16);
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(chunkIndex >>> 0, 0);
  const cipher = createCipheriv('aes-128-ctr', key, iv);
  const stream = cipher.update(Buffer.alloc(buf.length));
  stream.copy(buf);
}

/**
 * Writes the raw disk image: the boot sector at LBA 0, then (for `mixed`) 1 MiB chunks
 * following the 40% hole / 40% text / 20% random pattern. Holes are never written, so the
 * file is sparse. Memory use is one chunk.
 *
 * @param sizeBytes file size in bytes, a multiple of 512.
 */
async function writeRawDisk(path: string, sector: Buffer, sizeBytes: number, content: 'boot' | 'mixed'): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(sizeBytes);
    if (content === 'boot') {
      await fh.write(sector, 0, sector.length, 0);
      return;
    }
    const chunk = Buffer.alloc(CHUNK_SIZE_BYTES);
    const chunks = Math.ceil(sizeBytes / CHUNK_SIZE_BYTES);
    for (let i = 0; i < chunks; i++) {
      const offset = i * CHUNK_SIZE_BYTES;
      const length = Math.min(CHUNK_SIZE_BYTES, sizeBytes - offset);
      const kind = i === 0 ? 'text' : (MIXED_PATTERN[i % MIXED_PATTERN.length] ?? 'hole');
      if (kind === 'hole') continue;
      const view = chunk.subarray(0, length);
      if (kind === 'text') fillText(view, i);
      else fillRandom(view, i);
      if (i === 0) sector.copy(view, 0);
      await fh.write(view, 0, length, offset);
    }
    if (chunks === 0) await fh.write(sector, 0, sector.length, 0);
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------
// OVF descriptor
// ---------------------------------------------------------------------------

/** Escapes text for use in XML element content and attribute values. */
function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** A VMware-style MAC (00:50:56, static range 00-3F) derived from the appliance name. */
function macFor(name: string): string {
  const h = createHash('sha256').update(name).digest();
  const tail = [(h[0] ?? 0) & 0x3f, h[1] ?? 0, h[2] ?? 0];
  return ['00', '50', '56', ...tail.map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** RASD elements as [name, value] pairs; sorted alphabetically (the CIM xs:sequence order) on output. */
function rasdItem(fields: Array<[string, string | number | boolean]>, extra = ''): string {
  const sorted = [...fields].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const lines = sorted.map(([k, v]) => `        <rasd:${k}>${xmlEscape(String(v))}</rasd:${k}>`);
  return `      <Item>\n${lines.join('\n')}\n${extra}      </Item>\n`;
}

interface DescriptorInput {
  name: string;
  vmdkFile: string;
  vmdkSizeBytes: number;
  capacityBytes: number;
  populatedSizeBytes: number;
  controller: 'sata' | 'pvscsi';
}

/** Renders the OVF 1.0 descriptor in the shape VMware ovftool produces. */
function renderOvf(d: DescriptorInput): string {
  const n = xmlEscape(d.name);
  const controller =
    d.controller === 'sata'
      ? rasdItem([
          ['Address', 0],
          ['Description', 'SATA Controller'],
          ['ElementName', 'sataController0'],
          ['InstanceID', 3],
          ['ResourceSubType', 'vmware.sata.ahci'],
          ['ResourceType', 20],
        ])
      : rasdItem([
          ['Address', 0],
          ['Description', 'SCSI Controller'],
          ['ElementName', 'scsiController0'],
          ['InstanceID', 3],
          ['ResourceSubType', 'VirtualSCSI'],
          ['ResourceType', 6],
        ]);
  const nic = d.controller === 'sata' ? 'E1000' : 'VmxNet3';
  return `<?xml version="1.0" encoding="UTF-8"?>
<!--Generated by virt-ovf scripts/appliance.ts-->
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
    <File ovf:href="${xmlEscape(d.vmdkFile)}" ovf:id="file1" ovf:size="${d.vmdkSizeBytes}"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="${d.capacityBytes}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="${VMDK_STREAM_OPTIMIZED_FORMAT}" ovf:populatedSize="${d.populatedSizeBytes}"/>
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="VM Network">
      <Description>The VM Network network</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="${n}">
    <Info>A virtual machine</Info>
    <Name>${n}</Name>
    <OperatingSystemSection ovf:id="36" vmw:osType="otherLinux64Guest">
      <Info>The kind of installed guest operating system</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>${n}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
${rasdItem([
  ['AllocationUnits', 'hertz * 10^6'],
  ['Description', 'Number of Virtual CPUs'],
  ['ElementName', '1 virtual CPU(s)'],
  ['InstanceID', 1],
  ['ResourceType', 3],
  ['VirtualQuantity', 1],
])}${rasdItem([
  ['AllocationUnits', 'byte * 2^20'],
  ['Description', 'Memory Size'],
  ['ElementName', '64MB of memory'],
  ['InstanceID', 2],
  ['ResourceType', 4],
  ['VirtualQuantity', 64],
])}${controller}${rasdItem(
  [
    ['AddressOnParent', 0],
    ['ElementName', 'Hard Disk 1'],
    ['HostResource', 'ovf:/disk/vmdisk1'],
    ['InstanceID', 5],
    ['Parent', 3],
    ['ResourceType', 17],
  ],
  '        <vmw:Config ovf:required="false" vmw:key="backing.writeThrough" vmw:value="false"/>\n',
)}${rasdItem([
  ['Address', macFor(d.name)],
  ['AddressOnParent', 7],
  ['AutomaticAllocation', true],
  ['Connection', 'VM Network'],
  ['Description', `${nic} ethernet adapter on "VM Network"`],
  ['ElementName', 'Network adapter 1'],
  ['InstanceID', 6],
  ['ResourceSubType', nic],
  ['ResourceType', 10],
])}      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="bios"/>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`;
}

// ---------------------------------------------------------------------------
// Helpers: digests, qemu-img
// ---------------------------------------------------------------------------

/** Streams a file through a hash; returns lowercase hex. */
export async function fileDigest(path: string, algorithm: 'sha256' | 'sha1'): Promise<string> {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Bytes of guest data qemu-img reports as allocated (and not zero) in an image. */
async function populatedBytes(path: string, format: string): Promise<number> {
  const { stdout } = await execa('qemu-img', ['map', '-f', format, '--output=json', path]);
  const extents = JSON.parse(stdout) as Array<{ length: number; data: boolean; zero: boolean }>;
  return extents.filter((e) => e.data && !e.zero).reduce((sum, e) => sum + e.length, 0);
}

// ---------------------------------------------------------------------------
// Public builder
// ---------------------------------------------------------------------------

/** Options of {@link buildAppliance}. */
export interface ApplianceOptions {
  /** Output directory (created if missing). */
  dir: string;
  /** File prefix and VirtualSystem id; `[A-Za-z0-9._-]+`. Default {@link DEFAULT_NAME}. */
  name?: string;
  /** Text printed on COM1 at boot. Default {@link DEFAULT_MARKER}. */
  marker?: string;
  /** Disk controller in the descriptor. Default `sata`. */
  controller?: 'sata' | 'pvscsi';
  /** Virtual disk size in bytes, a multiple of 512. Default 1 MiB. */
  diskSizeBytes?: number;
  /**
   * `boot`: only the boot sector is written. `mixed` (benchmarks): 1 MiB chunks, 40% never
   * written, 40% compressible text, 20% random, boot sector at LBA 0. Default `boot`.
   */
  content?: 'boot' | 'mixed';
  /** Manifest digest algorithm, or `none` for no `.mf`. Default `sha256`. */
  manifest?: 'sha256' | 'sha1' | 'none';
  /** Pack an `.ova` (ustar: OVF, manifest, disk). Default true. */
  ova?: boolean;
}

/** Paths (absolute when `dir` is) of what {@link buildAppliance} wrote. */
export interface ApplianceResult {
  /** `NAME.ova`, unless `ova: false`. */
  ova?: string;
  /** `NAME.ovf`. */
  ovf: string;
  /** `NAME-disk1.vmdk` (streamOptimized). */
  vmdk: string;
  /** `NAME.mf`, unless `manifest: 'none'`. */
  mf?: string;
  /** The text the guest prints on COM1. */
  marker: string;
  /** `NAME-disk1.raw`, the bootable source image. */
  rawDisk: string;
}

/**
 * Writes a bootable appliance into `opts.dir`: raw disk, streamOptimized VMDK (qemu-img),
 * ovftool-style OVF 1.0 descriptor, manifest and OVA (GNU tar, ustar).
 */
export async function buildAppliance(opts: ApplianceOptions): Promise<ApplianceResult> {
  const name = opts.name ?? DEFAULT_NAME;
  const marker = opts.marker ?? DEFAULT_MARKER;
  const controller = opts.controller ?? 'sata';
  const sizeBytes = opts.diskSizeBytes ?? DEFAULT_DISK_SIZE_BYTES;
  const content = opts.content ?? 'boot';
  const manifest = opts.manifest ?? 'sha256';
  const wantOva = opts.ova ?? true;
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) {
    throw new RangeError(`invalid appliance name ${JSON.stringify(name)}`);
  }
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < SECTOR_SIZE || sizeBytes % SECTOR_SIZE !== 0) {
    throw new RangeError(`diskSizeBytes must be a positive multiple of ${SECTOR_SIZE}, got ${sizeBytes}`);
  }
  const sector = bootSector(marker);
  await mkdir(opts.dir, { recursive: true });

  const ovfName = `${name}.ovf`;
  const mfName = `${name}.mf`;
  const vmdkName = `${name}-disk1.vmdk`;
  const rawDisk = join(opts.dir, `${name}-disk1.raw`);
  const vmdk = join(opts.dir, vmdkName);
  const ovf = join(opts.dir, ovfName);

  // 1. raw disk
  await writeRawDisk(rawDisk, sector, sizeBytes, content);

  // 2. streamOptimized VMDK
  await execa('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', rawDisk, vmdk]);

  // 3. descriptor
  const vmdkSizeBytes = (await stat(vmdk)).size;
  const populatedSizeBytes = await populatedBytes(vmdk, 'vmdk');
  await writeFile(
    ovf,
    renderOvf({ name, vmdkFile: vmdkName, vmdkSizeBytes, capacityBytes: sizeBytes, populatedSizeBytes, controller }),
  );

  const result: ApplianceResult = { ovf, vmdk, marker, rawDisk };

  // 4. manifest
  if (manifest !== 'none') {
    const tag = manifest === 'sha256' ? 'SHA256' : 'SHA1';
    const lines = [];
    for (const [file, path] of [
      [ovfName, ovf],
      [vmdkName, vmdk],
    ] as const) {
      lines.push(`${tag}(${file})= ${await fileDigest(path, manifest)}\n`);
    }
    result.mf = join(opts.dir, mfName);
    await writeFile(result.mf, lines.join(''));
  }

  // 5. OVA
  if (wantOva) {
    const ova = join(opts.dir, `${name}.ova`);
    const members = manifest === 'none' ? [ovfName, vmdkName] : [ovfName, mfName, vmdkName];
    await execa('tar', ['--format=ustar', '-cf', ova, '-C', opts.dir, ...members]);
    result.ova = ova;
  }
  return result;
}

// ---------------------------------------------------------------------------
// Boot check under QEMU
// ---------------------------------------------------------------------------

/** Options of {@link bootUntilMarker}. */
export interface BootOptions {
  /** Disk image to boot (attached as the IDE primary master). */
  disk: string;
  /** Image format passed to `-drive format=`. */
  format: 'raw' | 'vmdk' | 'qcow2';
  /** Text to wait for on the serial console. */
  marker: string;
  /** File the guest's COM1 is written to (created/truncated by QEMU). */
  serialFile: string;
  /** Give up after this many milliseconds. Default 30000. */
  timeoutMs?: number;
}

/** Outcome of {@link bootUntilMarker}. */
export interface BootResult {
  /** Whether the marker appeared on the serial console. */
  found: boolean;
  /** Milliseconds from starting QEMU to seeing the marker (or to giving up). */
  elapsedMs: number;
  /** Everything the guest wrote to COM1. */
  serial: string;
}

/**
 * Boots a disk under `qemu-system-x86_64` with TCG (no KVM needed), polls the serial
 * output file every 20 ms, and stops QEMU as soon as the marker appears or on timeout.
 */
export async function bootUntilMarker(opts: BootOptions): Promise<BootResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const drive = `file=${opts.disk.replace(/,/g, ',,')},format=${opts.format},if=ide`;
  const started = performance.now();
  const child = execa(
    'qemu-system-x86_64',
    [
      '-machine', 'pc,accel=tcg',
      '-m', '64',
      '-display', 'none',
      '-nodefaults',
      '-serial', `file:${opts.serialFile}`,
      '-drive', drive,
      '-no-reboot',
    ],
    { reject: false, timeout: timeoutMs + 5_000, forceKillAfterDelay: 2_000 },
  );
  let exited = false;
  const done = child.then((r) => {
    exited = true;
    return r;
  });
  const readSerial = async (): Promise<string> => {
    try {
      return (await readFile(opts.serialFile)).toString('latin1');
    } catch {
      return '';
    }
  };
  let serial = '';
  let found = false;
  let elapsedMs = 0;
  for (;;) {
    serial = await readSerial();
    elapsedMs = performance.now() - started;
    if (serial.includes(opts.marker)) {
      found = true;
      break;
    }
    if (exited || elapsedMs > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!exited) child.kill('SIGTERM');
  const r = await done;
  if (!found) {
    serial = await readSerial();
    if (exited && !serial.includes(opts.marker) && r.exitCode !== 0 && r.exitCode !== undefined) {
      throw new Error(`qemu-system-x86_64 exited with ${r.exitCode}: ${String(r.stderr)}`);
    }
    found = serial.includes(opts.marker);
  }
  return { found, elapsedMs, serial };
}
