// What a run journal records: one entry per thing a run creates, with what tells it apart later.

/** Something a run is about to create (recorded before it is created). */
export type JournalObject =
  /**
   * A pool volume (virStorageVolCreateXML); `path` is where it will be, when the pool says so;
   * `notHere`: the path is on the connection's host, not this machine (filled through a stream).
   */
  | { readonly kind: 'volume'; readonly pool: string; readonly name: string; readonly path?: string; readonly notHere?: boolean }
  /** A file the run creates with O_EXCL: a volume file in an output directory, DOMAIN.xml, a `.part`. */
  | { readonly kind: 'file'; readonly path: string }
  /** A private directory (temporary copies, export work directory, backup copies, qemu-nbd socket); removed with its content. */
  | { readonly kind: 'directory'; readonly path: string }
  /** A domain (virDomainDefineXML); the UUID was chosen before it was defined. */
  | { readonly kind: 'domain'; readonly uuid: string; readonly name: string }
  /** A push-mode backup job (virDomainBackupBegin) of domain `uuid` writing into `dir`. */
  | { readonly kind: 'backup-job'; readonly uuid: string; readonly domain: string; readonly dir: string }
  /** A child process (qemu-img, qemu-nbd, genisoimage); `startTime` from /proc/PID/stat. */
  | { readonly kind: 'process'; readonly pid: number; readonly startTime: string; readonly command: string };

/** The file identity of a created file, directory or volume file (stat(2) st_dev, st_ino; size in bytes when known). */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

/** One journal entry: the object, when it was recorded, and whether its creation was seen to succeed. */
export type JournalEntry = JournalObject & {
  readonly id: number;
  /** Date.now() just before the entry was written, i.e. before the object was created (ms). */
  readonly recordedAt: number;
  /** 'pending': recorded, creation not yet seen to succeed; 'created': it exists, with `identity` when it is a file. */
  readonly state: 'pending' | 'created';
  readonly identity?: FileIdentity;
};

/** A short human description of an object: `volume NAME in pool POOL`, `file PATH`, … */
export function describeObject(o: JournalObject): string {
  switch (o.kind) {
    case 'volume':
      return `volume ${o.name} in pool ${o.pool}`;
    case 'file':
      return `file ${o.path}`;
    case 'directory':
      return `directory ${o.path}`;
    case 'domain':
      return `domain ${o.name} (${o.uuid})`;
    case 'backup-job':
      return `backup job of domain ${o.domain} into ${o.dir}`;
    case 'process':
      return `process ${o.pid} (${o.command})`;
  }
}
