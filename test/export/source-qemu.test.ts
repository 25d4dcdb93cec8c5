// A domain <disk>'s storage source (source-xml.ts) as QEMU block options (source-qemu.ts): the
// backing chain as written, block devices, slices, each network protocol's layout (checked
// against QEMU's own option schema by qemu-storage-daemon), and the sources export refuses.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { describe, it } from 'node:test';
import { SourceProblem, viewFilename, viewOf, type DiskView } from '../../src/export/source-qemu.js';
import { daemonMessage } from '../../src/export/source-server.js';
import { readStorageSources } from '../../src/export/source-xml.js';
import { loadMappings } from '../../src/mapping/load.js';

const table = loadMappings().export;
const volumes: Record<string, string> = { 'pool/vol': '/dev/null', 'pool/rbd': 'rbdpool/image' };

/** The view of the disk `vda` whose <disk> element is `disk`. */
function view(disk: string, format = 'qcow2'): DiskView {
  const src = readStorageSources(`<domain><name>t</name><devices>${disk}</devices></domain>`, 'file').get('vda');
  assert.ok(src, 'the disk has a source');
  return viewOf(src, { table, format, volumePath: (pool, volume) => volumes[`${pool}/${volume}`] });
}

/** A network <disk> of `protocol` with `inner` inside its <source>. */
const network = (protocol: string, name: string, inner: string, attrs = ''): string => `<disk type='network' device='disk'><source protocol='${protocol}' name='${name}'${attrs}>${inner}</source><target dev='vda'/></disk>`;

