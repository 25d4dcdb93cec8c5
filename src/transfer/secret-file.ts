// A libvirt secret handed to a QEMU process as a secret object read from a 0600 file, never on a command line.
import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceAuth } from '../domain/model.js';
import { LibvirtSetupError } from '../errors.js';
import { makeTempDir } from '../journal/tracked.js';
import { lookupSecret, type Connection } from '../libvirt/index.js';

/** A QEMU secret object (`--object` value) and the removal of the file it reads. */
export interface SecretObject {
  /** `secret,id=ID,file=KEYFILE`: QEMU reads the secret's raw value from the file when it starts. */
  readonly object: string;
  readonly id: string;
  /** Removes the file and its private directory; idempotent, never throws. */
  release(): Promise<void>;
}

/** The private directory for key files: tmpfs (/dev/shm) when there is one, so a key never reaches a disk. */
function keyDirParent(): string {
  try {
    return statSync('/dev/shm').isDirectory() ? '/dev/shm' : tmpdir();
  } catch {
    return tmpdir();
  }
}

/**
 * Reads the libvirt secret `auth` names (virSecretLookupByUUIDString or virSecretLookupByUsage,
 * virSecretGetValue) into a 0600 file in a private, journaled directory and returns the QEMU
 * secret object `id` reading it. The raw value is what QEMU's drivers expect: rbd's
 * `key-secret` base64-encodes it into the cephx key, iscsi's `password-secret` takes it as text.
 * Release it as soon as QEMU has started (it reads the file once).
 * @throws LibvirtSetupError (exit 4, option `pool`) when the secret does not exist or its value
 *   cannot be read (a private secret); LibvirtError for other libvirt failures; OS errors.
 */
export async function secretObject(conn: Connection, auth: SourceAuth, id: string): Promise<SecretObject> {
  const which = auth.uuid !== undefined ? `secret ${auth.uuid}` : `${auth.secretType} secret "${auth.usage}"`;
  const secret = lookupSecret(conn, auth.uuid !== undefined ? { uuid: auth.uuid } : { usageType: auth.secretType, usage: auth.usage ?? '' });
  if (!secret) throw new LibvirtSetupError(`libvirt ${which} of user "${auth.username}" does not exist; define it with virsh secret-define and virsh secret-set-value`, { option: 'pool' });
  let value: Buffer;
  try {
    value = await secret.value().catch((err: unknown) => {
      throw new LibvirtSetupError(`cannot read the value of libvirt ${which} (${(err as Error).message}); virt-ovf hands the key to QEMU on this machine, so the secret must not be private (<secret private='no'>)`, { option: 'pool', cause: err });
    });
  } finally {
    secret.free();
  }
  try {
    const { dir, release } = await makeTempDir(keyDirParent(), 'virt-ovf-key-');
    const file = join(dir, 'key');
    await writeFile(file, value, { mode: 0o600, flag: 'wx' }).catch(async (err: unknown) => {
      await release().catch(() => undefined);
      throw err;
    });
    let released: Promise<void> | undefined;
    return { object: `secret,id=${id},file=${file}`, id, release: () => (released ??= release().catch(() => undefined)) };
  } finally {
    value.fill(0);
  }
}
