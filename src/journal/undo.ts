// What `virt-ovf cleanup` does with one journal entry: find the object, check it is still the
// one the run created, and remove it (or kill the child).
import { lstat, rm, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { lookupDomainByUUID, lookupPool, VIR_DOMAIN_UNDEFINE_NVRAM, VIR_DOMAIN_UNDEFINE_TPM, type Connection } from '../libvirt/index.js';
import type { JournalEntry } from './entries.js';
import { isRunning } from './process-identity.js';

/** An entry's object now: gone, foreign (exists but is not the one created: left alone, `why`), or ours with how to remove it. */
export type Found = { readonly state: 'gone' } | { readonly state: 'foreign'; readonly why: string } | { readonly state: 'ours'; remove(): Promise<void> };

const GONE: Found = { state: 'gone' };

/**
 * How far a file's timestamps may lag the clock the journal reads (Date.now), in ms: the kernel
 * stamps files from its coarse clock, updated once per tick (up to 10 ms at HZ=100), so a file
 * made 1 ms after the entry was written can look born a few ms before it.
 */
const COARSE_CLOCK_SLACK_MS = 20;

/**
 * Whether the file at `path` is the one `entry` recorded: same st_dev and st_ino once created;
 * while pending (killed before the creation was confirmed), born (statx btime, else ctime) no
 * earlier than the entry was written (less the coarse clock's slack), i.e. after the run recorded it.
 */
async function sameFile(entry: JournalEntry, path: string, want: 'file' | 'directory'): Promise<'gone' | 'same' | string> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  if (!st) return 'gone';
  if (want === 'file' ? !st.isFile() : !st.isDirectory()) return `${path} is no longer a ${want}`;
  if (entry.identity) return st.dev === entry.identity.dev && st.ino === entry.identity.ino ? 'same' : `${path} is another file now (inode ${st.ino}, recorded ${entry.identity.ino})`;
  const born = st.birthtimeMs > 0 ? st.birthtimeMs : st.ctimeMs;
  return born >= entry.recordedAt - COARSE_CLOCK_SLACK_MS ? 'same' : `${path} existed before the run recorded it`;
}

/** Finds a file or directory entry's object. */
async function findPath(entry: JournalEntry & { kind: 'file' | 'directory' }): Promise<Found> {
  const same = await sameFile(entry, entry.path, entry.kind);
  if (same === 'gone') return GONE;
  if (same !== 'same') return { state: 'foreign', why: same };
  return { state: 'ours', remove: () => (entry.kind === 'file' ? unlink(entry.path) : rm(entry.path, { recursive: true, force: true })) };
}

/** Finds a volume entry's object: the pool's volume of that name, at the recorded path, and (for a file) the same file. */
async function findVolume(conn: Connection, entry: JournalEntry & { kind: 'volume' }): Promise<Found> {
  const pool = lookupPool(conn, entry.pool);
  if (!pool) return { state: 'foreign', why: `pool ${entry.pool} does not exist (any more) on ${conn.uri()}` };
  if (pool.isActive()) await pool.refresh().catch(() => undefined);
  const vol = pool.isActive() ? pool.lookupVolume(entry.name) : null;
  if (!vol) return pool.isActive() ? GONE : { state: 'foreign', why: `pool ${entry.pool} is not active` };
  const path = vol.path();
  if (entry.path !== undefined && path !== entry.path) return { state: 'foreign', why: `volume ${entry.name} is at ${path}, not ${entry.path}` };
  const st = entry.notHere ? undefined : await lstat(path).catch(() => undefined);
  if (st?.isFile()) {
    const same = await sameFile(entry, path, 'file');
    if (same !== 'same') return { state: 'foreign', why: same === 'gone' ? `${path} vanished` : same };
  } else if (entry.state === 'pending') {
    return { state: 'foreign', why: `the run was killed while creating volume ${entry.name}, which is not a local file: check it and remove it with virsh vol-delete` };
  }
  return { state: 'ours', remove: () => vol.delete() };
}

/** Finds a domain entry's object by its UUID (chosen by the run, so unique to it). */
async function findDomain(conn: Connection, entry: JournalEntry & { kind: 'domain' }): Promise<Found> {
  const domain = lookupDomainByUUID(conn, entry.uuid);
  if (!domain) return GONE;
  if (domain.name() !== entry.name) return { state: 'foreign', why: `domain ${entry.uuid} is now named ${domain.name()}` };
  return {
    state: 'ours',
    remove: async () => {
      if (domain.isActive()) await domain.destroy();
      await domain.undefine(VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_TPM).catch(() => domain.undefine(VIR_DOMAIN_UNDEFINE_NVRAM));
    },
  };
}

/** Finds a backup job: the domain still runs a job (virDomainGetJobInfo) while the run's copy directory exists. */
async function findBackupJob(conn: Connection, entry: JournalEntry & { kind: 'backup-job' }): Promise<Found> {
  const domain = lookupDomainByUUID(conn, entry.uuid);
  if (!domain || !domain.isActive()) return GONE;
  const job = await domain.jobInfo();
  const dirThere = await lstat(entry.dir).then(() => true, () => false);
  if (job.type === 0 || !dirThere) return GONE;
  // The job may end by itself between the look and the abort: then there is nothing left to abort.
  const abort = () => domain.abortJob().catch(async (err: unknown) => {
    if ((await domain.jobInfo()).type !== 0) throw err;
  });
  return { state: 'ours', remove: abort };
}

/** Finds a child process: still running only if its pid has the recorded start time in this boot. */
function findProcess(entry: JournalEntry & { kind: 'process' }, bootId: string): Found {
  if (!isRunning({ pid: entry.pid, startTime: entry.startTime, bootId })) return GONE;
  return {
    state: 'ours',
    remove: async () => {
      process.kill(entry.pid, 'SIGKILL');
      for (let i = 0; i < 50 && isRunning({ pid: entry.pid, startTime: entry.startTime, bootId }); i++) await sleep(20);
    },
  };
}

/**
 * Finds the object of `entry` and whether it is the one the run created. `conn` is the
 * journal's connection (undefined when it could not be opened: libvirt objects are then left).
 * @throws LibvirtError and the errors of lstat(2) when the object cannot be examined.
 */
export async function findObject(entry: JournalEntry, conn: Connection | undefined, bootId: string): Promise<Found> {
  switch (entry.kind) {
    case 'file':
    case 'directory':
      return findPath(entry);
    case 'process':
      return findProcess(entry, bootId);
  }
  if (!conn) return { state: 'foreign', why: 'the connection of the run could not be opened' };
  if (entry.kind === 'volume') return findVolume(conn, entry);
  if (entry.kind === 'domain') return findDomain(conn, entry);
  return findBackupJob(conn, entry);
}
