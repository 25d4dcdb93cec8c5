// Property-based tests of the tar index and OVA opening (src/archive/tar.ts, ova.ts): valid tar
// files written by GNU tar, then mutated (bytes, header fields with fixed checksums, cuts,
// insertions), yield a consistent index or a PackageError, never another exception.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { PackageError } from '../../src/errors.js';
import { openArchive } from '../../src/archive/archive.js';
import { indexTar } from '../../src/archive/tar.js';
import { fixChecksum } from '../archive/tar-writer.js';
import { fcParams, HeapWatch, typedOutcomeAsync } from './helpers.js';

let work: string;
const seeds: Buffer[] = [];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'virt-ovf-prop-tar-'));
  const src = join(work, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  await writeFile(join(src, 'vm.ovf'), '<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"/>\n');
  await writeFile(join(src, 'vm.mf'), `SHA256(vm.ovf)= ${'0'.repeat(64)}\n`);
  await writeFile(join(src, 'disk1.vmdk'), Buffer.alloc(3000, 7));
  await writeFile(join(src, 'sub', `${'n'.repeat(120)}.iso`), 'long name\n');
  await symlink('vm.ovf', join(src, 'link'));
  for (const [format, names] of [
    ['ustar', ['vm.ovf', 'vm.mf', 'disk1.vmdk']],
    ['gnu', ['vm.ovf', 'disk1.vmdk', 'sub', 'link']],
    ['pax', ['vm.ovf', 'vm.mf', 'sub', 'disk1.vmdk']],
    ['v7', ['vm.ovf', 'disk1.vmdk']],
  ] as const) {
    const out = join(work, `seed-${format}.tar`);
    execFileSync('tar', [`--format=${format}`, '-cf', out, '-C', src, ...names]);
    seeds.push(await readFile(out));
  }
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Header fields (offset, width) worth rewriting: name, mode, size, checksum, typeflag, linkname, magic, prefix. */
const FIELDS: [number, number][] = [[0, 100], [100, 8], [124, 12], [148, 8], [156, 1], [157, 100], [257, 8], [345, 155]];

const fieldText = fc.oneof(
  fc.constantFrom('../evil', '/etc/passwd', '77777777777', '00000001000', '\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00', '\xff\xff\xff\xff', 'x', '1', '2', '5', 'S', 'L', 'K', 'x', 'g', 'ustar\x0000', 'ustar  \x00', '', '12 path=a\n'),
  fc.string({ maxLength: 24 }),
);

/** One mutation of a tar image. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('field' as const), block: fc.nat(), field: fc.nat(FIELDS.length - 1), text: fieldText }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 1100 }) }),
  fc.record({ kind: fc.constant('pax' as const), block: fc.nat(), records: fc.constantFrom('30 path=../../../../etc/x\n', '20 size=99999999\n', '11 size=\n', '16 linkpath=/x\n', '99 path=x\n', '9 a=b\n', '0\n') }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

/** Applies `m` to `bytes` (a copy is returned). Header edits recompute the checksum. */
function apply(bytes: Buffer, m: Mutation): Buffer {
  const out = Buffer.from(bytes);
  if (out.length === 0) return out;
  switch (m.kind) {
    case 'byte':
      out[m.at % out.length] = m.value;
      return out;
    case 'cut':
      return out.subarray(0, m.at % (out.length + 1));
    case 'insert': {
      const at = m.at % (out.length + 1);
      return Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
    }
    case 'field':
    case 'pax': {
      const blocks = Math.floor(out.length / 512);
      if (blocks === 0) return out;
      const at = (m.block % blocks) * 512;
      if (m.kind === 'field') {
        const [offset, width] = FIELDS[m.field] ?? [0, 100];
        out.fill(0, at + offset, at + offset + width);
        out.write(m.text, at + offset, width, 'latin1');
      } else {
        out.write(m.records, at, 512, 'latin1');
      }
      if (at + 512 <= out.length) fixChecksum(out, at);
      return out;
    }
  }
}

const caseArb = fc.record({ seed: fc.nat(), mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }) });

describe('property: indexTar and openArchive on mutated tar files', () => {
  it('return a consistent index or throw PackageError, for mutated GNU tar output', async () => {
    const heap = new HeapWatch();
    const path = join(work, 'mutated.tar');
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ seed, mutations }) => {
        heap.sample();
        const bytes = mutations.reduce(apply, seeds[seed % seeds.length] as Buffer);
        await writeFile(path, bytes);
        const index = await typedOutcomeAsync(() => indexTar(path), mutations);
        if (index instanceof Error) {
          assert.ok(index instanceof PackageError, `${index.name} is not a PackageError`);
          assert.equal(index.file, path);
        } else {
          const size = (await stat(path)).size;
          for (const m of index.members) {
            assert.equal(m.offset % 512, 0, 'data starts on a block boundary');
            assert.ok(m.offset + m.size <= size, 'data lies inside the file');
            assert.ok(Number.isSafeInteger(m.size) && m.size >= 0);
          }
        }
        const archive = await typedOutcomeAsync(() => openArchive(path), mutations);
        if (archive instanceof Error) assert.ok(archive instanceof PackageError, `${archive.name} is not a PackageError`);
        else for (const e of archive.entries()) assert.ok(!e.name.split('/').includes('..') && !e.name.startsWith('/'), e.name);
      }),
      fcParams(400, 6000),
    );
    heap.check('indexTar');
  });

  it('throw PackageError or index cleanly on random bytes behind a valid first header', async () => {
    const path = join(work, 'random.tar');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 5000 }), async (tail) => {
        const bytes = Buffer.concat([(seeds[0] as Buffer).subarray(0, 512), Buffer.from(tail)]);
        await writeFile(path, bytes);
        const result = await typedOutcomeAsync(() => indexTar(path), `<${bytes.length} bytes>`);
        if (result instanceof Error) assert.ok(result instanceof PackageError);
      }),
      fcParams(200, 2000),
    );
  });
});
