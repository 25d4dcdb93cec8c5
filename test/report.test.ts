// createReporter on a terminal: stage lines and bars never share a line, an error removes the bars,
// and a bar whose task never ended (an aborted conversion) does not keep the process alive.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { createReporter } from '../src/report.js';
import { renderScreen } from './render/vt.js';

const MIB = 2 ** 20;

function terminal(columns: number) {
  let text = '';
  const stream = Object.assign(
    {
      write(s: string) {
        text += s;
        return true;
      },
    },
    { columns },
  ) as unknown as NodeJS.WritableStream;
  return { stream, text: () => text };
}

describe('createReporter on a terminal', () => {
  test('an import with a conversion and a manifest check side by side: every stage line stands alone; the error removes the bars', () => {
    const t = terminal(100);
    const r = createReporter({ tty: true, err: t.stream, out: t.stream });
    r.emit({ kind: 'stage', message: 'Converting disk 1/1 (d.vmdk, vmdk) to ux-bench-vmdisk1.qcow2' });
    r.emit({ kind: 'stage', message: 'Verifying manifest d.mf: 2 file(s)' });
    r.emit({ kind: 'progress', task: 'verify', name: 'd.vmdk', bytesDone: 10 * MIB, bytesTotal: 100 * MIB });
    r.emit({ kind: 'progress', task: 'convert', name: 'ux-bench-vmdisk1.qcow2', bytesDone: 50 * MIB, bytesTotal: 1024 * MIB });
    r.emit({ kind: 'progress', task: 'verify', name: 'd.vmdk', bytesDone: 100 * MIB, bytesTotal: 100 * MIB });
    r.emit({ kind: 'progress-end', task: 'verify', name: 'd.vmdk' });
    r.emit({ kind: 'stage', message: 'Manifest d.mf: 2 file(s) verified' });
    r.emit({ kind: 'warning', message: 'something to know' });
    r.emit({ kind: 'stage', message: 'Import failed (interrupted by SIGINT); removing what this run created' });
    r.emit({ kind: 'stage', message: 'Rolled back: volume ux-bench-vmdisk1.qcow2' });
    r.emit({ kind: 'error', message: 'interrupted by SIGINT', exitCode: 130, errorClass: 'InterruptedError' });
    const shown = renderScreen(t.text(), 100).filter((l) => l !== '');
    const bars = shown.filter((l) => /[█░]/.test(l));
    assert.deepEqual(bars.length, 1, `only the finished verify bar stays:\n${shown.join('\n')}`);
    assert.match(bars[0]!, /^ {2}Verifying {2}d\.vmdk \[█+\] 100% \| 100\/100 MiB \|/);
    assert.deepEqual(
      shown.filter((l) => !/[█░]/.test(l)).map((l) => l.replace(/^\[\s*\d+\.\d\] /, '')),
      [
        'Converting disk 1/1 (d.vmdk, vmdk) to ux-bench-vmdisk1.qcow2',
        'Verifying manifest d.mf: 2 file(s)',
        'Manifest d.mf: 2 file(s) verified',
        'virt-ovf: warning: something to know',
        'Import failed (interrupted by SIGINT); removing what this run created',
        'Rolled back: volume ux-bench-vmdisk1.qcow2',
        'virt-ovf: error: interrupted by SIGINT',
      ],
    );
    assert.equal(shown.at(-1), 'virt-ovf: error: interrupted by SIGINT', 'no bar is drawn below the error');
  });

  test('without a terminal: progress every 10 % as plain lines, no escape sequences', () => {
    const t = terminal(80);
    const r = createReporter({ tty: false, err: t.stream });
    for (let done = 0; done <= 100; done += 5) r.emit({ kind: 'progress', task: 'convert', name: 'v.qcow2', bytesDone: done * MIB, bytesTotal: 100 * MIB });
    r.emit({ kind: 'progress-end', task: 'convert', name: 'v.qcow2' });
    assert.doesNotMatch(t.text(), /\x1b/);
    assert.equal(t.text().split('\n').filter((l) => /Converting v\.qcow2: \d+%$/.test(l)).length, 11);
  });

  test('a bar whose task never ended does not keep the process alive (the Ctrl-C hang of issue 12)', async () => {
    const report = new URL('../src/report.js', import.meta.url).href;
    const program = `
      const { createReporter } = await import(${JSON.stringify(report)});
      const err = { columns: 80, isTTY: true, write: () => true };
      const r = createReporter({ tty: true, err });
      r.emit({ kind: 'progress', task: 'convert', name: 'v.qcow2', bytesDone: 1, bytesTotal: 100 });
      r.emit({ kind: 'stage', message: 'Import failed' });`;
    const started = Date.now();
    const run = await execa('node', ['--input-type=module', '-e', program], { reject: false, timeout: 10_000, cwd: fileURLToPath(new URL('.', import.meta.url)) });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.ok(Date.now() - started < 5000, `the process took ${Date.now() - started} ms to end`);
  });
});
