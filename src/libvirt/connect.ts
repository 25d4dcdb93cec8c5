// Hypervisor connection (virConnectPtr): open/close, versions, capabilities, streams.

import { callSync, ConnContext } from './call.js';
import { registerEventLoop, type Ptr } from './ffi.js';
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

  private constructor(ptr: Ptr) {
    this.#ctx = new ConnContext(ptr);
  }

  /**
   * Opens a read-write connection (virConnectOpen). The URI is resolved like virsh does
   * (see resolveUri). Synchronous.
   * @throws LibvirtError if the daemon is unreachable or the URI is invalid; LibvirtSetupError if
   *   libvirt.so.0 is missing.
   */
  static open(uri?: string | null): Connection {
    const resolved = resolveUri(uri);
    if (resolved?.includes(':///embed')) registerEventLoop();
    return new Connection(callSync<Ptr>('virConnectOpen', 'null', resolved));
  }

  /** Per-connection call state shared with the object wrappers (internal). */
  get context(): ConnContext {
    return this.#ctx;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#ctx.closed;
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