describe('a disk as QEMU opens it', () => {
  it('follows the <backingStore> chain as written, ends it at an empty one, and leaves it to QEMU when absent', () => {
    const chain = view(`<disk type='file'><source file='/i/top.qcow2'/><backingStore type='file'><format type='qcow2'/><source file='/i/mid.qcow2'/><backingStore type='block'><format type='raw'/><source dev='/dev/vg/base'/><backingStore/></backingStore></backingStore><target dev='vda'/></disk>`);
    assert.deepEqual(chain.node, {
      driver: 'qcow2',
      file: { driver: 'file', filename: '/i/top.qcow2' },
      backing: { driver: 'qcow2', file: { driver: 'file', filename: '/i/mid.qcow2' }, backing: { driver: 'raw', file: { driver: 'host_device', filename: '/dev/vg/base' } } },
    });
    assert.deepEqual([chain.path, chain.format, chain.local, chain.held, chain.network], ['/i/top.qcow2', 'qcow2', true, true, false]);
    assert.equal(viewFilename(chain, table, { top: true }), 'json:{"file":{"driver":"file","filename":"/i/top.qcow2"},"backing":null}', 'qemu-img info gets the top alone');
    assert.match(viewFilename(chain, table), /^json:\{"file":.*"backing":\{"driver":"qcow2"/, 'qemu-img map gets the chain, the top format by -f');
    const own = view(`<disk type='file'><source file='/i/top.qcow2'/><target dev='vda'/></disk>`);
    assert.deepEqual(own.node, { driver: 'qcow2', file: { driver: 'file', filename: '/i/top.qcow2' } }, 'no backing key: QEMU follows the image header');
    const ended = view(`<disk type='file'><source file='/i/top.qcow2'/><backingStore/><target dev='vda'/></disk>`);
    assert.equal(ended.node['backing'], null);
    const raw = view(`<disk type='file'><source file='/i/a.raw'/><backingStore/><target dev='vda'/></disk>`, 'raw');
    assert.ok(!('backing' in raw.node), 'a raw image has no backing file');
  });

  it('opens a block device with host_device, a pool volume by what its path is, and a slice as a raw byte range', () => {
    assert.deepEqual(view(`<disk type='block'><source dev='/dev/sdz'/><target dev='vda'/></disk>`, 'raw').node, { driver: 'raw', file: { driver: 'host_device', filename: '/dev/sdz' } });
    assert.deepEqual(view(`<disk type='volume'><source pool='pool' volume='vol'/><target dev='vda'/></disk>`, 'raw').node, { driver: 'raw', file: { driver: 'file', filename: '/dev/null' } }, '/dev/null is a character device: the file driver');
    const sliced = view(`<disk type='file'><source file='/i/a.img'><slices><slice type='storage' offset='1048576' size='4194304'/></slices></source><target dev='vda'/></disk>`, 'raw');
    assert.deepEqual(sliced.node, { driver: 'raw', file: { driver: 'raw', offset: 1048576, size: 4194304, file: { driver: 'file', filename: '/i/a.img' } } });
    assert.deepEqual([sliced.local, sliced.held, sliced.network], [false, true, false], 'a slice is not read in place, but QEMU still locks the file');
    const remoteBase = view(`<disk type='file'><source file='/i/top.qcow2'/><backingStore type='network'><format type='raw'/><source protocol='nbd' name='base'><host name='127.0.0.1'/></source></backingStore><target dev='vda'/></disk>`);
    assert.deepEqual([remoteBase.local, remoteBase.held, remoteBase.network], [true, true, true], 'a network backing file makes the chain a network one');
  });

  const protocols: [string, string, Record<string, unknown>][] = [
    ['nbd over TCP, default port', network('nbd', 'exp', `<host name='192.0.2.1'/>`), { driver: 'nbd', server: { type: 'inet', host: '192.0.2.1', port: '10809' }, export: 'exp' }],
    ['nbd over a Unix socket', network('nbd', 'exp', `<host transport='unix' socket='/run/nbd.sock'/>`), { driver: 'nbd', server: { type: 'unix', path: '/run/nbd.sock' }, export: 'exp' }],
    ['iscsi', network('iscsi', 'iqn.2013-07.com.example:iscsi-pool/2', `<host name='127.0.0.1' port='3261'/>`), { driver: 'iscsi', transport: 'tcp', portal: '127.0.0.1:3261', target: 'iqn.2013-07.com.example:iscsi-pool', lun: 2 }],
    ['rbd with a namespace, snapshot, config and two monitors', network('rbd', 'pool/ns/image', `<host name='127.0.0.1'/><host name='::1' port='6790'/><snapshot name='snap'/><config file='/etc/ceph/ceph.conf'/>`), { driver: 'rbd', pool: 'pool', namespace: 'ns', image: 'image', snapshot: 'snap', conf: '/etc/ceph/ceph.conf', server: [{ host: '127.0.0.1', port: '6789' }, { host: '::1', port: '6790' }] }],
    ['gluster', network('gluster', 'vol/dir/img.qcow2', `<host name='127.0.0.1'/>`), { driver: 'gluster', volume: 'vol', path: 'dir/img.qcow2', server: [{ type: 'inet', host: '127.0.0.1', port: '24007' }] }],
    ['https with a query and no certificate check', network('https', '/images/disk.img', `<host name='::1'/><ssl verify='no'/>`, ` query='token=a'`), { driver: 'https', url: 'https://[::1]:443/images/disk.img?token=a', sslverify: false }],
    ['ssh', network('ssh', 'srv/disk.img', `<host name='127.0.0.1' port='2222'/>`), { driver: 'ssh', server: { host: '127.0.0.1', port: '2222' }, path: '/srv/disk.img' }],
    ['nfs', network('nfs', '/export/disk.img', `<host name='127.0.0.1'/>`), { driver: 'nfs', server: { type: 'inet', host: '127.0.0.1' }, path: '/export/disk.img' }],
  ];
  for (const [what, disk, expected] of protocols) {
    it(`opens ${what} with the options libvirt gives QEMU, which QEMU's option schema accepts`, async () => {
      const v = view(disk, 'raw');
      assert.deepEqual(v.node, { driver: 'raw', file: expected });
      assert.deepEqual([v.local, v.held, v.network], [false, false, true]);
      // qemu-storage-daemon checks the options against QEMU's schema before it loads the driver
      // (most are modules: qemu-block-extra) or connects (to nothing: every host is loopback or a test address).
      const r = await execa('qemu-storage-daemon', ['--blockdev', JSON.stringify({ ...v.node, 'node-name': 'view', 'read-only': true })], { reject: false, timeout: 20_000 });
      assert.notEqual(r.exitCode, 0);
      assert.doesNotMatch(String(r.stderr), /Parameter '[^']+' (is unexpected|is missing|expects)|Invalid parameter|does not support the option/, String(r.stderr));
    });
  }

  const refused: [string, string, RegExp][] = [
    ['an <auth> secret on a protocol whose rule hands none to QEMU', network('nbd', 'exp', `<host name='127.0.0.1'/><auth username='admin'><secret type='iscsi' usage='key'/></auth>`), /needs the libvirt secret of its <auth>, which export does not hand to QEMU for nbd sources/],
    ['an incomplete <auth> (no secret)', network('rbd', 'pool/image', `<host name='mon'/><auth username='admin'></auth>`), /needs the libvirt secret of its <auth>/],
    ['an <encryption> secret', `<disk type='file'><source file='/i/e.qcow2'><encryption format='luks'><secret type='passphrase' uuid='00000000-0000-0000-0000-000000000000'/></encryption></source><target dev='vda'/></disk>`, /encrypted with a libvirt secret/],
    ['TLS', network('nbd', 'exp', `<host name='127.0.0.1'/>`, ` tls='yes'`), /uses TLS with libvirt's certificates/],
    ['an unknown protocol', network('vxhs', 'x', `<host name='127.0.0.1'/>`), /network protocol "vxhs" is not one export opens \(nbd, iscsi/],
    ['a network source without a host', network('iscsi', 'iqn.x/0', ''), /has no <host>/],
    ['a disk type export does not read', `<disk type='dir'><source dir='/srv/fat'/><target dev='vda'/></disk>`, /<disk type='dir'> source is not one export reads/],
    ['a backing store without a format', `<disk type='file'><source file='/i/t.qcow2'/><backingStore type='file'><source file='/i/b.qcow2'/></backingStore><target dev='vda'/></disk>`, /its <backingStore> names no <format>/],
    ['a missing volume', `<disk type='volume'><source pool='pool' volume='gone'/><target dev='vda'/></disk>`, /volume "gone" not found in pool "pool"/],
    ['a volume that is not a local file', `<disk type='volume'><source pool='pool' volume='rbd'/><target dev='vda'/></disk>`, /is not a local file or block device \(rbdpool\/image\)/],
  ];
  it("names an rbd or iSCSI <auth> secret in the node (export.json qemuSources auth) and lists it for a secret object", () => {
    const rbd = view(network('rbd', 'pool/image', `<host name='mon' port='6789'/><auth username='admin'><secret type='ceph' usage='key'/></auth>`), 'raw');
    assert.deepEqual(rbd.node['file'], { driver: 'rbd', pool: 'pool', image: 'image', server: [{ host: 'mon', port: '6789' }], user: 'admin', 'key-secret': 'virt-ovf-secret-0' });
    assert.deepEqual(rbd.secrets, [{ id: 'virt-ovf-secret-0', auth: { username: 'admin', secretType: 'ceph', usage: 'key' } }]);
    const iscsi = view(network('iscsi', 'iqn.2004-04.com.example:t/1', `<host name='san'/><auth username='u'><secret type='iscsi' uuid='00000000-0000-0000-0000-000000000001'/></auth>`), 'raw');
    assert.equal((iscsi.node['file'] as Record<string, unknown>)['password-secret'], 'virt-ovf-secret-0');
    assert.equal((iscsi.node['file'] as Record<string, unknown>)['user'], 'u');
    assert.deepEqual(view(`<disk type='file'><source file='/i/a.raw'/><target dev='vda'/></disk>`, 'raw').secrets, []);
  });

  for (const [what, disk, message] of refused) {
    it(`refuses ${what} with a SourceProblem saying why`, () => {
      assert.throws(() => view(disk), (err: unknown) => err instanceof SourceProblem && message.test(err.message));
    });
  }

  it('refuses a driver type qemu-img does not read, and keeps disks without a source out', () => {
    assert.throws(() => view(`<disk type='file'><source file='/i/a.qed'/><target dev='vda'/></disk>`, 'qed'), /driver type "qed" cannot be read by qemu-img/);
    assert.equal(readStorageSources(`<domain><devices><disk type='file' device='cdrom'><target dev='hdc'/></disk></devices></domain>`, 'file').size, 0);
  });

  it("tells what QEMU said without qemu-storage-daemon's option prefix or the copy-before-write warning", () => {
    const stderr = [
      `qemu-storage-daemon: --blockdev {"driver":"copy-before-write","node-name":"hold"}: warning: The target block device doesn't provide information about the block size and it doesn't have a backing file. The default block size of 65536 bytes is used.`,
      `qemu-storage-daemon: --export {"type":"nbd","id":"guest"}: Failed to get shared "write" lock`,
      'Is another process using the image [/i/a.raw]?',
    ].join('\n');
    assert.equal(daemonMessage(stderr), 'Failed to get shared "write" lock; Is another process using the image [/i/a.raw]?');
  });
});
