// Hypervisor connection (virConnectPtr): open/close, versions, capabilities, streams.

import { LibvirtError } from '../errors.js';
import { callSync, ConnContext, ErrorCode, trackAbandoned, type ConnHealth } from './call.js';
import { KEEPALIVE, runEventLoop, startKeepAlive } from './events.js';
import { native, type Ptr } from './ffi.js';
import { Stream } from './stream.js';

/** Options of Connection.domainCapabilities(); each one omitted lets libvirt pick the default. */
export interface DomainCapabilitiesOptions {
  /** Path to the emulator binary, e.g. /usr/bin/qemu-system-x86_64. */
  emulatorbin?: string;
  /** Guest architecture, e.g. x86_64. */
  arch?: string;
  /** Machine type, e.g. q35 or pc. */
  machine?: string;
  /** Virtualization type, e.g. kvm or qemu. */
  virttype?: string;
}

/**
 * The URI virsh would use: the explicit argument, else $LIBVIRT_DEFAULT_URI, else null (libvirt
 * then applies uri_default from libvirt.conf or probes the hypervisors). Empty strings count as unset.
 */
export function resolveUri(uri?: string | null): string | null {
  if (uri !== undefined && uri !== null && uri !== '') return uri;
  const env = process.env['LIBVIRT_DEFAULT_URI'];
  return env !== undefined && env !== '' ? env : null;
}

/**
 * Version of the libvirt client library loaded in this process (virGetVersion), as
 * major * 1,000,000 + minor * 1,000 + release, e.g. 9000000 for 9.0.0.
 * @throws LibvirtSetupError if libvirt.so.0 is missing; LibvirtError if libvirt fails.
 */
export function libraryVersion(): number {
  const out = [0];
  callSync('virGetVersion', 'negative', out, null, null);
  return Number(out[0]);
}

/** An open connection to a libvirt daemon; close() it (children are freed with it). */
export class Connection {
  readonly #ctx: ConnContext;
  /** The URI open() was given after resolveUri (null: libvirt's default), for reopenWithin(). */
  readonly #asked: string | null;

  private constructor(ptr: Ptr, asked: string | null) {
    startKeepAlive(ptr);
    this.#ctx = new ConnContext(ptr);
    this.#asked = asked;
  }

  /**
   * Opens a read-write connection (virConnectOpen) with keepalive (see KEEPALIVE in events.ts),
   * so a daemon that dies or stops answering fails the calls in flight. The URI is resolved like
   * virsh does (see resolveUri). Synchronous.
   * @throws LibvirtError if the daemon is unreachable or the URI is invalid; LibvirtSetupError if
   *   libvirt.so.0 is missing.
   */
  static open(uri?: string | null): Connection {
    runEventLoop();
    const asked = resolveUri(uri);
    return new Connection(callSync<Ptr>('virConnectOpen', 'null', asked), asked);
  }

