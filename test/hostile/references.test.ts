// Hostile ovf:href values, end to end (issue 4, hostile input 6): URLs (with a listening server
// that must see no connection), host paths, escapes, duplicates, missing files; and, for a package
// directory, links and FIFOs that would reach outside it.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { copyFile, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertRefused } from './checks.js';
import { editOvf, packOva, setUp, stage, tearDown, watch, type OvfEdit, type Scene } from './kit.js';
import { importPkg } from './run.js';

describe('hostile references are refused with zero network I/O (exit 3)', () => {
  let s: Scene;
  let server: Server;
  let port = 0;
  let connections = 0;
  let outside: string;

  before(async () => {
    s = await setUp('refs');
    server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
    outside = join(s.work, 'outside.vmdk');
    await copyFile(s.base.vmdk, outside);
    await watch(s, outside);
    await watch(s, join(s.work, 'x'));
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await tearDown(s);
  });

  /** An OVA holding the good disk and a descriptor edited by `e`; imports it and asserts the refusal. */
  async function refusedOva(label: string, e: OvfEdit, message: RegExp[]): Promise<void> {
    const ova = await packOva(s, label, { 'app.ovf': editOvf(s.ovf, e), 'app-disk1.vmdk': { copy: s.base.vmdk } });
    const run = await importPkg(s, ova);
    await assertRefused(s, run, { code: 3, message, qemu: 'none', absent: [join(s.work, 'x')] });
  }

  test('6. an http:// href to a listening server: refused, and the server sees no connection', async () => {
    const href = `http://127.0.0.1:${port}/x.vmdk`;
    await refusedOva('http', { href }, [new RegExp(`http\\.ova: References/File "file1": ovf:href "http://127\\.0\\.0\\.1:${port}/x\\.vmdk" is a URL \\(scheme "http:"\\); only files inside the package are supported`)]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(connections, 0, 'virt-ovf connected to the URL in ovf:href');
  });

  test('6. a file:///etc/passwd href', async () => {
    await refusedOva('file-url', { href: 'file:///etc/passwd' }, [/ovf:href "file:\/\/\/etc\/passwd" is a URL \(scheme "file:"\)/]);
  });

  test('6. an absolute path href', async () => {
    await refusedOva('absolute', { href: '/etc/passwd' }, [/References\/File "file1": ovf:href "\/etc\/passwd" is an absolute path; only paths relative to the package are supported/]);
  });

  test('6. an href sub/../../x', async () => {
    await refusedOva('dotdot', { href: 'sub/../../x' }, [/ovf:href "sub\/\.\.\/\.\.\/x" contains a "\.\." path step, which could reach outside the package/]);
  });

  test('6. an href with percent-escaped dots and slashes (%2e%2e%2fx)', async () => {
    await refusedOva('percent', { href: '%2e%2e%2fx' }, [/ovf:href "%2e%2e%2fx" contains a percent-escaped dot, slash, backslash or NUL/]);
  });

  test('6. two File elements with the same href', async () => {
    await refusedOva('dup-href', { moreFiles: '<File ovf:href="app-disk1.vmdk" ovf:id="file2"/>' }, [
      /References\/File "file2" and References\/File "file1" both have ovf:href "app-disk1\.vmdk"; duplicate hrefs are refused/,
    ]);
  });

  test('6. an href to a file the package lacks', async () => {
    await refusedOva('missing', { href: 'missing.vmdk' }, [/missing\.ova: no member named "missing\.vmdk"; References\/File "file1" references it/]);
  });

  /** A package directory holding the descriptor (edited by `e`); `prepare` adds what the case needs. */
  async function refusedDir(label: string, e: OvfEdit, prepare: (dir: string) => Promise<void>, message: RegExp[]): Promise<void> {
    const dir = await stage(s, label, { 'app.ovf': editOvf(s.ovf, e) });
    await prepare(dir);
    const run = await importPkg(s, join(dir, 'app.ovf'), { timeoutMs: 30_000 });
    await assertRefused(s, run, { code: 3, message, qemu: 'none', maxMs: 15_000 });
  }

  test('6. package directory: an href ../outside.vmdk to a real disk next to the directory', async () => {
    await refusedDir('dir-dotdot', { href: '../outside.vmdk' }, async () => {}, [/app\.ovf: References\/File "file1": ovf:href "\.\.\/outside\.vmdk" contains a "\.\." path step/]);
  });

  test('6. package directory: the disk is a symbolic link to a file outside it', async () => {
    await refusedDir('dir-symlink', {}, (dir) => symlink(outside, join(dir, 'app-disk1.vmdk')), [
      /file reference "app-disk1\.vmdk" resolves through the symbolic link "app-disk1\.vmdk"; links are refused in a package directory/,
    ]);
  });

  test('6. package directory: a symlinked subdirectory leads outside it', async () => {
    await refusedDir('dir-subdir', { href: 'sub/outside.vmdk' }, (dir) => symlink(s.work, join(dir, 'sub')), [
      /file reference "sub\/outside\.vmdk" resolves through the symbolic link "sub"; links are refused in a package directory/,
    ]);
  });

  test('6. package directory: the disk is a FIFO (would block a reader forever)', async () => {
    await refusedDir('dir-fifo', {}, (dir) => execa('mkfifo', [join(dir, 'app-disk1.vmdk')]).then(() => undefined), [
      /file reference "app-disk1\.vmdk" is not a regular file \(a FIFO, device or socket\)/,
    ]);
  });
});
