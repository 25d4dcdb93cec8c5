// The signer's certificate chain (.cert, DSP0243 5.2) judged as VirtualBox and ovftool judge an
// OVF signing certificate: keyUsage and extendedKeyUsage of the signer, basicConstraints CA:TRUE
// and keyCertSign of every CA, pathLen, and every certificate's validity dates, validated by
// openssl verify. Certificates are made by the openssl command line for each case.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openArchive } from '../../src/archive/archive.js';
import { verifyCertificate, type SignatureReport } from '../../src/archive/certificate.js';
import { PackageError } from '../../src/errors.js';
import { planImport } from '../../src/import/plan.js';
import { checkSignature } from '../../src/import/verify.js';
import { silentReporter } from '../../src/report.js';
import { cpuAndMemory, ovfDocument } from '../ovf/helpers.js';
import { withTempDir } from './helpers.js';
import { CA_EXTENSIONS, issued, issuedWith, selfSigned, type Identity } from './pki.js';
import { signedOva } from './signed-ova.js';

let keys: string;
let root: Identity;
let intermediate: Identity;
let self: Identity;

before(async () => {
  keys = await mkdtemp(join(tmpdir(), 'virt-ovf-chain-'));
  root = selfSigned(keys, 'root', 'Chain Root CA');
  intermediate = issued(keys, 'intermediate', 'Chain Intermediate CA', root, true);
  self = selfSigned(keys, 'self', 'Self Signer');
});

after(async () => {
  await rm(keys, { recursive: true, force: true });
});

/** Signs a package with `signer`, puts `chain` after it in the .cert, and verifies it against `caFile` (default: the root). */
async function judged(dir: string, signer: Identity, chain: Identity[], caFile = root.cert): Promise<SignatureReport> {
  const report = await verifyCertificate(await openArchive(await signedOva(dir, { signer, chain: chain.map((c) => c.cert) })), { caFile });
  assert.ok(report);
  return report;
}

/** A signer certificate issued by the intermediate with `extensions`. */
const signerWith = (name: string, cn: string, extensions: string[]): Identity => issuedWith(keys, name, cn, intermediate, extensions);

