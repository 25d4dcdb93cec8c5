// The volume (or output-directory file) of one drive, journaled before it is made and undone by the rollback.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Rollback } from '../rollback.js';
import { createTarget, type CreatedTarget, type TargetStore } from '../storage/volumes.js';
import type { DriveTarget } from './targets.js';
import { claimExisting } from './existing-volumes.js';

/**
 * Creates the target (createTarget) recorded first in the run journal (a pool volume, or a file
 * in the output directory), and registers its removal with the rollback. An existing volume the
 * admin named (target.existing) is claimed instead (claimExisting): never created nor removed.
 * @throws what createTarget or claimExisting throw (the journal entry is dropped: nothing was made).
 */
export async function createJournaled(ctx: { readonly store: TargetStore; readonly rollback: Rollback }, target: DriveTarget, capacityBytes: number): Promise<CreatedTarget> {
  if (target.existing) return claimExisting(ctx, target, capacityBytes);
  const { store, rollback } = ctx;
  const notHere = store.kind === 'pool' && store.notHere === true;
  const entry = rollback.record(
    store.kind === 'pool'
      ? { kind: 'volume', pool: store.poolName, name: target.name, ...(store.poolPath !== undefined ? { path: join(store.poolPath, target.name) } : {}), ...(notHere ? { notHere } : {}) }
      : { kind: 'file', path: join(store.dir, target.name) },
  );
  let created: CreatedTarget;
  try {
    created = await createTarget(store, target.name, target.format, capacityBytes, { ...(target.volumeFormatType !== undefined ? { volumeFormatType: target.volumeFormatType } : {}), ...(target.partitionOf ? { partitionOf: target.partitionOf } : {}) });
  } catch (err) {
    rollback.dropped(entry);
    throw err;
  }
  // A volume on another host (transfer/choose.ts): a file of that path here is not it; an rbd volume's path (CEPHPOOL/IMAGE) is no file.
  const st = notHere || !created.path.startsWith('/') ? undefined : await stat(created.path).catch(() => undefined);
  rollback.created(entry, st && { dev: st.dev, ino: st.ino });
  rollback.add(`${store.kind === 'pool' ? 'volume' : 'file'} ${target.name}`, () => created.remove(), entry);
  return created;
}
