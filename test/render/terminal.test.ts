// A real import on a pseudo-terminal with -v: what the user sees has no garbled line (a stage line
// never shares a line with bar text) and -v shows the connection, the commands and the table rows.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance } from '../../scripts/appliance.js';
import { closeScratch, openScratch } from '../commands/helpers.js';
import { uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { ptyAvailable, runInPty, type PtyRun } from './pty.js';
import { renderScreen } from './vt.js';

const COLUMNS = 120;
const STAGE = /^\[\s*\d+\.\d\] /;
const BAR_GLYPHS = /[█░]/;

describe('an import on a terminal', async () => {
  const skip = (await ptyAvailable()) ? false : 'util-linux script(1) cannot run a command on a pty here';
  let pool: ScratchPool | undefined;
  let work: string | undefined;
  const name = uniqueName('vo-term');
  let run: PtyRun;
  let screen: string[] = [];

  before(async () => {
    if (skip) return;
    ({ pool, work } = await openScratch('terminal'));
    // 256 MiB with data: long enough for several bar updates of the conversion and the manifest check side by side.
    const app = await buildAppliance({ dir: join(work, 'app'), name: 'term', content: 'mixed', diskSizeBytes: 256 * 2 ** 20 });
    // --converter qemu-img: a child whose command line and exit status -v must show (the default decodes in-process).
    run = await runInPty(['import', app.ova!, '--pool', pool.name, '--name', name, '-v', '--converter', 'qemu-img'], { columns: COLUMNS });
    screen = renderScreen(run.output, COLUMNS);
  });
  after(() => closeScratch(pool, work, [name]));

  test('exit 0 and the result line last', { skip }, () => {
    assert.equal(run.code, 0, run.output);
    const shown = screen.filter((l) => l !== '');
    assert.match(shown.at(-1)!, new RegExp(`^Domain ${name} \\([0-9a-f-]{36}\\) defined$`));
  });

  test('every stage, warning and debug line stands alone: no bar text before or after it on its line', { skip }, () => {
    const lines = screen.filter((l) => STAGE.test(l) || /virt-ovf: /.test(l));
    assert.ok(lines.length >= 8, `too few lines:\n${screen.join('\n')}`);
    const garbled = lines.filter((l) => BAR_GLYPHS.test(l) || !(STAGE.test(l) || l.startsWith('virt-ovf: ')));
    assert.deepEqual(garbled, [], `lines sharing text with a bar:\n${screen.join('\n')}`);
  });

  test('every bar line is one whole bar: label first, nothing after its time field', { skip }, () => {
    const bars = screen.filter((l) => BAR_GLYPHS.test(l));
    assert.ok(bars.length >= 2, `expected the finished conversion and verification bars:\n${screen.join('\n')}`);
    for (const b of bars) assert.match(b, /^ {2}(Converting|Verifying ) \S+ \[[█░]+\] \d+% \| \d+\/\d+ [KM]iB \| (--|\d+\.\d) MiB\/s \| (ETA \S+|in \d+\.\ds)$/, b);
    assert.ok(bars.some((b) => b.startsWith(`  Converting ${name}-vmdisk1.qcow2 `) && b.includes('100%')), `no finished conversion bar:\n${bars.join('\n')}`);
  });

  test('the stages are shown once each, in order', { skip }, () => {
    const stages = screen.filter((l) => STAGE.test(l)).map((l) => l.replace(STAGE, ''));
    const expected = [/^Opening /, /^VirtualSystem "term"/, /^Checking the host/, /^Converting disk 1\/1 /, /^Verifying manifest term\.mf/, /^Manifest term\.mf: 2 file\(s\) verified$/, new RegExp(`^Defining domain ${name}`)];
    let at = -1;
    for (const e of expected) {
      const found = stages.findIndex((s, i) => i > at && e.test(s));
      assert.ok(found > at, `stage ${e} missing or out of order:\n${stages.join('\n')}`);
      assert.equal(stages.filter((s) => e.test(s)).length, 1, `stage ${e} shown more than once`);
      at = found;
    }
  });

  test('-v: the connection URI, every external command line, the table row of each Item', { skip }, () => {
    const debug = screen.filter((l) => l.startsWith('virt-ovf: debug: ')).map((l) => l.slice('virt-ovf: debug: '.length));
    assert.ok(debug.includes('libvirt connection URI: qemu:///system'), debug.join('\n'));
    assert.ok(debug.some((d) => /^run: (?:\S*setpriv --pdeathsig KILL -- )?qemu-img convert -p -W -f vmdk -O qcow2 -n .*\/[^ ]*-vmdisk1\.qcow2 \[pid \d+\]$/.test(d)), `qemu-img convert not logged:\n${debug.join('\n')}`);
    assert.ok(debug.some((d) => /^exit 0: qemu-img \[pid \d+\]$/.test(d)), 'the qemu-img exit status is not logged');
    for (const [id, row] of [['1', 'processor'], ['2', 'memory'], ['3', 'sata-ahci'], ['5', 'disk'], ['6', 'nic-e1000']]) {
      assert.ok(debug.some((d) => new RegExp(`^Item InstanceID ${id} .*: table row devices:${row}$`).test(d)), `Item ${id} → ${row} not logged:\n${debug.join('\n')}`);
    }
  });
});
