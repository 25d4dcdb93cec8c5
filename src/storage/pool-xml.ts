// A storage pool's definition as import needs it (virStoragePoolGetXMLDesc, formatstorage.html): type, target path, source hosts, initiator and auth.
import { opt, plainChild, plainChildren } from '../xml/access.js';
import { parseXml } from '../xml/parse.js';
import type { NetworkHost, SourceAuth } from '../domain/model.js';
import { readAuth, readHosts } from '../domain/network-source.js';

/** The parts of a pool's XML import reads. */
export interface PoolDefinition {
  /** <pool type>: dir, fs, netfs, logical, disk, iscsi, rbd, ... */
  readonly type: string;
  /** <target><path>: the directory or device directory of the volumes, when the pool has one (not rbd). */
  readonly targetPath?: string;
  /** <source><name>: the Ceph pool of an rbd pool, the volume group of a logical pool. */
  readonly sourceName?: string;
  /** <source><device path>: the disks of a disk or logical pool; the target IQN of an iscsi or iscsi-direct pool. */
  readonly devices: readonly string[];
  /** <source><host name port>: the monitors of an rbd pool, the server of a netfs/gluster/iscsi pool. */
  readonly hosts: readonly NetworkHost[];
  /**
   * <source><auth type username><secret uuid|usage/>: the libvirt secret the pool (and its
   * guests) log in with; its secretType is the secret usage type (chap → iscsi, ceph → ceph).
   */
  readonly auth?: SourceAuth;
  /** <source><initiator><iqn name>: the initiator IQN an iscsi or iscsi-direct pool logs in as (required by iscsi-direct). */
  readonly initiator?: string;
}

/**
 * Reads a pool XML as libvirt returns it (well-formed: parse errors propagate as OvfParseError).
 * The auth's secret type is the usage type of the <auth type> (ceph → ceph, chap → iscsi).
 */
export function parsePoolXml(xml: string): PoolDefinition {
  const pool = parseXml(xml, 'storage pool XML');
  const source = plainChild(pool, 'source');
  return {
    type: pool.attrs.get('type') ?? 'unknown',
    ...opt('targetPath', plainChild(plainChild(pool, 'target'), 'path')?.text?.trim() || undefined),
    ...opt('sourceName', plainChild(source, 'name')?.text?.trim() || undefined),
    devices: plainChildren(source, 'device').flatMap((d) => (d.attrs.get('path') ? [d.attrs.get('path')!] : [])),
    hosts: readHosts(source),
    ...opt('auth', readAuth(plainChild(source, 'auth'))),
    ...opt('initiator', plainChild(plainChild(source, 'initiator'), 'iqn')?.attrs.get('name')?.trim() || undefined),
  };
}
