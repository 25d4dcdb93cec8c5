// Package signatures (.cert, DSP0243 5.2) on OVAs built with GNU tar, with keys and
// certificates made by the openssl command line: self-signed, CA chains, expired, tampered.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManifestError, PackageError, UsageError } from '../../src/errors.js';
import { openArchive } from '../../src/archive/archive.js';
import { verifyCertificate } from '../../src/archive/certificate.js';
import { withTempDir } from './helpers.js';
import { expiredSelfSigned, issued, selfSigned, type Identity } from './pki.js';
import { signedOva } from './signed-ova.js';

let keys: string;
let self: Identity;
let ec: Identity;
let root: Identity;
let intermediate: Identity;
let leaf: Identity;
let old: Identity;
let stranger: Identity;

before(async () => {
  keys = await mkdtemp(join(tmpdir(), 'virt-ovf-pki-'));
  self = selfSigned(keys, 'self', 'Self Signer');
  ec = selfSigned(keys, 'ec', 'EC Signer', 'ec');
  root = selfSigned(keys, 'root', 'Test Root CA');
  intermediate = issued(keys, 'intermediate', 'Test Intermediate CA', root, true);
  leaf = issued(keys, 'leaf', 'Appliance Vendor', intermediate);
  old = expiredSelfSigned(keys, 'old');
  stranger = selfSigned(keys, 'stranger', 'Someone Else');
});

after(async () => {
  await rm(keys, { recursive: true, force: true });
});

/** Opens `ova` and verifies its signature. */
async function verify(ova: string, opts: { caFile?: string; now?: Date } = {}) {
  return verifyCertificate(await openArchive(ova), opts);
}

describe('verifyCertificate: valid signatures', () => {
  it('reports a self-signed signer as untrusted against the system store, and trusted when pinned with caFile', async () => {
    await withTempDir(async (dir) => {
      const ova = await signedOva(dir, { signer: self });
      const report = await verify(ova);
      assert.ok(report);
      assert.equal(report.certificateName, 'vm.cert');
      assert.equal(report.manifestName, 'vm.mf');
      assert.equal(report.algorithm, 'sha256');
      assert.equal(report.signer, 'CN=Self Signer, O=virt-ovf tests');
      assert.equal(report.issuer, report.signer);
      assert.equal(report.signatureValid, true);
      assert.equal(report.selfSigned, true);
      assert.equal(report.chainTrusted, false);
      assert.equal(report.expired, false);
      assert.match(report.trustSource, /system CA store/);
      assert.equal(report.problems.length, 1);
      assert.match(report.problems[0] ?? '', /self-signed and not among the trusted certificates \(the system CA store/);
      assert.ok(report.validFrom.getTime() <= Date.now() && report.validTo.getTime() > Date.now());
      const pinned = await verify(ova, { caFile: self.cert });
      assert.equal(pinned?.chainTrusted, true);
      assert.deepEqual(pinned?.problems, []);
      assert.equal(pinned?.trustSource, `--ca ${self.cert}`);
    });
  });

  it('follows a leaf through the intermediates in the .cert to a root given with caFile', async () => {
    await withTempDir(async (dir) => {
      const ova = await signedOva(dir, { signer: leaf, chain: [intermediate.cert] });
      const report = await verify(ova, { caFile: root.cert });
      assert.equal(report?.chainTrusted, true);
      assert.equal(report?.selfSigned, false);
      assert.deepEqual(report?.chain, ['CN=Appliance Vendor', 'CN=Test Intermediate CA', 'CN=Test Root CA, O=virt-ovf tests']);
      assert.equal(report?.issuer, 'CN=Test Intermediate CA');
      assert.deepEqual(report?.problems, []);
      const bundle = join(dir, 'bundle.pem');
      await writeFile(bundle, (await readFile(stranger.cert, 'utf8')) + (await readFile(root.cert, 'utf8')));
      assert.equal((await verify(ova, { caFile: bundle }))?.chainTrusted, true, 'a bundle with several CAs');
      for (const caFile of [stranger.cert, undefined]) {
        const untrusted = await verify(ova, caFile ? { caFile } : {});
        assert.equal(untrusted?.chainTrusted, false);
        assert.match(untrusted?.problems.join('\n') ?? '', /signer certificate "CN=Appliance Vendor": no chain leads from it to a trusted certificate .*: the issuer "CN=Test Root CA, O=virt-ovf tests" of CA certificate "CN=Test Intermediate CA" is neither trusted nor in the \.cert/);
      }
      const missingIntermediate = await signedOva(join(dir, 'b'), { signer: leaf });
      assert.equal((await verify(missingIntermediate, { caFile: root.cert }))?.chainTrusted, false, 'the intermediate is needed');
      const leafAsCa = await signedOva(join(dir, 'c'), { signer: self, chain: [] });
      assert.equal((await verify(leafAsCa, { caFile: leaf.cert }))?.chainTrusted, false, 'an unrelated certificate trusts nothing');
    });
  });

  it('verifies SHA1 and SHA512 signatures and ECDSA keys', async () => {
    await withTempDir(async (dir) => {
      for (const [alg, signer] of [['sha1', self], ['sha512', self], ['sha256', ec]] as const) {
        const report = await verify(await signedOva(join(dir, `${alg}-${signer.key.length}`), { signer, alg }), { caFile: signer.cert });
        assert.equal(report?.algorithm, alg);
        assert.deepEqual(report?.problems, []);
      }
    });
  });

  it('reports an expired certificate (openssl ca -startdate/-enddate), judged at opts.now', async () => {
    await withTempDir(async (dir) => {
      const ova = await signedOva(dir, { signer: old });
      const report = await verify(ova, { caFile: old.cert });
      assert.equal(report?.expired, true);
      assert.equal(report?.chainTrusted, true);
      assert.deepEqual(report?.problems, ['signer certificate "CN=Expired Signer": expired on 2021-01-01T00:00:00.000Z']);
      const then = await verify(ova, { caFile: old.cert, now: new Date('2020-06-01T00:00:00Z') });
      assert.equal(then?.expired, false);
      assert.deepEqual(then?.problems, []);
      const before2020 = await verify(ova, { caFile: old.cert, now: new Date('2019-06-01T00:00:00Z') });
      assert.equal(before2020?.notYetValid, true);
      assert.match(before2020?.problems[0] ?? '', /signer certificate "CN=Expired Signer": not valid before 2020-01-01T00:00:00\.000Z/);
    });
  });

  it('returns undefined for a package without .cert', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'vm.ovf'), '<Envelope/>\n');
      assert.equal(await verifyCertificate(await openArchive(join(dir, 'vm.ovf'))), undefined);
    });
  });
});

