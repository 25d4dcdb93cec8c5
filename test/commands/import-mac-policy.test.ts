// --mac-policy keep|new|auto on a real libvirtd: auto keeps the OVF's MAC unless a defined domain already uses it.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { buildAppliance } from '../../scripts/appliance.js';
import { applyMacPolicy, interfaceMacs } from '../../src/import/macs.js';
import type { PlannedNic } from '../../src/mapping/nics.js';
import { TEST_URI, uniqueName, type ScratchPool } from '../libvirt/harness.js';
import { closeScratch, openScratch, runCli } from './helpers.js';

/** A MAC no other test uses: VMware's OUI with random low bytes. */
const MAC = `00:50:56:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

async function domainMacs(name: string): Promise<string[]> {
  return interfaceMacs(String((await execa('virsh', ['-c', TEST_URI, 'dumpxml', '--inactive', name])).stdout));
}

describe('--mac-policy', () => {
  let pool: ScratchPool;
  let work: string;
  let ovf: string;
  const owner = uniqueName('macowner');
  const domains: string[] = [owner];

  before(async () => {
    ({ pool, work } = await openScratch('macs'));
    const app = await buildAppliance({ dir: join(work, 'app'), name: 'app', ova: false, manifest: 'none' });
    const text = await readFile(app.ovf, 'utf8');
    const edited = text.replace(/<rasd:Address>(?:[0-9a-f]{2}:){5}[0-9a-f]{2}<\/rasd:Address>/, `<rasd:Address>${MAC}</rasd:Address>`);
    assert.notEqual(edited, text);
    await writeFile(app.ovf, edited);
    ovf = app.ovf;
    const xml = join(work, 'owner.xml');
    await mkdir(work, { recursive: true });
    await writeFile(xml, `<domain type='qemu'><name>${owner}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices><interface type='user'><mac address='${MAC}'/></interface><memballoon model='none'/></devices></domain>`);
    await execa('virsh', ['-c', TEST_URI, 'define', xml]);
  });
  after(async () => {
    await closeScratch(pool, work, domains);
  });

  async function importWith(policy: string[]): Promise<{ name: string; stderr: string; macs: string[] }> {
    const name = uniqueName('mac');
    domains.push(name);
    const r = await runCli(['import', ovf, '--pool', pool.name, '--name', name, '--virt-type', 'qemu', '--user-net', ...policy]);
    assert.equal(r.code, 0, r.stderr);
    return { name, stderr: r.stderr, macs: await domainMacs(name) };
  }

  test('auto (the default): a MAC a defined domain uses is replaced, with a warning naming that domain', async () => {
    const r = await importWith([]);
    assert.match(r.stderr, new RegExp(`NIC InstanceID 6: MAC ${MAC} is already used by domain ${owner}; libvirt generates a new one \\(--mac-policy keep keeps it\\)`));
    assert.equal(r.macs.length, 1);
    assert.notEqual(r.macs[0], MAC);
  });

  test('keep: the OVF MAC stays even though another domain has it', async () => {
    const r = await importWith(['--mac-policy', 'keep']);
    assert.deepEqual(r.macs, [MAC]);
    assert.doesNotMatch(r.stderr, /already used/);
  });

  test('new: every NIC gets a MAC from libvirt, without a warning', async () => {
    const r = await importWith(['--mac-policy', 'new']);
    assert.equal(r.macs.length, 1);
    assert.notEqual(r.macs[0], MAC);
    assert.doesNotMatch(r.stderr, /already used/);
  });

  test('auto keeps the MAC once no domain uses it', async () => {
    await execa('virsh', ['-c', TEST_URI, 'undefine', owner]);
    // The domains the tests above imported hold the MAC too (keep): remove them first.
    for (const d of domains.slice(1)) await execa('virsh', ['-c', TEST_URI, 'undefine', '--remove-all-storage', d], { reject: false });
    const r = await importWith([]);
    assert.deepEqual(r.macs, [MAC]);
  });

  test('a policy that is not keep, new or auto is refused by the CLI (exit 2)', async () => {
    const r = await runCli(['import', ovf, '--pool', pool.name, '--mac-policy', 'random']);
    assert.equal(r.code, 2, r.stderr);
  });
});

describe('applyMacPolicy', () => {
  const nic: PlannedNic = { instanceId: '1', model: 'e1000', source: { type: 'user' }, defaulted: true, mac: '00:50:56:00:00:01' };
  it('auto without a host view keeps every MAC (print-xml asks no host)', () => {
    assert.deepEqual(applyMacPolicy([nic], 'auto').nics, [nic]);
  });
  it('new drops the MAC, keep keeps it', () => {
    assert.equal(applyMacPolicy([nic], 'new').nics[0]!.mac, undefined);
    assert.equal(applyMacPolicy([nic], 'keep', new Map([[nic.mac!, ['other']]])).nics[0]!.mac, nic.mac);
  });
});
