// virt-xml-validate adapter: checks domain XML against libvirt's RelaxNG schema (libvirt-clients).
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolError, VirtOvfError } from '../errors.js';

/**
 * Validates domain XML with `virt-xml-validate FILE domain`.
 * @throws VirtOvfError (exit 1: virt-ovf wrote invalid XML) with the validator's message;
 *   ToolError when virt-xml-validate is not installed.
 */
export async function validateDomainXml(xml: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'virt-ovf-validate-'));
  try {
    const file = join(dir, 'domain.xml');
    await writeFile(file, xml);
    const r = await execa('virt-xml-validate', [file, 'domain'], { reject: false, stdin: 'ignore' });
    if ((r as { code?: string }).code === 'ENOENT' || r.failed && r.exitCode === undefined) {
      throw new ToolError('virt-xml-validate not found: install libvirt-clients', { command: 'virt-xml-validate' });
    }
    if (r.exitCode !== 0) throw new VirtOvfError(`domain XML fails libvirt's schema: ${String(r.stderr).trim().split('\n').slice(0, 3).join('; ')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
