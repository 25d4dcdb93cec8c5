// StreamedDigests: the conversion's digests of the members it reads, handed to the manifest check.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { StreamedDigests } from '../../src/import/digests.js';

describe('StreamedDigests', () => {
  const wanted = new Map([
    ['disk1.vmdk', new Set(['sha256', 'sha1'] as const)],
    ['disk2.vmdk', new Set(['sha256'] as const)],
    ['app.ovf', new Set(['sha256'] as const)],
  ]);

  it('gives the digests of a tapped member with every algorithm wanted, over exactly the bytes fed', async () => {
    const d = new StreamedDigests(wanted, ['disk1.vmdk', 'disk2.vmdk']);
    const tap = d.tap('disk1.vmdk')!;
    tap.update(Buffer.from('abc'));
    tap.update(Buffer.from('def'));
    tap.end(6);
    const r = await d.result('disk1.vmdk', new AbortController().signal);
    assert.equal(r?.bytes, 6);
    assert.equal(r?.hex.get('sha256'), createHash('sha256').update('abcdef').digest('hex'));
    assert.equal(r?.hex.get('sha1'), createHash('sha1').update('abcdef').digest('hex'));
  });

  it('taps a member once; a member nobody converts (the descriptor) or nobody lists is not waited for', async () => {
    const d = new StreamedDigests(wanted, ['disk1.vmdk', 'other.img']);
    assert.ok(d.tap('disk1.vmdk'));
    assert.equal(d.tap('disk1.vmdk'), undefined, 'a second reader gets no tap');
    assert.equal(d.expects('app.ovf'), false);
    assert.equal(d.expects('other.img'), false);
    assert.equal(d.tap('other.img'), undefined);
  });

  it('a member handed back or abandoned mid-way has no digest: the manifest check reads it itself', async () => {
    const d = new StreamedDigests(wanted, ['disk1.vmdk', 'disk2.vmdk']);
    d.handBack(['disk1.vmdk']);
    assert.equal(await d.result('disk1.vmdk', new AbortController().signal), undefined);
    const tap = d.tap('disk2.vmdk')!;
    tap.update(Buffer.from('partial'));
    tap.abandon();
    d.handBack(['disk2.vmdk']);
    assert.equal(await d.result('disk2.vmdk', new AbortController().signal), undefined);
  });

  it('waiting for a member is given up when the import is aborted', async () => {
    const d = new StreamedDigests(wanted, ['disk1.vmdk']);
    const ac = new AbortController();
    const waiting = d.result('disk1.vmdk', ac.signal);
    ac.abort(new Error('interrupted by SIGINT'));
    await assert.rejects(waiting, /interrupted by SIGINT/);
  });
});
