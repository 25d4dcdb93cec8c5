// Public surface of the libvirt binding: connection, domains, pools, volumes, networks, streams.

export { ErrorCode, type ConnHealth } from './call.js';
export { Connection, libraryVersion, resolveUri, type DomainCapabilitiesOptions } from './connect.js';
export {
  Domain,
  defineDomain,
  listAllDomains,
  lookupDomainByName,
  lookupDomainByUUID,
  removeDomainByUUID,
  VIR_DOMAIN_UNDEFINE_MANAGED_SAVE,
  VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
  VIR_DOMAIN_UNDEFINE_NVRAM,
  VIR_DOMAIN_UNDEFINE_KEEP_NVRAM,
  VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA,
  VIR_DOMAIN_UNDEFINE_TPM,
  VIR_DOMAIN_UNDEFINE_KEEP_TPM,
  VIR_DOMAIN_XML_SECURE,
  VIR_DOMAIN_XML_INACTIVE,
  VIR_DOMAIN_XML_UPDATE_CPU,
  VIR_DOMAIN_XML_MIGRATABLE,
} from './domain.js';
export { NativeHandle } from './handle.js';
export { Network, listAllNetworks, lookupNetwork } from './network.js';
export { StoragePool, listAllPools, lookupPool, createPool, definePool, lookupVolumeByPath, volumePath } from './pool.js';
export { Secret, lookupSecret, VIR_SECRET_USAGE_TYPE } from './secret.js';
export { Stream, VIR_STREAM_NONBLOCK, VIR_STREAM_RECV_STOP_AT_HOLE, type StreamRange } from './stream.js';
export {
  StorageVolume,
  VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA,
  VIR_STORAGE_VOL_DELETE_ZEROED,
  VIR_STORAGE_VOL_SPARSE_STREAM,
  VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM,
  VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM,
} from './volume.js';
export { ABORT_GRACE_MS, exitDespiteAbandonedCalls, giveUpOnAbort, isUnreachable, onAnsweringConnection, ROLLBACK_CALL_MS } from './recover.js';
