// ISO 9660 image with a few small files (the OVF environment CD), made with genisoimage.
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ToolError } from '../errors.js';
import { diesWithParent, trackChild } from '../journal/children.js';

/**
 * Writes an ISO 9660 image (Rock Ridge and Joliet names) at `isoPath` holding `files` at its
 * root, labelled `volumeId` (VMware labels the OVF environment CD "OVF ENV").
 * @throws ToolError when genisoimage is missing or fails.
 */
export async function makeIso(isoPath: string, volumeId: string, files: readonly { name: string; content: string | Buffer }[]): Promise<void> {
  const dir = await mkdtemp(`${isoPath}.d-`);
  try {
    for (const f of files) await writeFile(join(dir, f.name), f.content);
    const args = ['-quiet', '-o', isoPath, '-V', volumeId, '-r', '-J', dir];
    const guarded = diesWithParent('genisoimage', args);
    const child = execa(guarded.file, guarded.args, { reject: false, stdin: 'ignore' });
    const untrack = trackChild(child.pid, `genisoimage ${args.join(' ')}`);
    const r = await child.finally(untrack);
    if ((r as { code?: string }).code === 'ENOENT') throw new ToolError('genisoimage not found: install it (Debian: apt-get install genisoimage)', { command: 'genisoimage' });
    if (r.exitCode !== 0) throw new ToolError(`genisoimage failed: ${String(r.stderr).trim()}`, { command: `genisoimage ${args.join(' ')}`, ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}), stderr: String(r.stderr) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
