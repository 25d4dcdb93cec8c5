// An iscsi-direct pool for the tests: a tgtd target (harness/iscsi-target.ts) and the pool defined on the
// private libvirtd of harness/remote-libvirtd.ts (the host's own libvirtd may lack the iscsi-direct backend).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Connection } from '../../src/libvirt/index.js';
import { openPool, type TargetStore } from '../../src/storage/volumes.js';
import { startIscsiTarget, type IscsiTarget } from '../harness/iscsi-target.js';
import { startRemoteHost, type RemoteHost } from '../harness/remote-libvirtd.js';

export const MiB = 2 ** 20;
export const INITIATOR = 'iqn.2026-12.test.virt-ovf:initiator';

/** The target, the libvirt host and its opened iscsi-direct pool. */
export interface IscsiDirectPool {
  readonly target: IscsiTarget;
  readonly host: RemoteHost;
  readonly conn: Connection;
  readonly store: TargetStore & { kind: 'pool' };
  /** The pool's name on `host`. */
  readonly name: string;
  /** The CHAP secret's usage ID (usage type iscsi), when `chap` was given. */
  readonly secretUsage?: string;
  /** Closes the connection, stops libvirtd and tgtd, removes their files. Never throws. */
  close(): Promise<void>;
}

/** The pool XML of an iscsi-direct pool on `target`, with a CHAP <auth> naming secret usage `usage`. */
export function iscsiDirectPoolXml(name: string, target: IscsiTarget, usage?: string): string {
  const auth = target.chap && usage ? `<auth type='chap' username='${target.chap.user}'><secret usage='${usage}'/></auth>` : '';
  return `<pool type='iscsi-direct'><name>${name}</name><source><host name='${target.host}' port='${target.port}'/><device path='${target.iqn}'/><initiator><iqn name='${INITIATOR}'/></initiator>${auth}</source></pool>`;
}

/**
 * Starts a target with LUNs of `lunSizes` bytes (and CHAP account `chap`), a private libvirtd,
 * defines a libvirt secret holding the CHAP password (set from a 0600 file, never a command line)
 * and the iscsi-direct pool, starts it and opens it as virt-ovf does.
 * @returns the pool, or why it cannot run here (the caller skips).
 */
export async function openIscsiDirectPool(opts: { lunSizes: readonly number[]; chap?: { user: string; password: string } }): Promise<IscsiDirectPool | string> {
  const target = await startIscsiTarget({ lunSizes: opts.lunSizes, ...(opts.chap ? { chap: opts.chap } : {}) });
  if (typeof target === 'string') return target;
  const host = await startRemoteHost({ ssh: false });
  if (typeof host === 'string') {
    await target.stop();
    return host;
  }
  const name = 'isd';
  let conn: Connection | undefined;
  const close = async (): Promise<void> => {
    conn?.close();
    await host.stop();
    await target.stop();
  };
  try {
    let secretUsage: string | undefined;
    if (opts.chap) {
      secretUsage = `${name}-chap`;
      await writeFile(join(host.dir, 'secret.xml'), `<secret ephemeral='no' private='no'><usage type='iscsi'><target>${secretUsage}</target></usage></secret>`);
      const defined = await host.virsh('secret-define', join(host.dir, 'secret.xml'));
      const uuid = /([0-9a-f-]{36})/.exec(defined.stdout)?.[1];
      if (!uuid) throw new Error(`virsh secret-define: ${defined.stderr}`);
      await writeFile(join(host.dir, 'chap-password'), opts.chap.password, { mode: 0o600 });
      const set = await host.virsh('secret-set-value', uuid, '--file', join(host.dir, 'chap-password'), '--plain');
      if (set.code !== 0) throw new Error(`virsh secret-set-value: ${set.stderr}`);
    }
    await writeFile(join(host.dir, 'pool.xml'), iscsiDirectPoolXml(name, target, secretUsage));
    for (const args of [['pool-define', join(host.dir, 'pool.xml')], ['pool-start', name]]) {
      const r = await host.virsh(...args);
      if (r.code !== 0) throw new Error(`virsh ${args.join(' ')}: ${r.stderr.trim()}`);
    }
    conn = Connection.open(host.tcpUri);
    const store = (await openPool(conn, name)) as TargetStore & { kind: 'pool' };
    return { target, host, conn, store, name, ...(secretUsage ? { secretUsage } : {}), close };
  } catch (err) {
    await close();
    throw err;
  }
}
