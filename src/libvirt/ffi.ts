// Raw koffi binding of libvirt.so.0: lazy loading, C prototypes, the virError struct and error hooks.

import koffi, { type LibraryHandle, type TypeObject } from 'koffi';
import { LibvirtSetupError } from '../errors.js';

/** A non-NULL libvirt object pointer (virConnectPtr, virDomainPtr, ...) as koffi hands it out. */
export type Ptr = bigint;

/** The fields of a libvirt `virError` that virt-ovf uses. */
export interface ErrorInfo {
  /** virErrorNumber, e.g. 42 VIR_ERR_NO_DOMAIN. */
  code: number;
  /** virErrorDomain, e.g. 10 VIR_FROM_QEMU. */
  domain: number;
  /** Human-readable message, or '' when libvirt gave none. */
  message: string;
  /** virErrorLevel: 1 warning, 2 error. */
  level: number;
}

/** Every libvirt entry point virt-ovf calls, keyed by its C name. `char *!` results are freed with free(3). */
const PROTOTYPES = {
  virGetVersion: 'int virGetVersion(_Out_ unsigned long *libVer, const char *type, _Out_ unsigned long *typeVer)',
  virConnectOpen: 'virConnect *virConnectOpen(const char *name)',
  virConnectClose: 'int virConnectClose(virConnect *conn)',
  virConnectIsAlive: 'int virConnectIsAlive(virConnect *conn)',
  virConnectSetKeepAlive: 'int virConnectSetKeepAlive(virConnect *conn, int interval, unsigned int count)',
  virConnectGetURI: 'char *! virConnectGetURI(virConnect *conn)',
  virConnectGetLibVersion: 'int virConnectGetLibVersion(virConnect *conn, _Out_ unsigned long *libVer)',
  virConnectGetCapabilities: 'char *! virConnectGetCapabilities(virConnect *conn)',
  virConnectGetDomainCapabilities:
    'char *! virConnectGetDomainCapabilities(virConnect *conn, const char *emulatorbin, const char *arch, const char *machine, const char *virttype, unsigned int flags)',
  virDomainDefineXML: 'virDomain *virDomainDefineXML(virConnect *conn, const char *xml)',
  virDomainLookupByName: 'virDomain *virDomainLookupByName(virConnect *conn, const char *name)',
  virDomainLookupByUUIDString: 'virDomain *virDomainLookupByUUIDString(virConnect *conn, const char *uuid)',
  virDomainGetXMLDesc: 'char *! virDomainGetXMLDesc(virDomain *domain, unsigned int flags)',
  virDomainUndefineFlags: 'int virDomainUndefineFlags(virDomain *domain, unsigned int flags)',
  virDomainBackupBegin: 'int virDomainBackupBegin(virDomain *domain, const char *backupXML, const char *checkpointXML, unsigned int flags)',
  virDomainGetJobInfo: 'int virDomainGetJobInfo(virDomain *domain, void *info)',
  virDomainGetJobStats: 'int virDomainGetJobStats(virDomain *domain, _Out_ int *type, _Out_ void **params, _Out_ int *nparams, unsigned int flags)',
  virTypedParamsFree: 'void virTypedParamsFree(void *params, int nparams)',
  virDomainAbortJob: 'int virDomainAbortJob(virDomain *domain)',
  virDomainCreate: 'int virDomainCreate(virDomain *domain)',
  virDomainDestroy: 'int virDomainDestroy(virDomain *domain)',
  virDomainIsActive: 'int virDomainIsActive(virDomain *dom)',
  virDomainGetName: 'const char *virDomainGetName(virDomain *domain)',
  virDomainGetUUIDString: 'int virDomainGetUUIDString(virDomain *domain, void *buf)',
  virDomainFree: 'int virDomainFree(virDomain *domain)',
  virConnectListAllDomains: 'int virConnectListAllDomains(virConnect *conn, _Out_ void **domains, unsigned int flags)',
  virConnectListAllStoragePools: 'int virConnectListAllStoragePools(virConnect *conn, _Out_ void **pools, unsigned int flags)',
  virStoragePoolListAllVolumes: 'int virStoragePoolListAllVolumes(virStoragePool *pool, _Out_ void **vols, unsigned int flags)',
  virStoragePoolLookupByName: 'virStoragePool *virStoragePoolLookupByName(virConnect *conn, const char *name)',
  virStoragePoolCreateXML: 'virStoragePool *virStoragePoolCreateXML(virConnect *conn, const char *xmlDesc, unsigned int flags)',
  virStoragePoolDefineXML: 'virStoragePool *virStoragePoolDefineXML(virConnect *conn, const char *xmlDesc, unsigned int flags)',
  virStoragePoolCreate: 'int virStoragePoolCreate(virStoragePool *pool, unsigned int flags)',
  virStoragePoolDestroy: 'int virStoragePoolDestroy(virStoragePool *pool)',
  virStoragePoolUndefine: 'int virStoragePoolUndefine(virStoragePool *pool)',
  virStoragePoolRefresh: 'int virStoragePoolRefresh(virStoragePool *pool, unsigned int flags)',
  virStoragePoolGetXMLDesc: 'char *! virStoragePoolGetXMLDesc(virStoragePool *pool, unsigned int flags)',
  virStoragePoolGetName: 'const char *virStoragePoolGetName(virStoragePool *pool)',
  virStoragePoolIsActive: 'int virStoragePoolIsActive(virStoragePool *pool)',
  virStoragePoolGetInfo: 'int virStoragePoolGetInfo(virStoragePool *pool, void *info)',
  virStoragePoolFree: 'int virStoragePoolFree(virStoragePool *pool)',
  virStorageVolCreateXML: 'virStorageVol *virStorageVolCreateXML(virStoragePool *pool, const char *xmldesc, unsigned int flags)',
  virStorageVolLookupByName: 'virStorageVol *virStorageVolLookupByName(virStoragePool *pool, const char *name)',
  virStorageVolLookupByPath: 'virStorageVol *virStorageVolLookupByPath(virConnect *conn, const char *path)',
  virStorageVolGetPath: 'char *! virStorageVolGetPath(virStorageVol *vol)',
  virStorageVolGetName: 'const char *virStorageVolGetName(virStorageVol *vol)',
  virStorageVolGetXMLDesc: 'char *! virStorageVolGetXMLDesc(virStorageVol *vol, unsigned int flags)',
  virStorageVolDelete: 'int virStorageVolDelete(virStorageVol *vol, unsigned int flags)',
  virStorageVolUpload:
    'int virStorageVolUpload(virStorageVol *vol, virStream *stream, unsigned long long offset, unsigned long long length, unsigned int flags)',
  virStorageVolDownload:
    'int virStorageVolDownload(virStorageVol *vol, virStream *stream, unsigned long long offset, unsigned long long length, unsigned int flags)',
  virStorageVolFree: 'int virStorageVolFree(virStorageVol *vol)',
  virConnectListAllNetworks: 'int virConnectListAllNetworks(virConnect *conn, _Out_ void **nets, unsigned int flags)',
  virNetworkLookupByName: 'virNetwork *virNetworkLookupByName(virConnect *conn, const char *name)',
  virNetworkGetName: 'const char *virNetworkGetName(virNetwork *network)',
  virNetworkIsActive: 'int virNetworkIsActive(virNetwork *net)',
  virNetworkFree: 'int virNetworkFree(virNetwork *network)',
  virSecretLookupByUUIDString: 'virSecret *virSecretLookupByUUIDString(virConnect *conn, const char *uuid)',
  virSecretLookupByUsage: 'virSecret *virSecretLookupByUsage(virConnect *conn, int usageType, const char *usageID)',
  virSecretGetValue: 'void *virSecretGetValue(virSecret *secret, _Out_ size_t *value_size, unsigned int flags)',
  virSecretFree: 'int virSecretFree(virSecret *secret)',
  virStreamNew: 'virStream *virStreamNew(virConnect *conn, unsigned int flags)',
  virStreamSend: 'int virStreamSend(virStream *st, const void *data, size_t nbytes)',
  virStreamRecv: 'int virStreamRecv(virStream *st, void *data, size_t nbytes)',
  virStreamRecvFlags: 'int virStreamRecvFlags(virStream *st, void *data, size_t nbytes, unsigned int flags)',
  virStreamSendHole: 'int virStreamSendHole(virStream *st, long long length, unsigned int flags)',
  virStreamRecvHole: 'int virStreamRecvHole(virStream *st, _Out_ long long *length, unsigned int flags)',
  virStreamFinish: 'int virStreamFinish(virStream *st)',
  virStreamAbort: 'int virStreamAbort(virStream *st)',
  virStreamFree: 'int virStreamFree(virStream *st)',
  virGetLastError: 'virError *virGetLastError(void)',
  virResetLastError: 'void virResetLastError(void)',
  virConnCopyLastError: 'int virConnCopyLastError(virConnect *conn, void *to)',
  virConnResetLastError: 'void virConnResetLastError(virConnect *conn)',
  virResetError: 'void virResetError(void *err)',
  virSetErrorFunc: 'void virSetErrorFunc(void *userData, virErrorFunc *handler)',
  virEventRegisterDefaultImpl: 'int virEventRegisterDefaultImpl(void)',
  virEventRunDefaultImpl: 'int virEventRunDefaultImpl(void)',
  virConnSetErrorFunc: 'void virConnSetErrorFunc(virConnect *conn, void *userData, virErrorFunc *handler)',
} as const;

