// Files and directories made below the drivers, recorded in the run's journal before they exist.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { recordInActive, type Ticket } from './journal.js';

/** A private directory and how to remove it (with its content; the journal entry goes too). */
export interface TrackedDir {
  readonly dir: string;
  release(): Promise<void>;
}

/**
 * Creates a private directory `parent/PREFIXxxxxxxxx` (as mkdtemp(3), mode `mode`, default
 * 0700, set with chmod(2) so the umask does not narrow it), recorded in the open run journals before mkdir(2) and marked created with its inode.
 * `release` removes it recursively and forgets it.
 * @throws the errors of mkdir(2) (ENOENT, EACCES, EROFS, ENOSPC…) as Node system errors, shaped
 *   as mkdtemp's (syscall `mkdtemp`, path `parent/PREFIXXXXXXX`).
 */
export async function makeTempDir(parent: string, prefix: string, mode = 0o700): Promise<TrackedDir> {
  for (;;) {
    const dir = join(parent, `${prefix}${randomBytes(6).toString('base64url').slice(0, 8)}`);
    const ticket = recordInActive({ kind: 'directory', path: dir });
    try {
      await mkdir(dir, { mode });
    } catch (err) {
      ticket.forget();
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      // Reported as mkdtemp(3) would be (Node's shape: the template as path), so the directory named is the parent.
      throw Object.assign(err as NodeJS.ErrnoException, { syscall: 'mkdtemp', path: join(parent, `${prefix}XXXXXX`) });
    }
    const st = await chmod(dir, mode).then(() => stat(dir));
    ticket.created({ dev: st.dev, ino: st.ino });
    let released = false;
    return {
      dir,
      release: async () => {
        if (released) return;
        released = true;
        await rm(dir, { recursive: true, force: true });
        ticket.forget();
      },
    };
  }
}

/**
 * Creates `path` with O_CREAT|O_EXCL (never an existing file), recorded in the open run journals
 * first and marked created with its inode. The caller forgets the ticket once the file is
 * removed or has been given its final name.
 * @throws the errors of open(2) (EEXIST when the file exists) as Node system errors.
 */
export async function openExclusive(path: string, mode: number): Promise<{ handle: FileHandle; ticket: Ticket }> {
  const ticket = recordInActive({ kind: 'file', path });
  let handle: FileHandle;
  try {
    handle = await open(path, 'wx', mode);
  } catch (err) {
    ticket.forget();
    throw err;
  }
  const st = await handle.stat();
  ticket.created({ dev: st.dev, ino: st.ino });
  return { handle, ticket };
}
