// Storage pool (virStoragePoolPtr): look up, create/define, start/stop, refresh, and make volumes.

import { callSync, ErrorCode, lookupSync, type ConnContext } from './call.js';
import type { Connection } from './connect.js';
import { decodePoolInfo, poolInfoBuffer, takePointerArray, type Ptr } from './ffi.js';
import { NativeHandle } from './handle.js';
import { StorageVolume } from './volume.js';

/** A libvirt storage pool, obtained from lookupPool(), createPool() or definePool(). */
export class StoragePool extends NativeHandle {
  /** Wraps a virStoragePoolPtr the caller owns (internal: use lookupPool/createPool/definePool). */
  constructor(ctx: ConnContext, ptr: Ptr) {
    super(ctx, ptr, 'virStoragePoolFree', ErrorCode.INVALID_STORAGE_POOL);
  }

  /**
   * The pool's name (virStoragePoolGetName).
   * @throws LibvirtError if the handle was freed or libvirt fails.
   */
  name(): string {
    return callSync<string>('virStoragePoolGetName', 'null', this.handle('virStoragePoolGetName'));
  }

  /**
   * Whether the pool is started (virStoragePoolIsActive).
   * @throws LibvirtError if the handle was freed or libvirt fails.
   */
  isActive(): boolean {
    return callSync<number>('virStoragePoolIsActive', 'negative', this.handle('virStoragePoolIsActive')) === 1;
  }

  /**
   * Starts a defined pool (virStoragePoolCreate); `flags` ORs VIR_STORAGE_POOL_CREATE_* values.
   * @throws LibvirtError (rejection) if it is already active or its target is unusable.
   */
  async start(flags = 0): Promise<void> {
    await this.ctx.call<number>('virStoragePoolCreate', 'negative', this.handle('virStoragePoolCreate'), flags);
  }

  /**
   * Stops the pool (virStoragePoolDestroy); the data stays, a transient pool disappears.
   * @throws LibvirtError (rejection) if it is not active or libvirt fails.
   */
  async destroy(): Promise<void> {
    await this.ctx.call<number>('virStoragePoolDestroy', 'negative', this.handle('virStoragePoolDestroy'));
  }

  /**
   * Removes the persistent definition of an inactive pool (virStoragePoolUndefine).
   * @throws LibvirtError (rejection) if it is still active, transient, or libvirt fails.
   */
  async undefine(): Promise<void> {
    await this.ctx.call<number>('virStoragePoolUndefine', 'negative', this.handle('virStoragePoolUndefine'));
  }

  /**
   * Rescans the pool's target so volumes created behind libvirt's back appear (virStoragePoolRefresh).
   * @throws LibvirtError (rejection) if the pool is inactive or libvirt fails.
   */
  async refresh(): Promise<void> {
    await this.ctx.call<number>('virStoragePoolRefresh', 'negative', this.handle('virStoragePoolRefresh'), 0);
  }

  /**
   * State and sizes of the pool (virStoragePoolGetInfo), as of libvirt's last refresh of it:
   * `state` is a virStoragePoolState (2 = running); sizes in bytes; `availableBytes` is the free
   * space new volumes can use.
   * @throws LibvirtError (rejection) if the handle was freed or libvirt fails.
   */
  async info(): Promise<{ state: number; capacityBytes: number; allocationBytes: number; availableBytes: number }> {
    const buf = poolInfoBuffer();
    await this.ctx.call<number>('virStoragePoolGetInfo', 'negative', this.handle('virStoragePoolGetInfo'), buf);
    const info = decodePoolInfo(buf);
    return { state: info.state, capacityBytes: info.capacity, allocationBytes: info.allocation, availableBytes: info.available };
  }

  /**
   * The pool XML (virStoragePoolGetXMLDesc), with capacity/allocation/available in bytes.
   * @throws LibvirtError (rejection) if the handle was freed or libvirt fails.
   */
  xml(flags = 0): Promise<string> {
    return this.ctx.call<string>('virStoragePoolGetXMLDesc', 'null', this.handle('virStoragePoolGetXMLDesc'), flags);
  }

  /**
   * Creates a volume from its XML (virStorageVolCreateXML); `flags` ORs
   * VIR_STORAGE_VOL_CREATE_* values. Capacity units are those of the XML (bytes by default).
   * @throws LibvirtError (rejection) if the name exists, the XML is invalid, or libvirt fails.
   */
  async createVolume(xml: string, flags = 0): Promise<StorageVolume> {
    const ptr = await this.ctx.call<Ptr>('virStorageVolCreateXML', 'null', this.handle('virStorageVolCreateXML'), xml, flags);
    return new StorageVolume(this.ctx, ptr);
  }

