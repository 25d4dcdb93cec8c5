// indexTar on real tar files written by GNU tar in ustar, pax, gnu and v7 formats.

import assert from 'node:assert/strict';
import { link, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { indexTar, type TarMember } from '../../src/archive/tar.js';
import { makeTar, pseudoRandom, readAt, withTempDir } from './helpers.js';

/** Files written into every fixture directory: name to content. */
function baseFiles(): Map<string, Buffer> {
  return new Map([
    ['hello.txt', Buffer.from('hello, tar\n')],
    ['data.bin', pseudoRandom(70_001)],
    ['empty.txt', Buffer.alloc(0)],
    ['sub/inner.txt', Buffer.from('inner file\n')],
  ]);
}

/** Writes `files` under `dir`, creating parent directories. */
async function writeAll(dir: string, files: Map<string, Buffer>): Promise<void> {
  for (const [name, content] of files) {
    const path = join(dir, name);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, content);
  }
}

/** Asserts that every file of `files` is a 'file' member whose bytes at offset equal the content. */
async function assertFiles(tarPath: string, members: TarMember[], files: Map<string, Buffer>): Promise<void> {
  for (const [name, content] of files) {
    const member = members.find((m) => m.name === name);
    assert.ok(member, `member ${name} missing from ${members.map((m) => m.name).join(', ')}`);
    assert.equal(member.type, 'file');
    assert.equal(member.size, content.length, `size of ${name}`);
    assert.equal(member.offset % 512, 0, `offset of ${name} is block-aligned`);
    assert.ok((await readAt(tarPath, member.offset, member.size)).equals(content), `content of ${name}`);
  }
}

const longName = `${'n'.repeat(140)}-long.txt`; // 149 characters, past ustar's 100-byte name field
const longTarget = `${'t'.repeat(150)}`;
const splitPath = `${'d'.repeat(80)}/${'f'.repeat(60)}.txt`; // fits ustar only through prefix + name

describe('indexTar', () => {
  for (const format of ['ustar', 'pax', 'gnu', 'v7']) {
    it(`indexes a --format=${format} archive: offsets, sizes, directories, symlinks`, async () => {
      await withTempDir(async (dir) => {
        const src = join(dir, 'src');
        const files = baseFiles();
        if (format === 'gnu' || format === 'pax') files.set(longName, Buffer.from('long name content\n'));
        if (format === 'ustar' || format === 'pax') files.set(splitPath, Buffer.from('split path content\n'));
        if (format === 'pax') files.set('café-ünïcode.txt', Buffer.from('utf-8 name\n'));
        await writeAll(src, files);
        await symlink('hello.txt', join(src, 'link'));
        const withLongLink = format === 'gnu' || format === 'pax';
        if (withLongLink) await symlink(longTarget, join(src, 'longlink'));
        const names = [...new Set([...files.keys()].map((n) => n.split('/')[0] as string)), 'link'];
        if (withLongLink) names.push('longlink');
        const tarPath = join(dir, `t-${format}.tar`);
        makeTar(tarPath, src, names, format);

        const bytes = await readFile(tarPath);
        if (format === 'gnu') assert.ok(bytes.includes('././@LongLink'), 'the fixture uses GNU L/K headers');
        if (format === 'pax') assert.ok(bytes.includes(`path=${longName}`), 'the fixture uses pax path records');
        const { members } = await indexTar(tarPath);
        await assertFiles(tarPath, members, files);
        const sub = members.find((m) => m.name === 'sub/');
        assert.equal(sub?.type, 'directory');
        assert.equal(sub?.size, 0);
        const link = members.find((m) => m.name === 'link');
        assert.equal(link?.type, 'symlink');
        assert.equal(link?.linkName, 'hello.txt');
        assert.equal(link?.size, 0);
        if (withLongLink) assert.equal(members.find((m) => m.name === 'longlink')?.linkName, longTarget);
        const fileCount = members.filter((m) => m.type === 'file').length;
        assert.equal(fileCount, files.size, 'no extension header is reported as a member');
      });
    });
  }

  it('strips a leading "./" and keeps the raw name', async () => {
    await withTempDir(async (dir) => {
      const src = join(dir, 'src');
      const files = baseFiles();
      await writeAll(src, files);
      const tarPath = join(dir, 'dot.tar');
      makeTar(tarPath, src, ['.'], 'ustar');
      const { members } = await indexTar(tarPath);
      await assertFiles(tarPath, members, files);
      assert.equal(members.find((m) => m.name === 'hello.txt')?.rawName, './hello.txt');
      assert.equal(members.find((m) => m.rawName === './')?.name, '.');
    });
  });

  it('reports hard links with their target and no data', async () => {
    await withTempDir(async (dir) => {
      const src = join(dir, 'src');
      await writeAll(src, new Map([['a.txt', Buffer.from('shared\n')]]));
      await link(join(src, 'a.txt'), join(src, 'b.txt'));
      const tarPath = join(dir, 'hard.tar');
      makeTar(tarPath, src, ['a.txt', 'b.txt'], 'ustar');
      const { members } = await indexTar(tarPath);
      assert.deepEqual(
        members.map(({ name, type, size, linkName }) => ({ name, type, size, linkName })),
        [
          { name: 'a.txt', type: 'file', size: 7, linkName: undefined },
          { name: 'b.txt', type: 'hardlink', size: 0, linkName: 'a.txt' },
        ],
      );
    });
  });

  it('skips pax global headers', async () => {
    await withTempDir(async (dir) => {
      const src = join(dir, 'src');
      const files = baseFiles();
      await writeAll(src, files);
      const tarPath = join(dir, 'global.tar');
      makeTar(tarPath, src, ['hello.txt', 'data.bin'], 'pax', ['--pax-option=comment=made by the test']);
      const raw = await readAt(tarPath, 156, 1);
      assert.equal(raw.toString('latin1'), 'g', 'the fixture starts with a pax global header');
      const { members } = await indexTar(tarPath);
      assert.deepEqual(members.map((m) => m.name), ['hello.txt', 'data.bin']);
      await assertFiles(tarPath, members, new Map([...files].filter(([n]) => n !== 'empty.txt' && !n.includes('/'))));
    });
  });
});