/** The C name of a bound libvirt function. */
export type FnName = keyof typeof PROTOTYPES;

/** A bound C function: call it directly (sync) or through `.async(...args, cb)` on a worker thread. */
export interface NativeFn {
  (...args: unknown[]): unknown;
  async(...args: unknown[]): void;
}

/** Receives every error libvirt dispatches: userData is the connection id (null for the global handler). */
export type ErrorListener = (userData: number | null, error: ErrorInfo) => void;

interface Bound {
  fns: Map<FnName, NativeFn>;
  virError: TypeObject;
  virStoragePoolInfo: TypeObject;
  handler: bigint;
}

let bound: Bound | undefined;
let listener: ErrorListener = () => {};

/** Loads libvirt.so.0 and declares all prototypes once; throws LibvirtSetupError if the library is missing. */
function load(): Bound {
  if (bound) return bound;
  let lib: LibraryHandle;
  try {
    lib = koffi.load('libvirt.so.0');
  } catch (cause) {
    throw new LibvirtSetupError(
      'cannot load libvirt.so.0: install the libvirt client library (Debian/Ubuntu: apt install libvirt0 libvirt-clients; ' +
        'Fedora/RHEL: dnf install libvirt-libs libvirt-client)',
      { cause },
    );
  }
  for (const name of ['virConnect', 'virDomain', 'virStoragePool', 'virStorageVol', 'virNetwork', 'virSecret', 'virStream']) {
    koffi.opaque(name);
  }
  const virError = koffi.struct('virError', {
    code: 'int', domain: 'int', message: 'char *', level: 'int', conn: 'void *', dom: 'void *',
    str1: 'char *', str2: 'char *', str3: 'char *', int1: 'int', int2: 'int', net: 'void *',
  });
  const virStoragePoolInfo = koffi.struct('virStoragePoolInfo', {
    state: 'int', capacity: 'unsigned long long', allocation: 'unsigned long long', available: 'unsigned long long',
  });
  const errorFunc = koffi.proto('void virErrorFunc(void *userData, virError *error)');
  const fns = new Map<FnName, NativeFn>();
  for (const [name, proto] of Object.entries(PROTOTYPES)) fns.set(name as FnName, lib.func(proto) as NativeFn);
  // One callback serves the global handler and every per-connection handler; it also silences
  // libvirt's default handler, which would print each error to stderr.
  const handler = koffi.register((userData: bigint | null, err: bigint | null) => {
    if (err === null) return;
    try {
      listener(userData === null ? null : Number(userData), decodeError(virError, err));
    } catch {
      // An exception must never travel back into libvirt.
    }
  }, koffi.pointer(errorFunc));
  bound = { fns, virError, virStoragePoolInfo, handler };
  (fns.get('virSetErrorFunc') as NativeFn)(null, handler);
  return bound;
}

