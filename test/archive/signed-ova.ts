// Signed OVAs for the .cert tests: a descriptor, a disk, a manifest with real digests and an
// ovftool-style .cert, packed by GNU tar.

import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTar } from './helpers.js';
import { certText, sign, type Identity } from './pki.js';

const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex');

/** How signedOva signs. */
export interface SignedOvaOptions {
  signer: Identity;
  /** PEM files after the signer's certificate in the .cert. */
  chain?: string[];
  alg?: string;
  /** Certificate whose PEM goes into the .cert instead of the signer's. */
  shownCert?: string;
  /** Name written between the parentheses of the signature line. */
  signedName?: string;
  /** Changes the manifest after it was signed. */
  tamper?: (mf: string) => string;
  withManifest?: boolean;
  /** The text of vm.ovf (default `<Envelope/>`). */
  descriptor?: string;
}

/** Builds dir/vm.ova holding vm.ovf, disk1.vmdk, vm.mf (real digests) and a vm.cert signing it. */
export async function signedOva(dir: string, o: SignedOvaOptions): Promise<string> {
  const src = join(dir, 'src');
  await mkdir(src, { recursive: true });
  const ovf = o.descriptor ?? '<Envelope/>\n';
  const disk = 'disk bytes\n';
  await writeFile(join(src, 'vm.ovf'), ovf);
  await writeFile(join(src, 'disk1.vmdk'), disk);
  const mf = `SHA256(vm.ovf)= ${sha256(ovf)}\nSHA256(disk1.vmdk)= ${sha256(disk)}\n`;
  await writeFile(join(src, 'vm.mf'), mf);
  const alg = o.alg ?? 'sha256';
  const hex = sign(dir, o.signer.key, join(src, 'vm.mf'), alg);
  await writeFile(join(src, 'vm.cert'), certText(alg, o.signedName ?? 'vm.mf', hex, [o.shownCert ?? o.signer.cert, ...(o.chain ?? [])]));
  if (o.tamper) await writeFile(join(src, 'vm.mf'), o.tamper(mf));
  const ova = join(dir, 'vm.ova');
  makeTar(ova, src, ['vm.ovf', ...(o.withManifest === false ? [] : ['vm.mf']), 'vm.cert', 'disk1.vmdk'], 'ustar');
  return ova;
}
