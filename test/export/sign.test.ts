// signManifest / certificateSize: .cert files made for OVAs written by the OVA writer, verified by
// virt-ovf's own verifyCertificate, with keys and certificates made on the fly by openssl.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openArchive } from '../../src/archive/archive.js';
import { verifyCertificate } from '../../src/archive/certificate.js';
import { ManifestError, UsageError } from '../../src/errors.js';
import { formatManifest, manifestSize, type DigestAlgorithm } from '../../src/archive/manifest.js';
import { createOvaWriter } from '../../src/export/ova-writer.js';
import { certificateSize, signManifest } from '../../src/export/sign.js';
import { openssl, selfSigned, type Identity } from '../archive/pki.js';
import { pseudoRandom, withTempDir } from '../archive/helpers.js';

let keys: string;
let rsa: Identity;
let rsa4096: Identity;
let ec: Identity;
let other: Identity;

before(async () => {
  keys = await mkdtemp(join(tmpdir(), 'virt-ovf-sign-'));
  rsa = selfSigned(keys, 'rsa', 'Export Signer');
  rsa4096 = selfSigned(keys, 'rsa4096', 'Big Export Signer', 'rsa:4096');
  ec = selfSigned(keys, 'ec', 'EC Export Signer', 'ec');
  other = selfSigned(keys, 'other', 'Someone Else');
});

after(async () => {
  await rm(keys, { recursive: true, force: true });
});

const sha = (alg: string, data: Buffer): string => createHash(alg).update(data).digest('hex');

/**
 * Writes dir/vm.ova as export does when signing: OVF, manifest and certificate reserved first
 * (the certificate's size known before the manifest exists), the disk streamed, then all three filled.
 */
async function signedOva(dir: string, signer: Identity, algorithm: DigestAlgorithm = 'sha256', tamper = false): Promise<string> {
  const ova = join(dir, 'vm.ova');
  const ovf = Buffer.from('<?xml version="1.0"?>\n<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"/>\n');
  const w = await createOvaWriter(ova, { digest: algorithm });
  const certBytes = certificateSize('vm.mf', signer.key, signer.cert, algorithm);
  await w.reserve('vm.ovf', ovf.length);
  await w.reserve('vm.mf', manifestSize(algorithm, ['vm.ovf', 'vm-disk1.vmdk']));
  await w.reserve('vm.cert', certBytes);
  const sink = w.beginFile('vm-disk1.vmdk');
  await sink.write(pseudoRandom(100_000, 3));
  const disk = await sink.end();
  const descriptor = await w.fill('vm.ovf', ovf);
  const manifest = formatManifest(algorithm, [{ name: 'vm.ovf', digest: descriptor.digest }, { name: 'vm-disk1.vmdk', digest: disk.digest }]);
  const cert = signManifest(tamper ? Buffer.concat([manifest, Buffer.from('\n')]) : manifest, 'vm.mf', signer.key, signer.cert, algorithm, certBytes);
  await w.fill('vm.mf', manifest);
  await w.fill('vm.cert', cert);
  await w.finish();
  return ova;
}

describe('signManifest: certificates virt-ovf verifies', () => {
  for (const algorithm of ['sha256', 'sha1', 'sha512'] as const) {
    it(`signs an OVA's manifest with an RSA key (${algorithm.toUpperCase()}) so that verifyCertificate trusts it with --ca`, async () => {
      await withTempDir(async (dir) => {
        const report = await verifyCertificate(await openArchive(await signedOva(dir, rsa, algorithm)), { caFile: rsa.cert });
        assert.ok(report);
        assert.deepEqual([report.certificateName, report.manifestName, report.algorithm], ['vm.cert', 'vm.mf', algorithm]);
        assert.equal(report.signatureValid, true);
        assert.equal(report.chainTrusted, true);
        assert.match(report.signer, /CN=Export Signer/);
        assert.deepEqual(report.problems, []);
      });
    });
  }

  it('signs with an EC key, whose variable-length signature is padded into the reserved size', async () => {
    await withTempDir(async (dir) => {
      const report = await verifyCertificate(await openArchive(await signedOva(dir, ec)), { caFile: ec.cert });
      assert.equal(report?.chainTrusted, true);
      assert.match(report!.signer, /CN=EC Export Signer/);
    });
  });

  it('writes a signature that breaks when the manifest differs from what was signed', async () => {
    await withTempDir(async (dir) => {
      const archive = await openArchive(await signedOva(dir, rsa, 'sha256', true));
      await assert.rejects(verifyCertificate(archive, { caFile: rsa.cert }), ManifestError);
    });
  });
});