function decodeError(type: TypeObject, ptr: bigint | Buffer): ErrorInfo {
  const raw = koffi.decode(ptr, type) as { code: number; domain: number; message: string | null; level: number };
  return { code: raw.code, domain: raw.domain, message: raw.message ?? '', level: raw.level };
}

let eventLoopRegistered = false;

/**
 * Registers libvirt's default event loop implementation (virEventRegisterDefaultImpl), once,
 * before the first connection opens. In-process drivers (qemu:///embed) refuse to open without
 * one, and remote connections need it for keepalive; `events.ts` runs the loop while a
 * connection is open (otherwise libvirtd would drop an idle client after its keepalive timeout).
 */
export function registerEventLoop(): void {
  if (eventLoopRegistered) return;
  (native('virEventRegisterDefaultImpl') as NativeFn)();
  eventLoopRegistered = true;
}

/** Returns the bound C function `name`, loading libvirt.so.0 on first use (LibvirtSetupError if missing). */
export function native(name: FnName): NativeFn {
  const fn = load().fns.get(name);
  if (fn === undefined) throw new Error(`libvirt function ${name} is not bound`);
  return fn;
}

/** Sets the function that receives every error libvirt dispatches to the installed handlers. */
export function setErrorListener(fn: ErrorListener): void {
  listener = fn;
}