describe('verifyCertificate: refusals', () => {
  it('throws ManifestError when the manifest was changed after signing', async () => {
    await withTempDir(async (dir) => {
      const ova = await signedOva(dir, { signer: self, tamper: (mf) => mf.replace(/disk1\.vmdk\)= ./, 'disk1.vmdk)= 0') });
      await assert.rejects(verify(ova, { caFile: self.cert }), (err: unknown) => {
        assert.ok(err instanceof ManifestError, String(err));
        assert.equal(err.file, 'vm.cert');
        assert.match(err.message, /vm\.cert: the SHA256 signature over vm\.mf does not verify with the certificate of CN=Self Signer/);
        return true;
      });
    });
  });

  it('throws ManifestError when the certificate was swapped, or signs another manifest name', async () => {
    await withTempDir(async (dir) => {
      const swapped = await signedOva(dir, { signer: self, shownCert: stranger.cert });
      await assert.rejects(verify(swapped), (err: unknown) => err instanceof ManifestError && /does not verify with the certificate of CN=Someone Else/.test(err.message));
      const other = await signedOva(join(dir, 'o'), { signer: self, signedName: 'other.mf' });
      await assert.rejects(verify(other), (err: unknown) => err instanceof ManifestError && /signs "other\.mf", but the package's manifest is "vm\.mf"/.test(err.message));
    });
  });

  it('throws PackageError for a .cert without .mf and for a malformed .cert', async () => {
    await withTempDir(async (dir) => {
      const lonely = await signedOva(dir, { signer: self, withManifest: false });
      await assert.rejects(verify(lonely), (err: unknown) => err instanceof PackageError && !(err instanceof ManifestError) && err.file === 'vm.cert' && /has a certificate "vm\.cert" but no manifest/.test(err.message));
      const pkg = join(dir, 'pkg');
      await mkdir(pkg);
      await writeFile(join(pkg, 'vm.ovf'), '<Envelope/>\n');
      await writeFile(join(pkg, 'vm.mf'), '');
      const pem = await readFile(self.cert, 'utf8');
      for (const [text, why] of [
        [pem, /the first line is not a signature line/],
        [`MD5(vm.mf)= 00\n${pem}`, /the first line is not a signature line/],
        ['SHA256(vm.mf)= 00\n', /no PEM certificate/],
        [`SHA256(vm.mf)= 0\n${pem}`, /odd number of hex digits/],
        [`SHA256(vm.mf)= 00\nsubject=CN=x\n${pem}`, /text outside the signature line and the PEM certificates/],
        ['SHA256(vm.mf)= 00\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /certificate 1 is not a valid X\.509 certificate/],
      ] as const) {
        await writeFile(join(pkg, 'vm.cert'), text);
        await assert.rejects(verifyCertificate(await openArchive(pkg)), (err: unknown) => err instanceof PackageError && err.file === 'vm.cert' && why.test(err.message), String(why));
      }
    });
  });

  it('throws UsageError for an unreadable or empty caFile', async () => {
    await withTempDir(async (dir) => {
      const ova = await signedOva(dir, { signer: self });
      await assert.rejects(verify(ova, { caFile: join(dir, 'absent.pem') }), (err: unknown) => err instanceof UsageError && /cannot read/.test(err.message));
      await writeFile(join(dir, 'empty.pem'), 'nothing here\n');
      await assert.rejects(verify(ova, { caFile: join(dir, 'empty.pem') }), (err: unknown) => err instanceof UsageError && /no PEM certificate/.test(err.message));
    });
  });
});
