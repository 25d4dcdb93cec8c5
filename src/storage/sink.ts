// The target of a disk transfer as the decoders see it: the guest's bytes, addressed by guest offset.

/**
 * Where a decoder puts a disk's guest bytes (the volume's contents as the guest reads them, not
 * the image format's bytes). Offsets and lengths are in bytes from the start of the disk.
 *
 * Implementations: a raw file or block device written in place (positioned writes, holes left
 * unwritten), an NBD export of the volume served by qemu-nbd (qemu writes the volume's format,
 * e.g. qcow2, or an RBD image through QEMU's rbd driver), and a libvirt stream
 * (virStorageVolUpload, sparse) to a volume on another host.
 *
 * Contract for callers (the decoders):
 * - every byte in [0, capacityBytes) is either written or declared zero exactly once, except
 *   that a range never mentioned reads as zeros as well (the sink makes sure it does at finish);
 * - when `sequential` is true the ranges come in ascending order without overlap (a stream
 *   cannot seek); a decoder that cannot keep that order must say so before writing anything;
 * - `write` may keep `data` until its promise settles and never after; callers may reuse the
 *   buffer once it resolved;
 * - `finish` is called once after the last range; `abort` instead of it when the transfer fails
 *   (it never throws and never removes the target: removing it is the rollback's job).
 */
export interface DiskSink {
  /** Short description for messages, e.g. `volume "app-disk1.qcow2" (qemu-nbd, qcow2)`. */
  readonly label: string;
  /** Size of the disk in bytes. A range beyond it is a bug of the caller (RangeError). */
  readonly capacityBytes: number;
  /** True when ranges must come in ascending order (libvirt streams). */
  readonly sequential: boolean;
  /**
   * write()/zero() calls the sink takes in flight at once (a caller may start the next before
   * the last settled, ranges never overlapping); absent means 1: each call awaited before the next.
   */
  readonly maxInFlight?: number;
  /**
   * Writes `data` at `offset`.
   * @throws RangeError outside [0, capacityBytes) or out of order on a sequential sink; the
   *   transport's error (ToolError, LibvirtError, an OS error) when the target fails.
   */
  write(offset: number, data: Uint8Array): Promise<void>;
  /**
   * Declares [offset, offset + length) zero: a hole where the target can keep one, written zeros
   * (or NBD_CMD_WRITE_ZEROES, virStreamSendHole) where it cannot.
   * @throws as write.
   */
  zero(offset: number, length: number): Promise<void>;
  /**
   * Completes the transfer: fills the unmentioned tail with zeros or a hole, flushes, ends the
   * stream or NBD connection. Resolves when the target holds the disk.
   * @throws the transport's error.
   */
  finish(): Promise<void>;
  /** Abandons the transfer (stream abort, NBD disconnect, child killed); never throws. */
  abort(): Promise<void>;
  /** Bytes of data sent to the target so far (written ranges, not zero ranges). */
  readonly bytesWritten: number;
}
