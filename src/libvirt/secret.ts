// Libvirt secret (virSecretPtr, formatsecret.html): look up by UUID or usage, read the value.

import { ErrorCode, lookupSync, type ConnContext } from './call.js';
import type { Connection } from './connect.js';
import { takeSecretBytes, type Ptr } from './ffi.js';
import { NativeHandle } from './handle.js';

/** virSecretUsageType by the <usage type> (and <auth>/<secret type>) that names it. */
export const VIR_SECRET_USAGE_TYPE = { volume: 1, ceph: 2, iscsi: 3, tls: 4, vtpm: 5 } as const;

/** A libvirt secret, obtained from lookupSecret(). */
export class Secret extends NativeHandle {
  /** Wraps a virSecretPtr the caller owns (internal: use lookupSecret). */
  constructor(ctx: ConnContext, ptr: Ptr) {
    super(ctx, ptr, 'virSecretFree', ErrorCode.INVALID_SECRET);
  }

  /**
   * The secret's value (virSecretGetValue): the raw bytes libvirt stores (a Ceph key is the
   * base64-decoded key). The caller overwrites the buffer once used; libvirt's copy is zeroed and freed.
   * @throws LibvirtError (rejection) when the secret has no value, is private to the daemon
   *   (a remote client may not read a private secret), or libvirt fails.
   */
  async value(): Promise<Buffer> {
    const func = 'virSecretGetValue';
    const size: unknown[] = [0];
    const ptr = await this.ctx.call<unknown>(func, 'null', this.handle(func), size, 0);
    return takeSecretBytes(ptr, Number(size[0]));
  }
}

/**
 * Looks a secret up by UUID (virSecretLookupByUUIDString) or by usage type and usage ID
 * (virSecretLookupByUsage: `usageType` a key of VIR_SECRET_USAGE_TYPE such as ceph, `usage` the
 * <usage><name>).
 * @returns the secret, or null when none matches (VIR_ERR_NO_SECRET, 66).
 * @throws LibvirtError for any other libvirt failure; RangeError for an unknown usage type.
 */
export function lookupSecret(conn: Connection, ref: { uuid: string } | { usageType: string; usage: string }): Secret | null {
  const ctx = conn.context;
  if ('uuid' in ref) {
    const ptr = lookupSync('virSecretLookupByUUIDString', ErrorCode.NO_SECRET, ctx.handle('virSecretLookupByUUIDString'), ref.uuid);
    return ptr === null ? null : new Secret(ctx, ptr);
  }
  const type = Object.hasOwn(VIR_SECRET_USAGE_TYPE, ref.usageType) ? VIR_SECRET_USAGE_TYPE[ref.usageType as keyof typeof VIR_SECRET_USAGE_TYPE] : undefined;
  if (type === undefined) throw new RangeError(`unknown libvirt secret usage type "${ref.usageType}"`);
  const ptr = lookupSync('virSecretLookupByUsage', ErrorCode.NO_SECRET, ctx.handle('virSecretLookupByUsage'), type, ref.usage);
  return ptr === null ? null : new Secret(ctx, ptr);
}
