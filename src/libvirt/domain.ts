// Domain (virDomainPtr): define, look up, read XML, start, destroy and undefine guests.

import { LibvirtError } from '../errors.js';
import { callSync, ErrorCode, lookupSync, type ConnContext } from './call.js';
import type { Connection } from './connect.js';
import { native, takePointerArray, type Ptr } from './ffi.js';
import { NativeHandle } from './handle.js';

/** virDomainUndefineFlagsValues: also remove the managed save image. */
export const VIR_DOMAIN_UNDEFINE_MANAGED_SAVE = 1;
/** virDomainUndefineFlagsValues: also remove snapshot metadata. */
export const VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA = 2;
/** virDomainUndefineFlagsValues: also remove the UEFI NVRAM file. */
export const VIR_DOMAIN_UNDEFINE_NVRAM = 4;
/** virDomainUndefineFlagsValues: keep the UEFI NVRAM file. */
export const VIR_DOMAIN_UNDEFINE_KEEP_NVRAM = 8;
/** virDomainUndefineFlagsValues: also remove checkpoint metadata. */
export const VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA = 16;
/** virDomainUndefineFlagsValues: also remove the emulated TPM state (libvirt >= 8.9.0). */
export const VIR_DOMAIN_UNDEFINE_TPM = 32;
/** virDomainUndefineFlagsValues: keep the emulated TPM state (libvirt >= 8.9.0). */
export const VIR_DOMAIN_UNDEFINE_KEEP_TPM = 64;

/** virDomainXMLFlags: include security-sensitive data (passwords). */
export const VIR_DOMAIN_XML_SECURE = 1;
/** virDomainXMLFlags: the persistent (inactive) definition rather than the live one. */
export const VIR_DOMAIN_XML_INACTIVE = 2;
/** virDomainXMLFlags: expand the guest CPU according to the host CPU. */
export const VIR_DOMAIN_XML_UPDATE_CPU = 4;
/** virDomainXMLFlags: XML suitable for migration. */
export const VIR_DOMAIN_XML_MIGRATABLE = 8;

/** Length of a UUID in its textual form plus NUL (VIR_UUID_STRING_BUFLEN). */
const UUID_STRING_BUFLEN = 37;

/** A libvirt domain (guest), obtained from defineDomain() or the lookups. */
export class Domain extends NativeHandle {
  /** Wraps a virDomainPtr the caller owns (internal: use defineDomain or a lookup). */
  constructor(ctx: ConnContext, ptr: Ptr) {
    super(ctx, ptr, 'virDomainFree', ErrorCode.INVALID_DOMAIN);
  }

  /**
   * The domain's name (virDomainGetName).
   * @throws LibvirtError if the handle was freed or libvirt fails.
   */
  name(): string {
    return callSync<string>('virDomainGetName', 'null', this.handle('virDomainGetName'));
  }

  /**
   * The domain's UUID in its 36-character textual form (virDomainGetUUIDString).
   * @throws LibvirtError if the handle was freed or libvirt fails.
   */
  uuid(): string {
    const buf = Buffer.alloc(UUID_STRING_BUFLEN);
    callSync('virDomainGetUUIDString', 'negative', this.handle('virDomainGetUUIDString'), buf);
    const end = buf.indexOf(0);
    return buf.toString('latin1', 0, end < 0 ? buf.length : end);
  }

  /**
   * The domain XML (virDomainGetXMLDesc); `flags` ORs VIR_DOMAIN_XML_* values.
   * @throws LibvirtError (rejection) if the handle was freed or libvirt fails.
   */
  xml(flags = 0): Promise<string> {
    return this.ctx.call<string>('virDomainGetXMLDesc', 'null', this.handle('virDomainGetXMLDesc'), flags);
  }

  /**
   * Whether the domain is running (virDomainIsActive).
   * @throws LibvirtError if the handle was freed or libvirt fails.
   */
  isActive(): boolean {
    return callSync<number>('virDomainIsActive', 'negative', this.handle('virDomainIsActive')) === 1;
  }

  /**
   * Boots the defined domain (virDomainCreate).
   * @throws LibvirtError (rejection) if it is already running, the emulator fails, or libvirt fails.
   */
  async start(): Promise<void> {
    await this.ctx.call<number>('virDomainCreate', 'negative', this.handle('virDomainCreate'));
  }

  /**
   * Powers the domain off at once, like pulling the plug (virDomainDestroy).
   * @throws LibvirtError (rejection) if it is not running or libvirt fails.
   */
  async destroy(): Promise<void> {
    await this.ctx.call<number>('virDomainDestroy', 'negative', this.handle('virDomainDestroy'));
  }

  /**
   * Removes the persistent definition (virDomainUndefineFlags); `flags` ORs
   * VIR_DOMAIN_UNDEFINE_* values. A running domain becomes transient. The handle stays valid
   * until free().
   * @throws LibvirtError (rejection) if the domain is not persistent or libvirt fails.
   */
  async undefine(flags = 0): Promise<void> {
    await this.ctx.call<number>('virDomainUndefineFlags', 'negative', this.handle('virDomainUndefineFlags'), flags);
  }

  /**
   * Starts a backup job (virDomainBackupBegin) from a <domainbackup> XML, e.g. push mode
   * copying each disk's point-in-time content to a target file while the guest runs.
   * @throws LibvirtError (rejection) when the domain is not running, a job is active, or the XML is refused.
   */
  async beginBackup(backupXml: string): Promise<void> {
    await this.ctx.call<number>('virDomainBackupBegin', 'negative', this.handle('virDomainBackupBegin'), backupXml, null, 0);
  }