  /**
   * Looks a volume of this pool up by name (virStorageVolLookupByName).
   * @returns the volume, or null if none has that name (VIR_ERR_NO_STORAGE_VOL, 50).
   * @throws LibvirtError if the handle was freed or for any other libvirt failure.
   */
  lookupVolume(name: string): StorageVolume | null {
    const func = 'virStorageVolLookupByName';
    const ptr = lookupSync(func, ErrorCode.NO_STORAGE_VOL, this.handle(func), name);
    return ptr === null ? null : new StorageVolume(this.ctx, ptr);
  }

  /**
   * Every volume of the pool (virStoragePoolListAllVolumes), as of libvirt's last refresh of
   * it. The caller frees each one.
   * @throws LibvirtError (rejection) if the pool is inactive or libvirt fails.
   */
  async listVolumes(): Promise<StorageVolume[]> {
    const array: unknown[] = [null];
    const count = await this.ctx.call<number>('virStoragePoolListAllVolumes', 'negative', this.handle('virStoragePoolListAllVolumes'), array, 0);
    return takePointerArray(array[0], count).map((ptr) => new StorageVolume(this.ctx, ptr));
  }
}

/**
 * Looks a storage pool up by name (virStoragePoolLookupByName).
 * @returns the pool, or null if none has that name (VIR_ERR_NO_STORAGE_POOL, 49).
 * @throws LibvirtError if the connection is closed or for any other libvirt failure.
 */
export function lookupPool(conn: Connection, name: string): StoragePool | null {
  const ctx = conn.context;
  const func = 'virStoragePoolLookupByName';
  const ptr = lookupSync(func, ErrorCode.NO_STORAGE_POOL, ctx.handle(func), name);
  return ptr === null ? null : new StoragePool(ctx, ptr);
}

/**
 * Looks a volume up by its path on the host of the connection, in whichever pool holds it
 * (virStorageVolLookupByPath).
 * @returns the volume, or null if no pool of the connection holds that path (VIR_ERR_NO_STORAGE_VOL, 50).
 * @throws LibvirtError if the connection is closed or for any other libvirt failure.
 */
export function lookupVolumeByPath(conn: Connection, path: string): StorageVolume | null {
  const ctx = conn.context;
  const func = 'virStorageVolLookupByPath';
  const ptr = lookupSync(func, ErrorCode.NO_STORAGE_VOL, ctx.handle(func), path);
  return ptr === null ? null : new StorageVolume(ctx, ptr);
}

/**
 * Every storage pool on the connection, active or not (virConnectListAllStoragePools with no
 * filter flags). The caller frees each one.
 * @throws LibvirtError (rejection) if the connection is closed or libvirt fails.
 */
export async function listAllPools(conn: Connection): Promise<StoragePool[]> {
  const ctx = conn.context;
  const array: unknown[] = [null];
  const count = await ctx.call<number>('virConnectListAllStoragePools', 'negative', ctx.handle('virConnectListAllStoragePools'), array, 0);
  return takePointerArray(array[0], count).map((ptr) => new StoragePool(ctx, ptr));
}

/**
 * Creates and starts a transient pool from its XML (virStoragePoolCreateXML); it vanishes
 * when destroyed or when the daemon restarts.
 * @throws LibvirtError (rejection) for invalid XML, a name clash, or any libvirt failure.
 */
export async function createPool(conn: Connection, xml: string, flags = 0): Promise<StoragePool> {
  const ctx = conn.context;
  const ptr = await ctx.call<Ptr>('virStoragePoolCreateXML', 'null', ctx.handle('virStoragePoolCreateXML'), xml, flags);
  return new StoragePool(ctx, ptr);
}

/**
 * Defines (but does not start) a persistent pool from its XML (virStoragePoolDefineXML).
 * @throws LibvirtError (rejection) for invalid XML, a name clash, or any libvirt failure.
 */
export async function definePool(conn: Connection, xml: string): Promise<StoragePool> {
  const ctx = conn.context;
  const ptr = await ctx.call<Ptr>('virStoragePoolDefineXML', 'null', ctx.handle('virStoragePoolDefineXML'), xml, 0);
  return new StoragePool(ctx, ptr);
}

/**
 * The host path of volume `volume` in pool `pool` (virStoragePoolLookupByName,
 * virStorageVolLookupByName, virStorageVolGetPath): where a `<disk type='volume'>` reads its bytes.
 * @returns the path, or undefined when the pool or the volume does not exist.
 * @throws LibvirtError for any other libvirt failure.
 */
export function volumePath(conn: Connection, pool: string, volume: string): string | undefined {
  const p = lookupPool(conn, pool);
  const vol = p?.lookupVolume(volume);
  try {
    return vol?.path();
  } finally {
    vol?.free();
    p?.free();
  }
}
