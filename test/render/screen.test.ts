// TerminalScreen: what a terminal shows after lines and bars were written, through a VT screen model.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TerminalScreen } from '../../src/render/screen.js';
import { formatBar } from '../../src/render/bar.js';
import { renderScreen } from './vt.js';

/** A terminal stream of `columns` that keeps what was written. */
function terminal(columns: number): { stream: { write(s: string): boolean; columns: number }; text: () => string } {
  let text = '';
  return {
    stream: {
      columns,
      write(s: string) {
        text += s;
        return true;
      },
    },
    text: () => text,
  };
}

describe('TerminalScreen', () => {
  test('lines scroll above the bars; an ended bar stays as a finished line; clear removes the rest', () => {
    const t = terminal(60);
    const screen = new TerminalScreen(t.stream);
    screen.line('[   0.0] Opening a.ova');
    screen.bar('convert', '  Converting a.qcow2 [#.....] 10%');
    screen.bar('verify', '  Verifying  a.vmdk [##....] 20%');
    assert.deepEqual(renderScreen(t.text(), 60), ['[   0.0] Opening a.ova', '  Converting a.qcow2 [#.....] 10%', '  Verifying  a.vmdk [##....] 20%', '']);
    screen.line('[   1.0] Manifest a.mf: 2 file(s) verified');
    screen.end('verify', '  Verifying  a.vmdk [######] 100%');
    screen.line('[   2.0] Defining domain a');
    assert.deepEqual(renderScreen(t.text(), 60), [
      '[   0.0] Opening a.ova',
      '[   1.0] Manifest a.mf: 2 file(s) verified',
      '  Verifying  a.vmdk [######] 100%',
      '[   2.0] Defining domain a',
      '  Converting a.qcow2 [#.....] 10%',
      '',
    ]);
    assert.equal(screen.active, true);
    screen.clear();
    assert.equal(screen.active, false);
    assert.deepEqual(renderScreen(t.text(), 60), ['[   0.0] Opening a.ova', '[   1.0] Manifest a.mf: 2 file(s) verified', '  Verifying  a.vmdk [######] 100%', '[   2.0] Defining domain a', '']);
  });

  test('a bar longer than the terminal is cut to one column less, so it never wraps; a text line is kept whole', () => {
    const t = terminal(30);
    const screen = new TerminalScreen(t.stream);
    screen.bar('b', `  Converting ${'x'.repeat(60)}`);
    screen.line(`a line of ${'y'.repeat(40)}`);
    const shown = renderScreen(t.text(), 30);
    const bar = shown.find((l) => l.startsWith('  Converting'))!;
    assert.equal(bar.length, 29);
    assert.ok(bar.endsWith('…'));
    assert.equal(shown[0], `a line of ${'y'.repeat(40)}`, 'the text line is written whole (the terminal wraps it)');
    assert.equal(shown.filter((l) => l.startsWith('  Converting')).length, 1, 'the bar is drawn once, below the line');
  });

  test('bar updates within 100 ms are drawn together; a new bar and every line are drawn at once', () => {
    const t = terminal(80);
    const screen = new TerminalScreen(t.stream);
    screen.bar('b', 'bar 1%');
    const first = t.text();
    screen.bar('b', 'bar 2%');
    assert.equal(t.text(), first, 'an update right after a draw waits');
    screen.line('stage');
    assert.deepEqual(renderScreen(t.text(), 80), ['stage', 'bar 2%', ''], 'the line redraws the bar with its latest text');
  });

  test('a terminal without a size (a pty nobody sized) is taken as 80 columns', () => {
    const t = terminal(0);
    const screen = new TerminalScreen(t.stream);
    screen.bar('b', 'z'.repeat(100));
    assert.equal(renderScreen(t.text(), 200)[0]!.length, 79);
  });
});

describe('formatBar', () => {
  const start = 1_000_000;
  test('percentage, MiB done of total, the rate over the task\'s own time, and the time left', () => {
    const line = formatBar({ label: 'Converting d.qcow2', bytesDone: 256 * 2 ** 20, bytesTotal: 1024 * 2 ** 20, startedAt: start }, { now: start + 2000 });
    assert.match(line, /^ {2}Converting d\.qcow2 \[█{8}░{22}\] 25% \| 256\/1024 MiB \| 128\.0 MiB\/s \| ETA 06s$/);
  });
  test('the bar narrows so that the line fits the terminal, down to 10 columns', () => {
    const state = { label: 'Converting web1-vmdisk1.qcow2', bytesDone: 2 ** 30, bytesTotal: 2 ** 31, startedAt: start };
    assert.equal(formatBar(state, { now: start + 1000, columns: 100 }).length, 99);
    assert.match(formatBar(state, { now: start + 1000, columns: 40 }), / \[█{5}░{5}\] 50% /);
  });
  test('no rate or ETA in the first half second; sizes under 1 MiB in KiB; once done, the time it took', () => {
    assert.match(formatBar({ label: 'V', bytesDone: 10, bytesTotal: 100, startedAt: start }, { now: start + 100 }), /\| -- MiB\/s \| ETA --$/);
    assert.match(formatBar({ label: 'V', bytesDone: 3072, bytesTotal: 4096, startedAt: start }, { now: start + 100 }), /\| 3\/4 KiB \|/);
    assert.match(formatBar({ label: 'V', bytesDone: 4096, bytesTotal: 4096, startedAt: start }, { now: start + 1500 }), /100% \| 4\/4 KiB \| 0\.0 MiB\/s \| in 1\.5s$/);
  });
});