/** Routes errors of connection `conn` to the listener with userData `id` (virConnSetErrorFunc). */
export function hookConnectionErrors(conn: Ptr, id: number): void {
  native('virConnSetErrorFunc')(conn, BigInt(id), load().handler);
}

/** The calling thread's last error (virGetLastError), or null when there is none. */
export function threadLastError(): ErrorInfo | null {
  const ptr = native('virGetLastError')() as bigint | null;
  if (ptr === null) return null;
  const info = decodeError(load().virError, ptr);
  return info.code === 0 ? null : info;
}

/** The last error recorded on connection `conn` (virConnCopyLastError + virResetError), or null. */
export function connectionLastError(conn: Ptr): ErrorInfo | null {
  const { virError } = load();
  const buf = Buffer.alloc(koffi.sizeof(virError)); // zeroed: virCopyError first resets the target
  const code = native('virConnCopyLastError')(conn, buf) as number;
  const info = code > 0 ? decodeError(virError, buf) : null;
  native('virResetError')(buf);
  return info;
}

/**
 * The `count` object pointers of a NULL-terminated array a virConnectListAll* or
 * virStoragePoolListAllVolumes call allocated (`array` from its `_Out_` argument); the array
 * itself is released with free(3), the objects belong to the caller.
 */
export function takePointerArray(array: unknown, count: number): Ptr[] {
  if (array === null || array === undefined) return [];
  try {
    return count > 0 ? (koffi.decode(array, 'void *', count) as Ptr[]) : [];
  } finally {
    koffi.free(array);
  }
}

/** The fields of a libvirt `virStoragePoolInfo` (libvirt-storage.h), sizes in bytes. */
export interface PoolInfoFields {
  /** virStoragePoolState: 0 inactive, 1 building, 2 running, 3 degraded, 4 inaccessible. */
  state: number;
  capacity: number;
  allocation: number;
  available: number;
}

/** A zeroed buffer the size of `virStoragePoolInfo`, for virStoragePoolGetInfo's out-parameter. */
export function poolInfoBuffer(): Buffer {
  return Buffer.alloc(koffi.sizeof(load().virStoragePoolInfo));
}

/** Decodes a `virStoragePoolInfo` that virStoragePoolGetInfo filled into `buf` (64-bit sizes as numbers). */
export function decodePoolInfo(buf: Buffer): PoolInfoFields {
  const raw = koffi.decode(buf, load().virStoragePoolInfo) as Record<keyof PoolInfoFields, number | bigint>;
  return { state: Number(raw.state), capacity: Number(raw.capacity), allocation: Number(raw.allocation), available: Number(raw.available) };
}

/**
 * Copies `size` bytes libvirt allocated at `ptr` (virSecretGetValue's result) into a new Buffer,
 * then overwrites them with zeros and releases them with free(3).
 */
export function takeSecretBytes(ptr: unknown, size: number): Buffer {
  const view = Buffer.from(koffi.view(ptr as bigint, size));
  try {
    return Buffer.from(view);
  } finally {
    view.fill(0);
    koffi.free(ptr);
  }
}

/**
 * Ends the process at once with `code` (libc `_exit`): no exit handlers, no joining of threads.
 * For a process whose libvirt call a worker thread still waits on (Node's exit would join that
 * thread and wait for libvirt). Standard output and error are written synchronously on Linux.
 */
export function exitNow(code: number): never {
  (koffi.load('libc.so.6').func('void _exit(int)') as (code: number) => void)(code);
  throw new Error('_exit returned');
}