  /**
   * The active job (virDomainGetJobInfo): `type` 0 none, 1 bounded, 2 unbounded; data sizes in bytes.
   * @throws LibvirtError (rejection) when libvirt fails.
   */
  async jobInfo(): Promise<{ type: number; dataTotalBytes: number; dataProcessedBytes: number }> {
    const buf = Buffer.alloc(96); // virDomainJobInfo: int + 11 unsigned long long
    await this.ctx.call<number>('virDomainGetJobInfo', 'negative', this.handle('virDomainGetJobInfo'), buf);
    return { type: buf.readInt32LE(0), dataTotalBytes: Number(buf.readBigUInt64LE(24)), dataProcessedBytes: Number(buf.readBigUInt64LE(32)) };
  }

  /**
   * How the last job ended (virDomainGetJobStats with VIR_DOMAIN_JOB_STATS_COMPLETED):
   * 3 completed, 4 failed, 5 cancelled, 0 when libvirt kept no record.
   * @throws LibvirtError (rejection) when libvirt fails.
   */
  async completedJobType(): Promise<number> {
    const type = [0];
    const params: unknown[] = [null];
    const nparams = [0];
    await this.ctx.call<number>('virDomainGetJobStats', 'negative', this.handle('virDomainGetJobStats'), type, params, nparams, 1);
    if (params[0] !== null) native('virTypedParamsFree')(params[0], nparams[0]);
    return type[0]!;
  }

  /**
   * Aborts the active job (virDomainAbortJob), e.g. a backup when the export is interrupted.
   * @throws LibvirtError (rejection) when there is no job or libvirt fails.
   */
  async abortJob(): Promise<void> {
    await this.ctx.call<number>('virDomainAbortJob', 'negative', this.handle('virDomainAbortJob'));
  }
}

/**
 * Defines (but does not start) a persistent domain from its XML (virDomainDefineXML).
 * Redefining an existing name/UUID pair updates it.
 * @throws LibvirtError (rejection) for invalid XML, a name/UUID clash, or any libvirt failure.
 */
export async function defineDomain(conn: Connection, xml: string): Promise<Domain> {
  const ctx = conn.context;
  const ptr = await ctx.call<Ptr>('virDomainDefineXML', 'null', ctx.handle('virDomainDefineXML'), xml);
  return new Domain(ctx, ptr);
}

/**
 * Looks a domain up by name (virDomainLookupByName).
 * @returns the domain, or null if none has that name (VIR_ERR_NO_DOMAIN, 42).
 * @throws LibvirtError if the connection is closed or for any other libvirt failure.
 */
export function lookupDomainByName(conn: Connection, name: string): Domain | null {
  const ctx = conn.context;
  const ptr = lookupSync('virDomainLookupByName', ErrorCode.NO_DOMAIN, ctx.handle('virDomainLookupByName'), name);
  return ptr === null ? null : new Domain(ctx, ptr);
}

/**
 * Looks a domain up by its textual UUID (virDomainLookupByUUIDString).
 * @returns the domain, or null if none has that UUID (VIR_ERR_NO_DOMAIN, 42).
 * @throws LibvirtError for a malformed UUID (VIR_ERR_INVALID_ARG), a closed connection, or
 *   any other libvirt failure.
 */
export function lookupDomainByUUID(conn: Connection, uuid: string): Domain | null {
  const ctx = conn.context;
  const func = 'virDomainLookupByUUIDString';
  const ptr = lookupSync(func, ErrorCode.NO_DOMAIN, ctx.handle(func), uuid);
  return ptr === null ? null : new Domain(ctx, ptr);
}

/**
 * Every domain on the connection, running or not, persistent or transient
 * (virConnectListAllDomains with no filter flags). The caller frees each one.
 * @throws LibvirtError (rejection) if the connection is closed or libvirt fails.
 */
export async function listAllDomains(conn: Connection): Promise<Domain[]> {
  const ctx = conn.context;
  const array: unknown[] = [null];
  const count = await ctx.call<number>('virConnectListAllDomains', 'negative', ctx.handle('virConnectListAllDomains'), array, 0);
  return takePointerArray(array[0], count).map((ptr) => new Domain(ctx, ptr));
}

/**
 * Removes the domain with this UUID, if there is one: powers it off when it runs
 * (virDomainIsActive, virDomainDestroy), then removes its definition (virDomainUndefineFlags
 * with `flags`). Only worker-thread calls, so Connection.interrupt() and setDeadline() bound it.
 * @returns false when no domain has the UUID.
 * @throws LibvirtError (rejection) when libvirt fails or does not answer.
 */
export async function removeDomainByUUID(conn: Connection, uuid: string, flags = 0): Promise<boolean> {
  const ctx = conn.context;
  const func = 'virDomainLookupByUUIDString';
  let ptr: Ptr;
  try {
    ptr = await ctx.call<Ptr>(func, 'null', ctx.handle(func), uuid);
  } catch (err) {
    if (err instanceof LibvirtError && err.code === ErrorCode.NO_DOMAIN) return false;
    throw err;
  }
  const domain = new Domain(ctx, ptr);
  try {
    if ((await ctx.call<number>('virDomainIsActive', 'negative', ptr)) === 1) await domain.destroy();
    await domain.undefine(flags);
    return true;
  } finally {
    domain.free();
  }
}