  /**
   * Like open(), on a worker thread and given up after `timeoutMs` milliseconds (a connection
   * that opens later is closed at once): for a rollback that must not wait on a hung daemon.
   * @throws LibvirtError if the daemon is unreachable, refuses, or does not answer in time.
   */
  static openWithin(uri: string | null | undefined, timeoutMs: number): Promise<Connection> {
    runEventLoop();
    const asked = resolveUri(uri);
    return new Promise<Connection>((resolve, reject) => {
      let late = false;
      let settled: (() => void) | undefined;
      const timer = setTimeout(() => {
        late = true;
        settled = trackAbandoned();
        reject(new LibvirtError('virConnectOpen', ErrorCode.INVALID_CONN, 0, `libvirt did not answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      native('virConnectOpen').async(asked, (err: unknown, ptr: Ptr | null) => {
        clearTimeout(timer);
        settled?.();
        if (err || ptr === null) {
          if (!late) reject(new LibvirtError('virConnectOpen', ErrorCode.INVALID_CONN, 0, err ? String(err) : 'cannot connect to libvirt'));
        } else if (late) {
          new Connection(ptr, asked).close();
        } else {
          resolve(new Connection(ptr, asked));
        }
      });
    });
  }

  /** Per-connection call state shared with the object wrappers (internal). */
  get context(): ConnContext {
    return this.#ctx;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#ctx.closed;
  }

  /** `alive`; `hung` while a call given up on (interrupt, deadline) is unanswered; `dead` once libvirt closed the connection. */
  get health(): ConnHealth {
    return this.#ctx.health;
  }

  /**
   * Gives up on every libvirt call queued or in flight on this connection: each rejects at once
   * with `reason` (e.g. the run's AbortSignal reason). Never throws.
   */
  interrupt(reason: Error): void {
    this.#ctx.interrupt(reason);
  }

  /**
   * A new connection to the same URI (openWithin), e.g. to roll back after libvirtd restarted.
   * Never use it while this one is `hung`: opening blocks a worker thread until the daemon answers.
   * @throws LibvirtError as openWithin.
   */
  reopenWithin(timeoutMs: number): Promise<Connection> {
    return Connection.openWithin(this.#asked, timeoutMs);
  }

  /** From now on a call not answered within `ms` milliseconds rejects with LibvirtError (as by interrupt()); undefined: wait (the default). */
  setDeadline(ms: number | undefined): void {
    this.#ctx.setDeadline(ms);
  }

  /**
   * The canonical URI of the connection (virConnectGetURI), e.g. `qemu:///system`.
   * @throws LibvirtError if closed or libvirt fails.
   */
  uri(): string {
    return callSync<string>('virConnectGetURI', 'null', this.#ctx.handle('virConnectGetURI'));
  }

  /**
   * Version of the libvirt daemon at the other end (virConnectGetLibVersion), encoded like
   * libraryVersion(), e.g. 9000000.
   * @throws LibvirtError if closed or libvirt fails.
   */
  libVersion(): number {
    const out = [0];
    callSync('virConnectGetLibVersion', 'negative', this.#ctx.handle('virConnectGetLibVersion'), out);
    return Number(out[0]);
  }

  /**
   * The host capabilities XML (virConnectGetCapabilities), a `<capabilities>` document.
   * @throws LibvirtError (rejection) if closed or libvirt fails.
   */
  capabilities(): Promise<string> {
    return this.#ctx.call<string>('virConnectGetCapabilities', 'null', this.#ctx.handle('virConnectGetCapabilities'));
  }

  /**
   * The domain capabilities XML (virConnectGetDomainCapabilities, flags 0), a
   * `<domainCapabilities>` document for the given emulator/arch/machine/virttype.
   * @throws LibvirtError (rejection) if closed, the combination is unsupported, or libvirt fails.
   */
  domainCapabilities(opts: DomainCapabilitiesOptions = {}): Promise<string> {
    const conn = this.#ctx.handle('virConnectGetDomainCapabilities');
    const { emulatorbin = null, arch = null, machine = null, virttype = null } = opts;
    return this.#ctx.call<string>('virConnectGetDomainCapabilities', 'null', conn, emulatorbin, arch, machine, virttype, 0);
  }

  /**
   * Changes keepalive (virConnectSetKeepAlive): a probe after `intervalSeconds` of silence, the
   * connection closed after `count` unanswered probes. A bulk stream transfer relaxes it (a daemon
   * busy writing a stream's data stops reading the connection, probes included) and restores
   * KEEPALIVE (events.ts) after it. False when the driver has no keepalive.
   * @throws LibvirtError if closed.
   */
  setKeepAlive(intervalSeconds: number = KEEPALIVE.intervalSeconds, count: number = KEEPALIVE.count): boolean {
    return (native('virConnectSetKeepAlive')(this.#ctx.handle('virConnectSetKeepAlive'), intervalSeconds, count) as number) >= 0;
  }

  /**
   * Creates a blocking stream (virStreamNew, flags 0) for volume upload/download.
   * @throws LibvirtError if closed or libvirt fails.
   */
  newStream(): Stream {
    return new Stream(this.#ctx, callSync<Ptr>('virStreamNew', 'null', this.#ctx.handle('virStreamNew'), 0));
  }

  /**
   * Frees every object still open on this connection (domains, pools, volumes, networks,
   * streams), then releases the connection (virConnectClose) once calls in flight settle.
   * Idempotent; never throws.
   */
  close(): void {
    this.#ctx.close();
  }
}