describe('judgeChain: the signer certificate', () => {
  it('accepts a good chain through an intermediate, with or without an extendedKeyUsage that allows code signing', async () => {
    await withTempDir(async (dir) => {
      const plain = issued(keys, 'good', 'Good Signer', intermediate);
      const codeSigning = signerWith('codesign', 'Code Signer', ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=codeSigning']);
      const anyUsage = signerWith('any', 'Any Usage Signer', ['keyUsage=digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth,anyExtendedKeyUsage']);
      for (const [i, signer] of [plain, codeSigning, anyUsage].entries()) {
        const report = await judged(join(dir, String(i)), signer, [intermediate]);
        assert.deepEqual(report.problems, [], signer.cert);
        assert.equal(report.chainTrusted, true);
        assert.deepEqual(report.chain.slice(1), ['CN=Chain Intermediate CA', 'CN=Chain Root CA, O=virt-ovf tests']);
      }
    });
  });

  it('refuses a signer whose keyUsage does not allow digital signatures', async () => {
    await withTempDir(async (dir) => {
      const signer = signerWith('no-ds', 'Encryption Only', ['basicConstraints=CA:FALSE', 'keyUsage=critical,keyEncipherment,dataEncipherment']);
      const report = await judged(dir, signer, [intermediate]);
      assert.deepEqual(report.problems, ['signer certificate "CN=Encryption Only": key usage does not allow digital signatures (it allows Key Encipherment, Data Encipherment)']);
      assert.equal(report.chainTrusted, true, 'the path itself holds');
    });
  });

  it('refuses a signer whose extendedKeyUsage is serverAuth only', async () => {
    await withTempDir(async (dir) => {
      const signer = signerWith('server', 'Web Server', ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=serverAuth']);
      const report = await judged(dir, signer, [intermediate]);
      assert.deepEqual(report.problems, ['signer certificate "CN=Web Server": extended key usage does not allow code signing (it allows TLS Web Server Authentication)']);
    });
  });
});

describe('judgeChain: the CA certificates', () => {
  it('refuses an intermediate that is not a CA: CA:FALSE, no basicConstraints, or no keyCertSign', async () => {
    await withTempDir(async (dir) => {
      for (const [name, extensions, why] of [
        ['ca-false', ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,keyCertSign'], 'basic constraints do not mark it as a certificate authority (CA:TRUE)'],
        ['no-bc', ['keyUsage=critical,keyCertSign'], 'basic constraints do not mark it as a certificate authority (CA:TRUE)'],
        ['no-kcs', ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,digitalSignature'], 'key usage does not allow signing certificates (keyCertSign)'],
      ] as const) {
        const notCa = issuedWith(keys, name, `Not A CA ${name}`, root, extensions);
        const signer = issued(keys, `${name}-leaf`, `Signer Under ${name}`, notCa);
        const report = await judged(join(dir, name), signer, [notCa]);
        assert.deepEqual(report.problems, [`CA certificate "CN=Not A CA ${name}": ${why}`], name);
        assert.equal(report.chainTrusted, false, name);
      }
    });
  });

  it('refuses a sub-CA below a CA with pathLen 0', async () => {
    await withTempDir(async (dir) => {
      const pathLenZero = issuedWith(keys, 'pathlen0', 'PathLen Zero CA', root, ['basicConstraints=critical,CA:TRUE,pathlen:0', 'keyUsage=critical,keyCertSign']);
      const sub = issuedWith(keys, 'sub', 'Sub CA', pathLenZero, CA_EXTENSIONS);
      const signer = issued(keys, 'deep', 'Deep Signer', sub);
      const report = await judged(dir, signer, [sub, pathLenZero]);
      assert.deepEqual(report.problems, ['CA certificate "CN=PathLen Zero CA": more CA certificates follow below it than its path length constraint (basicConstraints pathLen) allows']);
      assert.equal(report.chainTrusted, false);
      const direct = issued(keys, 'shallow', 'Shallow Signer', pathLenZero);
      assert.deepEqual((await judged(join(dir, 'ok'), direct, [pathLenZero])).problems, [], 'a signer right below the pathLen 0 CA is fine');
    });
  });

  it('refuses an intermediate outside its validity dates, expired or not yet valid, and judges them at opts.now', async () => {
    await withTempDir(async (dir) => {
      const expired = issuedWith(keys, 'expired-ca', 'Expired Intermediate CA', root, CA_EXTENSIONS, { start: '200101000000Z', end: '210101000000Z' });
      const future = issuedWith(keys, 'future-ca', 'Future Intermediate CA', root, CA_EXTENSIONS, { start: '20990101000000Z', end: '21000101000000Z' });
      const report = await judged(join(dir, 'e'), issued(keys, 'under-expired', 'Signer Under Expired', expired), [expired]);
      assert.deepEqual(report.problems, ['CA certificate "CN=Expired Intermediate CA": expired on 2021-01-01T00:00:00.000Z']);
      assert.equal(report.chainTrusted, true, 'the dates are a problem of their own');
      const early = await judged(join(dir, 'f'), issued(keys, 'under-future', 'Signer Under Future', future), [future]);
      assert.deepEqual(early.problems, ['CA certificate "CN=Future Intermediate CA": not valid before 2099-01-01T00:00:00.000Z']);
    });
  });
});

describe('checkSignature: --require-signature', () => {
  /** A signed OVA with a real descriptor, planned as import plans it. */
  async function plan(dir: string, signer: Identity, chain: Identity[] = []) {
    const descriptor = ovfDocument({ systems: [{ id: 'vm', items: cpuAndMemory() }] });
    return planImport({ source: await signedOva(dir, { signer, descriptor, chain: chain.map((c) => c.cert) }), descriptorOnly: true });
  }

  it('refuses a self-signed signer that is not trusted, naming it; accepts it pinned with caFile', async () => {
    await withTempDir(async (dir) => {
      const p = await plan(dir, self);
      await assert.rejects(checkSignature(p, { requireSignature: true, reporter: silentReporter() }), (err: unknown) => {
        assert.ok(err instanceof PackageError, String(err));
        assert.equal(err.option, 'requireSignature');
        assert.equal(err.file, 'vm.cert');
        assert.match(err.message, /^vm\.cert: signer certificate "CN=Self Signer, O=virt-ovf tests": self-signed and not among the trusted certificates \(the system CA store .*\); a trusted signature is required$/);
        return true;
      });
      const reporter = silentReporter();
      await checkSignature(p, { reporter });
      assert.match(reporter.warnings.join('\n'), /signer certificate "CN=Self Signer, O=virt-ovf tests": self-signed/, 'without --require-signature it is a warning');
      assert.equal((await checkSignature(p, { requireSignature: true, caFile: self.cert, reporter: silentReporter() }))?.chainTrusted, true);
    });
  });

  it('refuses a chain problem the same way: a signer without digitalSignature', async () => {
    await withTempDir(async (dir) => {
      const signer = signerWith('cert-sign-only', 'Cert Sign Only', ['keyUsage=critical,keyCertSign']);
      const p = await plan(dir, signer, [intermediate]);
      await assert.rejects(checkSignature(p, { requireSignature: true, caFile: root.cert, reporter: silentReporter() }), (err: unknown) => {
        assert.ok(err instanceof PackageError, String(err));
        assert.equal(err.message, 'vm.cert: signer certificate "CN=Cert Sign Only": key usage does not allow digital signatures (it allows Certificate Sign); a trusted signature is required');
        assert.doesNotMatch(err.message, /\n\s+at /, 'no stack trace');
        return true;
      });
    });
  });
});
