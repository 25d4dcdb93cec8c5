// Journal test helpers: a private state directory, and the identity of a process that has exited.
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAtomic, type JournalFile } from '../../src/journal/journal.js';
import type { FileIdentity, JournalEntry, JournalObject } from '../../src/journal/entries.js';
import { identityOf, type ProcessIdentity } from '../../src/journal/process-identity.js';

/** A fresh private state directory and how to remove it. */
export async function privateStateDir(label: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `virt-ovf-state-${label}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The identity a real process had while it ran; it has exited and been reaped when this resolves. */
export async function deadProcess(): Promise<ProcessIdentity> {
  const child = execa('sleep', ['30'], { reject: false });
  const who = identityOf(child.pid!)!;
  child.kill('SIGKILL');
  await child.catch(() => undefined);
  return who;
}

/** Writes a journal file as a run of process `who` would have left it. */
export function writeJournal(dir: string, who: ProcessIdentity, entries: readonly (JournalObject & { recordedAt: number; state: 'pending' | 'created'; identity?: FileIdentity })[], uri = 'qemu:///system'): string {
  const path = join(dir, `${who.pid}-${who.startTime}-test.json`);
  const file: JournalFile = { version: 1, process: who, uri, command: 'import test.ova', startedAt: new Date().toISOString(), entries: entries.map((e, i) => ({ ...e, id: i + 1 }) as JournalEntry) };
  writeAtomic(path, JSON.stringify(file));
  return path;
}
