// Advice valid for the connection: a typo'd private pool or network name, a session URI, a user the system daemon refuses, kvm that cannot work.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildAppliance, type ApplianceResult } from '../../scripts/appliance.js';
import { closeScratch, CLI, domainExists, openScratch, poolVolumes, runCli } from '../commands/helpers.js';
import { TEST_URI, uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { assertCleanError } from './errors-kit.js';

describe('advice valid for the connection', () => {
  let pool: ScratchPool;
  let work: string;
  let app: ApplianceResult;
  const network = `vo-err-${randomBytes(3).toString('hex')}`;

  before(async () => {
    ({ pool, work } = await openScratch('errors-advice'));
    app = await buildAppliance({ dir: join(work, 'app'), name: 'app', manifest: 'none' });
    const xml = join(work, 'net.xml');
    await writeFile(xml, `<network><name>${network}</name><bridge name='${network}'/></network>`);
    await execa('virsh', ['-c', TEST_URI, 'net-create', xml]);
  });
  after(async () => {
    await execa('virsh', ['-c', TEST_URI, 'net-destroy', network], { reject: false });
    await closeScratch(pool, work, []);
  });

  test('a typo in a private pool name lists the pools with their paths and never autostarts a guess', async () => {
    const typo = `${pool.name}x`;
    const name = uniqueName('pooltypo');
    const before0 = await poolVolumes(pool);
    const r = await runCli(['import', app.ova!, '--pool', typo, '--name', name, '--virt-type', 'qemu']);
    assertCleanError(r, 4, new RegExp(`storage pool "${typo}" does not exist on qemu:///system \\(the pools there are .*${pool.name} \\(active, ${pool.path}\\).*did you mean "${pool.name}"\\?\\); create it \\(virsh -c qemu:///system pool-define-as ${typo} dir --target \\S+ && virsh -c qemu:///system pool-build ${typo} && virsh -c qemu:///system pool-start ${typo}\\), write the disks into a directory, or choose an existing pool \\(--pool\\)`));
    assert.doesNotMatch(r.stderr, /autostart/);
    assert.deepEqual(await poolVolumes(pool), before0);
    assert.equal(domainExists(name), false);
  });

  test('on the default connection (no -c, no LIBVIRT_DEFAULT_URI) the recipe has no -c', async (t) => {
    if (process.getuid?.() !== 0) return t.skip("a user's default connection is the session");
    const r = await runCli(['import', app.ova!, '--pool', `${pool.name}x`, '--virt-type', 'qemu'], { env: { LIBVIRT_DEFAULT_URI: '' } });
    assertCleanError(r, 4, new RegExp(`create it \\(virsh pool-define-as ${pool.name}x dir`));
    assert.doesNotMatch(r.stderr, /virsh -c/);
  });

  test('a typo in a private network name lists the networks and the recipes carry -c', async () => {
    const typo = `${network}z`;
    const name = uniqueName('nettypo');
    const r = await runCli(['import', app.ova!, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--network', `VM Network=${typo}`]);
    assertCleanError(r, 4, new RegExp(`libvirt network "${typo}" \\(for OVF network "VM Network"\\) does not exist on qemu:///system \\(the networks there are .*${network} \\(active\\).*did you mean "${network}"\\?\\); define it \\(virsh -c qemu:///system net-define NETWORK.xml && virsh -c qemu:///system net-start ${typo}\\), .*or choose an existing network \\(--network\\)`));
    assert.equal(domainExists(name), false);
  });

  test('qemu:///session gets session advice: user-mode networking, a pool under ~/.local/share/libvirt/images', async () => {
    const net = await runCli(['import', app.ova!, '-c', 'qemu:///session', '--dry-run', '--output-dir', work, '--virt-type', 'qemu', '--network', 'VM Network=no-such-net']);
    assertCleanError(net, 4, /does not exist on qemu:\/\/\/session; a session daemon runs no virtual networks of its own: attach the NICs to QEMU user-mode networking, .* \(--user-net\)/);
    assert.doesNotMatch(net.stderr, /net-define/);
    const typo = `no-such-pool-${randomBytes(3).toString('hex')}`;
    const p = await runCli(['import', app.ova!, '-c', 'qemu:///session', '--pool', typo, '--virt-type', 'qemu']);
    assertCleanError(p, 4, new RegExp(`virsh -c qemu:///session pool-define-as ${typo} dir --target \\S+/\\.local/share/libvirt/images`));
    assert.doesNotMatch(p.stderr, /\/var\/lib\/libvirt\/images/);
  });

  test('a user the system daemon refuses is told: root, the libvirt group, or qemu:///session', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('switching to an unprivileged user needs root');
    const r = await execa('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'node', CLI, 'export', 'any-domain', '-o', '/tmp/never-written.ova', '-c', 'qemu:///system'], { reject: false, env: { HOME: '/nonexistent' } });
    assertCleanError({ code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) }, 4, /cannot connect to qemu:\/\/\/system: .*; .*needs root or membership in the libvirt group: run virt-ovf as root, add yourself to the group \(usermod -aG libvirt nobody, then log in again\), or use your own session daemon with -c qemu:\/\/\/session/);
  });

  test('a domain of type kvm that libvirt refuses on this host says to use --virt-type qemu', async (t) => {
    const caps = await execa('virsh', ['-c', TEST_URI, 'domcapabilities', '--virttype', 'kvm'], { reject: false });
    if (caps.exitCode === 0) return t.skip('this host offers kvm, so defining a kvm domain succeeds');
    const name = uniqueName('kvm');
    const before0 = await poolVolumes(pool);
    const r = await runCli(['import', app.ova!, '--pool', pool.name, '--name', name, '--virt-type', 'kvm']);
    assertCleanError(r, 4, /virDomainDefineXML: .*kvm.*; QEMU may be unable to use KVM on this host; choose domain type qemu with --virt-type/);
    assert.deepEqual(await poolVolumes(pool), before0);
    assert.equal(domainExists(name), false);
    const auto = await runCli(['import', app.ova!, '--pool', pool.name, '--name', name, '--print-xml']);
    assert.equal(auto.code, 0, auto.stderr);
    assert.match(auto.stdout, /<domain type="qemu"|<domain type='qemu'/);
  });
});
