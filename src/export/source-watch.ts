// A stopped domain must stay stopped while its disks are read. QEMU's image locks, held by
// source-server.ts on every local disk, make a start fail: libvirt shows the domain active for a
// moment, then stopped again, and nothing was written. A disk without such locks (a network
// disk) could be written by a domain started meanwhile, so then the domain's state is polled and
// a start fails the export (which removes what it wrote). Either way the state is checked again
// before any file is placed.
import { LibvirtSetupError } from '../errors.js';
import type { Connection, Domain } from '../libvirt/index.js';
import { OutputGuard, type Placement } from './output.js';

/** How often the domain's state is polled, in milliseconds. */
const POLL_MS = 250;

/**
 * Watches a stopped domain (virDomainIsActive). `signal` aborts when the run's signal does, or,
 * once armed for disks QEMU's locks do not hold, when the domain is seen running (reason: a
 * LibvirtSetupError naming it).
 */
export class StoppedDomainWatch {
  private readonly started = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  /** The run's signal, also aborted when the domain starts. */
  readonly signal: AbortSignal;

  constructor(
    private readonly domain: Domain,
    private readonly name: string,
    runSignal: AbortSignal,
  ) {
    this.signal = AbortSignal.any([runSignal, this.started.signal]);
  }

  /**
   * Starts polling when some carried disk is not held by QEMU's image locks (`unheld`); with
   * every disk held, a start fails by itself and the state is only checked by verify().
   */
  arm(unheld: boolean): void {
    if (!unheld || this.timer) return;
    this.timer = setInterval(() => {
      try {
        this.verify();
      } catch {
        // started (the signal is aborted), or libvirt unreachable for now: verify() says so at the end
      }
    }, POLL_MS);
    this.timer.unref();
  }

  /**
   * Checks now that the domain is stopped (and, when polled, was never seen running).
   * @throws LibvirtSetupError when it is or was running; LibvirtError when libvirt cannot say.
   */
  verify(): void {
    if (!this.started.signal.aborted && this.domain.isActive()) {
      this.started.abort(new LibvirtSetupError(`domain ${this.name} was started while its disks were being exported, so they may have changed under the export; nothing was written; export it again (a running domain is copied through a backup job)`));
    }
    if (this.started.signal.aborted) throw this.started.signal.reason;
  }

  /** Stops polling. */
  stop(): void {
    clearInterval(this.timer);
  }
}

/** An output guard that first checks the watched domain stayed stopped: no file is placed otherwise. */
export class StoppedDomainGuard extends OutputGuard {
  constructor(
    conn: Connection,
    force: boolean,
    private readonly watch: StoppedDomainWatch,
  ) {
    super(conn, force);
  }

  /** See OutputGuard.place; @throws LibvirtSetupError first when the domain was started. */
  override async place(files: readonly Placement[]): Promise<void> {
    this.watch.verify();
    return super.place(files);
  }
}
