// Storage volume (virStorageVolPtr): path, XML, delete, and data upload/download through streams.

import { callSync, ErrorCode, type ConnContext } from './call.js';
import type { Ptr } from './ffi.js';
import { NativeHandle } from './handle.js';
import type { Stream } from './stream.js';

/** virStorageVolCreateFlags: preallocate only metadata (qcow2). */
export const VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA = 1;
/** virStorageVolDeleteFlags: overwrite the data with zeroes before deleting. */
export const VIR_STORAGE_VOL_DELETE_ZEROED = 1;
/** virStorageVolUploadFlags / virStorageVolDownloadFlags: sparse stream (needs a sparse-aware stream). */
export const VIR_STORAGE_VOL_SPARSE_STREAM = 1;
/** virStorageVolUploadFlags: the stream carries holes (virStreamSendHole) as well as data (libvirt 3.4). */
export const VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM = VIR_STORAGE_VOL_SPARSE_STREAM;
/** virStorageVolDownloadFlags: the stream reports holes (virStreamRecvHole) instead of zeros (libvirt 3.4). */
export const VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM = VIR_STORAGE_VOL_SPARSE_STREAM;

/** A volume in a storage pool, obtained from StoragePool.createVolume() or lookupVolume(). */
export class StorageVolume extends NativeHandle {
  /** Wraps a virStorageVolPtr the caller owns (internal: use a StoragePool method). */
  constructor(ctx: ConnContext, ptr: Ptr) {
    super(ctx, ptr, 'virStorageVolFree', ErrorCode.INVALID_STORAGE_VOL);
  }

  /**
   * The volume's name inside its pool (virStorageVolGetName).
   * @throws LibvirtError if the handle was freed or libvirt fails.
   */
  name(): string {
    return callSync<string>('virStorageVolGetName', 'null', this.handle('virStorageVolGetName'));
  }

  /**
   * The volume's absolute path on the host, e.g. /var/lib/libvirt/images/disk.qcow2 (virStorageVolGetPath).
   * @throws LibvirtError if the handle was freed or libvirt fails.
   */
  path(): string {
    return callSync<string>('virStorageVolGetPath', 'null', this.handle('virStorageVolGetPath'));
  }

  /**
   * The volume XML (virStorageVolGetXMLDesc, flags normally 0), with capacity/allocation in bytes.
   * @throws LibvirtError (rejection) if the handle was freed or libvirt fails.
   */
  xml(flags = 0): Promise<string> {
    return this.ctx.call<string>('virStorageVolGetXMLDesc', 'null', this.handle('virStorageVolGetXMLDesc'), flags);
  }

  /**
   * Deletes the volume and its data (virStorageVolDelete); `flags` ORs VIR_STORAGE_VOL_DELETE_*.
   * The handle stays allocated until free().
   * @throws LibvirtError (rejection) if the volume is in use, gone, or libvirt fails.
   */
  async delete(flags = 0): Promise<void> {
    await this.ctx.call<number>('virStorageVolDelete', 'negative', this.handle('virStorageVolDelete'), flags);
  }

  /**
   * Starts writing `lengthBytes` bytes at `offsetBytes` of the volume from `stream`
   * (virStorageVolUpload); 0 for length means up to the end of the volume. Then feed the data
   * with stream.send()/sendAll() (and, with VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM in `flags`,
   * holes with stream.sendHole()) and end with stream.finish(). Stream and volume must share a
   * connection. The daemon writes the bytes as they are: the volume's format is the caller's
   * business (a qcow2 volume receives qcow2 bytes).
   * @throws LibvirtError (rejection) if the range is outside the volume, the connections
   *   differ, or libvirt fails.
   */
  async upload(stream: Stream, offsetBytes: number | bigint, lengthBytes: number | bigint, flags = 0): Promise<void> {
    const func = 'virStorageVolUpload';
    await this.ctx.call<number>(func, 'negative', this.handle(func), stream.pointer(func), offsetBytes, lengthBytes, flags);
  }

  /**
   * Starts reading `lengthBytes` bytes at `offsetBytes` of the volume into `stream`
   * (virStorageVolDownload); 0 for length means up to the end. Then drain it with
   * stream.recv() until it yields an empty buffer (or, with VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM,
   * iterate stream.readSparse()), and call stream.finish().
   * @throws LibvirtError (rejection) if the range is outside the volume, the connections
   *   differ, or libvirt fails.
   */
  async download(stream: Stream, offsetBytes: number | bigint, lengthBytes: number | bigint, flags = 0): Promise<void> {
    const func = 'virStorageVolDownload';
    await this.ctx.call<number>(func, 'negative', this.handle(func), stream.pointer(func), offsetBytes, lengthBytes, flags);
  }
}
