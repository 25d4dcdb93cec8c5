// `virt-ovf corpus DIR`: translate every descriptor in a folder, validate and define each domain, report a table.
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { domainToXml } from '../domain/xml.js';
import { UsageError, VirtOvfError } from '../errors.js';
import { buildDomainSpec } from '../import/build-domain.js';
import { IMPORT_DEFAULTS } from '../import/options.js';
import { planImport, type ImportPlan } from '../import/plan.js';
import { assignTargets, volumeFormat, type Destination } from '../import/targets.js';
import { Connection, defineDomain, VIR_DOMAIN_UNDEFINE_NVRAM } from '../libvirt/index.js';
import { validateDomainXml } from '../libvirt/validate.js';
import { safeName } from '../naming.js';

/**
 * Expected outcome of one corpus file (test data about the corpus): either a failure
 * (error class and a message substring) or the summary of the domain it must produce.
 */
export type ExpectedFailure =
  | { readonly error: string; readonly message: string; readonly summary?: undefined }
  | { readonly summary: string; readonly error?: undefined; readonly message?: undefined };

/** One row of the corpus table. */
export interface CorpusRow {
  readonly file: string;
  readonly producer: string;
  /** ok: translated, validated and defined; expected-failure: failed as expected; FAIL otherwise. */
  readonly result: 'ok' | 'expected-failure' | 'FAIL';
  readonly summary: string;
  readonly warnings: number;
}

/**
 * Runs the corpus check over every `*.ovf` in `dir`.
 * @param expect expected failures by file name; a file not listed must translate, validate and define.
 * @param uri connection used to define (then undefine) each domain; undefined: no define step.
 */
export async function runCorpus(dir: string, opts: { expect: Readonly<Record<string, ExpectedFailure>>; uri?: string | null; define: boolean }, onRow: (row: CorpusRow) => void): Promise<{ passed: number; failed: number; rows: CorpusRow[] }> {
  const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.ovf')).sort();
  if (files.length === 0) throw new UsageError(`${dir}: no .ovf files`);
  const conn = opts.define ? Connection.open(opts.uri) : undefined;
  const rows: CorpusRow[] = [];
  try {
    for (const file of files) {
      const row = await checkOne(join(dir, file), file, opts.expect[file], conn);
      rows.push(row);
      onRow(row);
    }
  } finally {
    conn?.close();
  }
  const failed = rows.filter((r) => r.result === 'FAIL').length;
  return { passed: rows.length - failed, failed, rows };
}

async function checkOne(path: string, file: string, expected: ExpectedFailure | undefined, conn: Connection | undefined): Promise<CorpusRow> {
  let producer = '-';
  try {
    const plan = await planImport({ source: path, descriptorOnly: true, name: `virt-ovf-corpus-${safeName(file.replace(/\.ovf$/, ''))}`.slice(0, 60) });
    producer = `${plan.producer} OVF ${plan.envelope.version}`;
    // As a --print-xml import into the default pool would name the volumes.
    const destination: Destination = { kind: 'pool', pool: IMPORT_DEFAULTS.pool };
    const drives = assignTargets(plan.drives, destination, volumeFormat(destination, plan.mappings), plan.mappings);
    const xml = domainToXml(buildDomainSpec(plan, drives, { type: 'qemu', uuid: randomUUID() }), plan.mappings.domain);
    await validateDomainXml(xml);
    if (conn) {
      const domain = await defineDomain(conn, xml);
      try {
        await domain.undefine(VIR_DOMAIN_UNDEFINE_NVRAM);
      } finally {
        domain.free();
      }
    }
    const summary = summarize(plan);
    if (expected?.error !== undefined) return { file, producer, result: 'FAIL', summary: `expected ${expected.error} but it imported (${summary})`, warnings: plan.warnings.length };
    if (expected?.summary !== undefined && expected.summary !== summary) {
      return { file, producer, result: 'FAIL', summary: `domain differs from the expectation:\n    expected ${expected.summary}\n    actual   ${summary}`, warnings: plan.warnings.length };
    }
    return { file, producer, result: 'ok', summary, warnings: plan.warnings.length };
  } catch (err) {
    const name = (err as Error).constructor?.name ?? 'Error';
    const message = (err as Error).message;
    if (expected?.error !== undefined && name === expected.error && message.includes(expected.message)) return { file, producer, result: 'expected-failure', summary: `${name}: ${message}`, warnings: 0 };
    const unexpectedClass = !(err instanceof VirtOvfError) ? ' (not a virt-ovf error)' : '';
    return { file, producer, result: 'FAIL', summary: `${name}${unexpectedClass}: ${message}`, warnings: 0 };
  }
}

/**
 * What the domain carries, in one line: vCPUs (and topology), memory in MiB, firmware,
 * machine, libosinfo id, each drive (target, bus, controller model, device) and each NIC
 * (model, MAC, attachment).
 */
export function summarize(plan: ImportPlan): string {
  const m = plan.mapped;
  const controllerModel = (bus: string, index: number | undefined) => m.controllers.find((c) => c.type === bus && c.index === index)?.model;
  const drives = plan.drives.map(({ placed: p }) => {
    const model = p.address ? controllerModel(p.bus === 'virtio' ? '' : p.bus, p.address.controller) : undefined;
    return `${p.dev}=${p.bus}${model ? `/${model}` : ''}${p.device === 'cdrom' ? ':cdrom' : ''}`;
  });
  const nics = m.nics.map((n) => `${n.model}${n.mac ? `/${n.mac}` : ''}`);
  const topo = m.topology ? ` (${m.topology.sockets}s×${m.topology.cores}c)` : '';
  const other = [m.video ? `video ${m.video.model}` : '', ...m.sounds.map((s) => `sound ${s.model}`), ...m.usb.map((u) => `usb ${u.model}`), m.tpm ? `tpm ${m.tpm.model}` : '']
    .filter(Boolean)
    .join(', ');
  return `${m.vcpus} vCPU${topo}, ${m.memoryBytes / 2 ** 20} MiB, ${m.firmware}${m.secureBoot ? '+secureboot' : ''}, ${m.machine}, os ${m.osinfo ?? '-'}; drives ${drives.join(' ') || '-'}; nics ${nics.join(' ') || '-'}${other ? `; ${other}` : ''}`;
}

/** Reads an expectations file: `{ "file.ovf": { "error": "OvfParseError", "message": "..." } }`. */
export async function readExpectations(path: string | undefined): Promise<Record<string, ExpectedFailure>> {
  if (path === undefined) return {};
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, ExpectedFailure>;
  } catch (err) {
    throw new UsageError(`--expect ${path}: ${(err as Error).message}`);
  }
}
