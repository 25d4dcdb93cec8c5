// Virtual network (virNetworkPtr): look up by name, list, name, whether it runs.

import { callSync, ErrorCode, lookupSync, type ConnContext } from './call.js';
import type { Connection } from './connect.js';
import { takePointerArray, type Ptr } from './ffi.js';
import { NativeHandle } from './handle.js';

/** A libvirt virtual network, obtained from lookupNetwork(). */
export class Network extends NativeHandle {
  /** Wraps a virNetworkPtr the caller owns (internal: use lookupNetwork). */
  constructor(ctx: ConnContext, ptr: Ptr) {
    super(ctx, ptr, 'virNetworkFree', ErrorCode.INVALID_NETWORK);
  }

  /**
   * The network's name (virNetworkGetName).
   * @throws LibvirtError if the handle was freed or libvirt fails.
   */
  name(): string {
    return callSync<string>('virNetworkGetName', 'null', this.handle('virNetworkGetName'));
  }

  /**
   * Whether the network is running (virNetworkIsActive).
   * @throws LibvirtError if the handle was freed or libvirt fails.
   */
  isActive(): boolean {
    return callSync<number>('virNetworkIsActive', 'negative', this.handle('virNetworkIsActive')) === 1;
  }
}

/**
 * Looks a virtual network up by name (virNetworkLookupByName).
 * @returns the network, or null if none has that name (VIR_ERR_NO_NETWORK, 43).
 * @throws LibvirtError if the connection is closed or for any other libvirt failure.
 */
export function lookupNetwork(conn: Connection, name: string): Network | null {
  const ctx = conn.context;
  const func = 'virNetworkLookupByName';
  const ptr = lookupSync(func, ErrorCode.NO_NETWORK, ctx.handle(func), name);
  return ptr === null ? null : new Network(ctx, ptr);
}

/**
 * Every virtual network on the connection, active or not (virConnectListAllNetworks with no
 * filter flags). The caller frees each one.
 * @throws LibvirtError (rejection) if the connection is closed or libvirt fails (VIR_ERR_NO_SUPPORT without a network driver).
 */
export async function listAllNetworks(conn: Connection): Promise<Network[]> {
  const ctx = conn.context;
  const array: unknown[] = [null];
  const count = await ctx.call<number>('virConnectListAllNetworks', 'negative', ctx.handle('virConnectListAllNetworks'), array, 0);
  return takePointerArray(array[0], count).map((ptr) => new Network(ctx, ptr));
}
