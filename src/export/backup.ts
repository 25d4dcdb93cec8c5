// Point-in-time copies of a running domain's disks through a push-mode backup job (libvirt formatbackup).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from 'xmlbuilder2';
import { LibvirtSetupError } from '../errors.js';
import { makeTempDir, type TrackedDir } from '../journal/tracked.js';
import type { Domain } from '../libvirt/index.js';
import type { ExportTable } from '../mapping/schema/export.js';
import type { Reporter } from '../report.js';
import { serializeXml } from '../xml/write.js';
import type { DriveSource } from './disks.js';
import { fileView } from './source-qemu.js';

/**
 * A directory for backup copies that QEMU (running as libvirt-qemu) can write into: under
 * $TMPDIR, mode 0711, since the export's own directory may be private (e.g. under /root).
 */
export function backupDirectory(): Promise<TrackedDir> {
  return makeTempDir(process.env['TMPDIR'] ?? tmpdir(), 'virt-ovf-backup-', 0o711);
}

/** VIR_DOMAIN_JOB_COMPLETED, as virDomainGetJobStats reports a finished job. */
const JOB_COMPLETED = 3;

/**
 * Copies the hard disks among `drives` (of the running `domain`, every one that is carried:
 * with a view, or with a problem that only reading it ourselves has, since QEMU already has it
 * open: a network protocol or a secret export does not handle) to qcow2 files in `dir` (see
 * backupDirectory) with virDomainBackupBegin in push mode: the copy is consistent as of the
 * job's start and the guest keeps running. Waits for the job, reporting progress; aborts it on
 * `signal`.
 * @returns `drives` with each copied disk's view replaced by its copy's (qcow2, `table`'s file
 *   driver). Temporary space: each copy holds the disk's allocated data.
 * @throws LibvirtSetupError when the job fails or is cancelled; LibvirtError when libvirt refuses it.
 */
export async function backupDisks(domain: Domain, drives: readonly DriveSource[], dir: string, table: ExportTable, reporter: Reporter, signal: AbortSignal): Promise<DriveSource[]> {
  const copies = (d: DriveSource): boolean => (d.view !== undefined || d.problem !== undefined) && d.disk.device === 'disk';
  const copyOf = (d: DriveSource): DriveSource => ({ disk: d.disk, view: fileView(join(dir, `${d.disk.dev}.qcow2`), 'qcow2', table) });
  const copied = drives.map((d) => (copies(d) ? copyOf(d) : d));
  const disks = copied.filter(copies);
  if (disks.length === 0) return copied;
  const doc = create().ele('domainbackup', { mode: 'push' }).ele('disks');
  for (const { disk, view } of disks) {
    const path = view!.path;
    const el = doc.ele('disk', { name: disk.dev, backup: 'yes', type: 'file' });
    el.ele('driver', { type: 'qcow2' });
    el.ele('target', { file: path });
  }
  reporter.emit({ kind: 'stage', message: `Domain is running: taking a point-in-time copy of ${disks.length} disk(s) with a backup job (the guest keeps running)` });
  await domain.beginBackup(serializeXml(doc, { headless: true }));
  try {
    for (;;) {
      const job = await domain.jobInfo();
      if (job.type === 0) break;
      if (job.dataTotalBytes > 0) reporter.emit({ kind: 'progress', task: 'convert', name: 'backup', bytesDone: job.dataProcessedBytes, bytesTotal: job.dataTotalBytes });
      if (signal.aborted) throw signal.reason;
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    reporter.emit({ kind: 'progress-end', task: 'convert', name: 'backup' });
    await domain.abortJob().catch(() => undefined);
    throw err;
  }
  reporter.emit({ kind: 'progress-end', task: 'convert', name: 'backup' });
  const outcome = await domain.completedJobType();
  if (outcome !== JOB_COMPLETED) throw new LibvirtSetupError(`the backup job of the running domain ended with status ${outcome} instead of completed`);
  return copied;
}
