// exportDomain never replaces a file that appears at its output while it runs (the final move is
// link(2), which refuses an existing name), and with force re-checks what appeared before replacing it.
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { exportDomain } from '../../src/export/index.js';
import type { ReportEvent, Reporter } from '../../src/report.js';
import { TEST_URI } from '../libvirt/harness.js';
import { debris, fingerprint, useHeldFixture } from './held-fixture.js';

/** A reporter that runs `act` once, at the first stage event whose message starts with "Writing". */
function onWriting(act: () => void): Reporter {
  let done = false;
  return {
    warnings: [],
    emit(e: ReportEvent) {
      if (!done && e.kind === 'stage' && e.message.startsWith('Writing')) {
        done = true;
        act();
      }
    },
  };
}

describe('exportDomain: a file that appears at the output meanwhile', () => {
  const ctx = useHeldFixture('race');

  it('is not replaced: UsageError naming it (option force), the file as it was, no .part', async () => {
    const ova = join(ctx.work, 'appears.ova');
    const theirs = 'written by someone else meanwhile\n';
    const run = exportDomain({ domain: ctx.fx.exported.name, output: ova, connect: TEST_URI }, onWriting(() => writeFileSync(ova, theirs)));
    await assert.rejects(run, (err: unknown) => err instanceof UsageError && err.option === 'force' && err.message.includes(`${ova} appeared while exporting`));
    assert.equal(readFileSync(ova, 'utf8'), theirs);
    assert.deepEqual(readdirSync(ctx.work).filter((f) => f.startsWith('appears')), ['appears.ova']);
    assert.deepEqual(debris(ctx.work), []);
  });

  it('inside DIR/ is not replaced either, and none of the package files is left', async () => {
    const dir = join(ctx.work, 'appears-dir');
    mkdirSync(dir);
    const ovf = join(dir, `${ctx.fx.exported.name}.ovf`);
    const run = exportDomain({ domain: ctx.fx.exported.name, output: `${dir}/`, connect: TEST_URI }, onWriting(() => writeFileSync(ovf, 'not ours\n')));
    await assert.rejects(run, (err: unknown) => err instanceof UsageError && err.message.includes(`${ovf} appeared while exporting`));
    assert.deepEqual(readdirSync(dir), [`${ctx.fx.exported.name}.ovf`], 'only the file that appeared; no disk file, manifest or .part');
  });

  it('with force, a hard link to a domain disk that appeared is refused at the final check; disk and link intact', async () => {
    const ova = join(ctx.work, 'appears-held.ova');
    const before = fingerprint(ctx.fx.other.disk);
    const run = exportDomain({ domain: ctx.fx.exported.name, output: ova, connect: TEST_URI, force: true }, onWriting(() => linkSync(ctx.fx.other.disk, ova)));
    await assert.rejects(run, (err: unknown) => err instanceof UsageError && err.option === 'output' && err.message.includes(ova) && /is a disk of domain "[^"]*-other-/.test(err.message));
    assert.equal(fingerprint(ctx.fx.other.disk), before);
    assert.equal(fingerprint(ova), before, 'the link still names the disk');
    assert.deepEqual(debris(ctx.work), []);
  });
});
