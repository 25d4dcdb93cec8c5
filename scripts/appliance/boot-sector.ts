// Boot sector of the test appliance: a 16-bit real-mode program, assembled here by a minimal
// label-resolving emitter, that prints a marker on COM1 and halts.

/** Size of a disk sector and of the boot sector, in bytes. */
export const SECTOR_SIZE = 512;

/** Physical address the BIOS loads the boot sector to. */
const LOAD_ADDRESS = 0x7c00;
/** COM1 base I/O port (transmit holding register / divisor latch low). */
const COM1 = 0x3f8;

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

