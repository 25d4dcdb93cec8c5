// The last check of a fault test file (issue 9 item 10): `virt-ovf cleanup` finds nothing that
// the file's runs left, in the run journals of this test process ($VIRT_OVF_STATE_DIR, set by
// test/libvirt/harness.ts and inherited by every CLI the tests start).
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { CLI } from '../commands/helpers.js';
import { TEST_URI } from '../libvirt/harness.js';

/** Result of `virt-ovf cleanup --json` (src/journal/cleanup.ts CleanupResult). */
interface CleanupJson {
  readonly runs: readonly { readonly journal?: string; readonly objects: readonly unknown[] }[];
  readonly left: number;
}

/**
 * Runs `virt-ovf cleanup --json` on this process's journals and asserts exit 0, no interrupted
 * run and nothing left alone: every failure the file provoked was rolled back in full.
 */
export async function assertCleanupFindsNothing(): Promise<void> {
  assert.ok(process.env['VIRT_OVF_STATE_DIR'], 'the test harness gives every test process its own state directory');
  const r = await execa('node', [CLI, 'cleanup', '--json'], { reject: false, stdin: 'ignore', env: { LIBVIRT_DEFAULT_URI: TEST_URI } });
  assert.equal(r.exitCode, 0, `virt-ovf cleanup: exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
  const line = r.stdout.split('\n').find((l) => l.includes('"kind":"result"'));
  assert.ok(line, `virt-ovf cleanup --json printed no result:\n${r.stdout}`);
  const result = (JSON.parse(line) as { result: CleanupJson }).result;
  assert.deepEqual({ runs: result.runs, left: result.left }, { runs: [], left: 0 }, 'an interrupted or failed run left something for virt-ovf cleanup');
}