describe('signManifest: the .cert format and its size', () => {
  const manifest = Buffer.from(`SHA256(vm.ovf)= ${'a'.repeat(64)}\n`);

  it('writes the ovftool format: SHA256(name.mf)= hex signature, then the PEM certificate', async () => {
    const text = signManifest(manifest, 'vm.mf', rsa.key, rsa.cert, 'sha256').toString('utf8');
    const [line, ...rest] = text.split('\n');
    assert.match(line!, /^SHA256\(vm\.mf\)= [0-9a-f]{512}$/);
    assert.equal(rest.join('\n'), (await readFile(rsa.cert, 'utf8')).replace(/\r\n/g, '\n'));
    const sig = Buffer.from(line!.slice(line!.indexOf('= ') + 2), 'hex');
    const out = join(keys, 'check.bin');
    await writeFile(out, sig);
    await writeFile(join(keys, 'check.mf'), manifest);
    // openssl itself accepts the signature (PKCS#1 v1.5 over the exact manifest bytes).
    openssl(keys, ['x509', '-in', rsa.cert, '-pubkey', '-noout', '-out', join(keys, 'rsa-pub.pem')]);
    openssl(keys, ['dgst', '-sha256', '-verify', join(keys, 'rsa-pub.pem'), '-signature', out, join(keys, 'check.mf')]);
  });

  it('knows the exact size before signing for RSA keys (signature hex = modulus bits / 4)', () => {
    for (const id of [rsa, rsa4096]) {
      for (const algorithm of ['sha1', 'sha256', 'sha512'] as const) {
        assert.equal(signManifest(manifest, 'vm.mf', id.key, id.cert, algorithm).length, certificateSize('vm.mf', id.key, id.cert, algorithm));
      }
    }
    const bits4096 = signManifest(manifest, 'vm.mf', rsa4096.key, rsa4096.cert, 'sha256').toString().split('\n')[0]!;
    assert.equal(bits4096.length - 'SHA256(vm.mf)= '.length, 4096 / 4);
  });

  it('bounds the size for EC keys and pads to it with trailing whitespace', () => {
    const size = certificateSize('vm.mf', ec.key, ec.cert, 'sha256');
    const exact = signManifest(manifest, 'vm.mf', ec.key, ec.cert, 'sha256');
    assert.ok(exact.length <= size && exact.length >= size - 6, `${exact.length} vs ${size}`);
    const padded = signManifest(manifest, 'vm.mf', ec.key, ec.cert, 'sha256', size);
    assert.equal(padded.length, size);
    assert.match(padded.toString('utf8'), /-----END CERTIFICATE-----\n *\n?$/);
    assert.throws(() => signManifest(manifest, 'vm.mf', rsa.key, rsa.cert, 'sha256', 100), RangeError);
  });

  it('refuses a key that does not belong to the certificate, an encrypted key, and a file without certificate', async () => {
    assert.throws(() => signManifest(manifest, 'vm.mf', other.key, rsa.cert, 'sha256'), (err: unknown) => err instanceof UsageError && /does not belong to the certificate/.test(err.message));
    const encrypted = join(keys, 'encrypted.key');
    openssl(keys, ['pkey', '-in', rsa.key, '-aes256', '-passout', 'pass:secret', '-out', encrypted]);
    assert.throws(() => certificateSize('vm.mf', encrypted, rsa.cert, 'sha256'), (err: unknown) => err instanceof UsageError && err.option === 'signKey' && /signing key .*passphrase-protected/.test(err.message));
    assert.throws(() => signManifest(manifest, 'vm.mf', rsa.key, rsa.key, 'sha256'), (err: unknown) => err instanceof UsageError && err.option === 'signCert' && /certificate .*no PEM certificate/.test(err.message));
    assert.throws(() => signManifest(manifest, 'vm.mf', join(keys, 'missing.key'), rsa.cert, 'sha256'), (err: unknown) => err instanceof UsageError && err.option === 'signKey' && /signing key .*missing\.key/.test(err.message));
  });

  it('keeps a certificate chain in file order', async () => {
    const chain = join(keys, 'chain.pem');
    await writeFile(chain, `${await readFile(rsa.cert, 'utf8')}${await readFile(other.cert, 'utf8')}`);
    const text = signManifest(manifest, 'vm.mf', rsa.key, chain, 'sha256').toString();
    assert.equal(text.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2);
    assert.equal(sha('sha256', Buffer.from(text.slice(text.indexOf('-----BEGIN')))), sha('sha256', await readFile(chain)));
  });
});
