// NBD protocol constants (https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md): the
// "fixed newstyle" handshake with NBD_OPT_GO and the transmission phase with simple replies.
// Integers on the wire are big-endian.

export const NBDMAGIC = 0x4e42444d41474943n; // "NBDMAGIC"
export const IHAVEOPT = 0x49484156454f5054n; // "IHAVEOPT"
export const OPTION_REPLY_MAGIC = 0x0003e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;

/** Handshake flags of the server and the client. */
export const FLAG_FIXED_NEWSTYLE = 1;
export const FLAG_NO_ZEROES = 2;

/** Options and their replies. */
export const OPT_GO = 7;
export const REP_ACK = 1;
export const REP_INFO = 3;
export const INFO_EXPORT = 0;
export const INFO_BLOCK_SIZE = 3;

/** Transmission flags (NBD_INFO_EXPORT). */
export const TRANSMIT_READ_ONLY = 1 << 1;
export const TRANSMIT_SEND_FLUSH = 1 << 2;
export const TRANSMIT_SEND_WRITE_ZEROES = 1 << 6;

/** Commands. */
export const CMD_READ = 0;
export const CMD_WRITE = 1;
export const CMD_DISC = 2;
export const CMD_FLUSH = 3;
export const CMD_WRITE_ZEROES = 6;

/** Command flags. NBD_CMD_FLAG_NO_HOLE (2) is never sent: the server may punch holes for zeroes. */
export const CMD_FLAG_NO_HOLE = 1 << 1;

/** Largest payload a client sends or asks for when the server gives no NBD_INFO_BLOCK_SIZE (the spec's 32 MiB). */
export const DEFAULT_MAX_BLOCK = 32 * 2 ** 20;

/** The errno names of NBD error replies (the values the protocol defines). */
const ERRORS: Readonly<Record<number, readonly [string, string]>> = {
  1: ['EPERM', 'Operation not permitted'],
  5: ['EIO', 'Input/output error'],
  12: ['ENOMEM', 'Cannot allocate memory'],
  22: ['EINVAL', 'Invalid argument'],
  28: ['ENOSPC', 'No space left on device'],
  75: ['EOVERFLOW', 'Value too large for defined data type'],
  95: ['ENOTSUP', 'Operation not supported'],
  108: ['ESHUTDOWN', 'Cannot send after transport endpoint shutdown'],
};

/** An error reply of the NBD server; `code` is the errno name (ENOSPC, EIO, …) as Node's OS errors carry it. */
export class NbdReplyError extends Error {
  readonly code: string;
  readonly errno: number;
  constructor(what: string, errno: number) {
    const [code, text] = ERRORS[errno] ?? [`error ${errno}`, 'unknown error'];
    super(`NBD ${what} failed: ${text} (${code})`);
    this.name = 'NbdReplyError';
    this.code = code;
    this.errno = errno;
  }
}

/** A 28-byte transmission request header. */
export function requestHeader(type: number, flags: number, handle: bigint, offset: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(28);
  b.writeUInt32BE(REQUEST_MAGIC, 0);
  b.writeUInt16BE(flags, 4);
  b.writeUInt16BE(type, 6);
  b.writeBigUInt64BE(handle, 8);
  b.writeBigUInt64BE(BigInt(offset), 16);
  b.writeUInt32BE(length, 24);
  return b;
}
