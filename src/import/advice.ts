// Advice valid for the connection in use: virsh recipes with -c URI, the pools and networks that exist, session and non-root answers.
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { LibvirtError, LibvirtSetupError } from '../errors.js';
import { listAllNetworks, listAllPools, resolveUri, type Connection } from '../libvirt/index.js';

/** The connection as advice needs it. */
export interface ConnectionContext {
  /** The canonical URI (virConnectGetURI), else the one asked, else null (libvirt's default). */
  readonly uri: string | null;
  /** The user named the URI (-c or LIBVIRT_DEFAULT_URI): virsh recipes carry `-c URI`. */
  readonly explicit: boolean;
}

/** The directory libvirt's own default pool uses: the system's, or the session's under the home directory. */
export const SYSTEM_IMAGES = '/var/lib/libvirt/images';

/** True for a per-user daemon URI (`qemu:///session`, `qemu+unix:///session`, `qemu+ssh://host/session`). */
export function isSessionUri(uri: string | null): boolean {
  if (uri === null) return process.getuid?.() !== 0; // libvirt's default for a user is the session
  return /^[a-z0-9+.-]+:\/\/[^/]*\/session\b/i.test(uri);
}

/** True when the URI names no host (the daemon runs here). */
export function isLocalUri(uri: string | null): boolean {
  return uri === null || /^[a-z0-9+.-]+:\/\/\//i.test(uri);
}

/** The connection context of an open connection; `asked` is the connect option (undefined: the default). */
export function connectionContext(conn: Connection | undefined, asked: string | undefined): ConnectionContext {
  const explicit = resolveUri(asked) !== null;
  let uri = resolveUri(asked);
  try {
    if (conn) uri = conn.uri();
  } catch {
    // A dead connection: keep the URI that was asked.
  }
  return { uri, explicit };
}

/** A shell-safe word. */
function quote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./~-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `virsh [-c URI] ARGS`: a command line valid for this connection. */
export function virsh(ctx: ConnectionContext, ...args: string[]): string {
  return ['virsh', ...(ctx.explicit && ctx.uri ? ['-c', quote(ctx.uri)] : []), ...args.map(quote)].join(' ');
}

/** Where the connection's images go by convention: the session's data directory or the system's. */
export function imagesDirectory(ctx: ConnectionContext): string {
  return isSessionUri(ctx.uri) ? join(homedir(), '.local/share/libvirt/images') : SYSTEM_IMAGES;
}

/** `on URI` for messages. */
function on(ctx: ConnectionContext): string {
  return ctx.uri ? ` on ${ctx.uri}` : '';
}

/**
 * The error for a failed virConnectOpen, with what fixes it for this user and URI: root, the
 * `libvirt` group or `qemu:///session` for a user refused by the system daemon; the session
 * daemon's needs for a session URI; starting the daemon otherwise.
 */
export function connectError(err: LibvirtError, asked: string | undefined): LibvirtSetupError {
  const uri = resolveUri(asked);
  const shown = uri ?? (process.getuid?.() === 0 ? "libvirt's default URI" : "libvirt's default URI for a user, qemu:///session,");
  const why = err.message.replace(/^virConnectOpen: /, '');
  const root = process.getuid?.() === 0;
  let fix: string;
  if (!isLocalUri(uri)) fix = 'check the host name, that libvirtd runs there, and that you can log in to it';
  else if (isSessionUri(uri)) fix = `${shown} runs a libvirt daemon as you (${userInfo().username}): check that libvirtd or virtqemud is installed and that your home directory and $XDG_RUNTIME_DIR are writable; or connect to qemu:///system as root`;
  else if (!root) fix = `${shown} is the system daemon, which needs root or membership in the libvirt group: run virt-ovf as root, add yourself to the group (usermod -aG libvirt ${userInfo().username}, then log in again), or use your own session daemon with -c qemu:///session`;
  else fix = 'check that libvirtd (or virtqemud) is running: systemctl start libvirtd';
  return new LibvirtSetupError(`cannot connect to ${shown}: ${why}; ${fix}`, { cause: err });
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** `, did you mean "x"?` when one name is within two edits of `name`. */
function didYouMean(name: string, names: readonly string[]): string {
  const close = names.filter((n) => distance(n.toLowerCase(), name.toLowerCase()) <= 2).slice(0, 3);
  return close.length ? `, did you mean ${close.map((n) => `"${n}"`).join(' or ')}?` : '';
}

/** Name, state and target path of every pool on the connection (empty when they cannot be listed). */
async function poolSummaries(conn: Connection): Promise<{ name: string; active: boolean; path?: string }[]> {
  const pools = await listAllPools(conn).catch(() => []);
  const out: { name: string; active: boolean; path?: string }[] = [];
  for (const p of pools) {
    const path = /<target>\s*<path>([^<]+)<\/path>/.exec(await p.xml().catch(() => ''))?.[1];
    out.push({ name: p.name(), active: p.isActive(), ...(path ? { path } : {}) });
    p.free();
  }
  return out;
}

/**
 * The error for a storage pool that does not exist: the pools that do, a "did you mean", and a
 * recipe that defines, builds and starts the pool (never autostarts it) in the connection's
 * images directory when no pool uses that directory yet, else in a directory the user picks.
 * Option `pool`.
 */
export async function missingPoolError(conn: Connection, name: string, asked: string | undefined): Promise<LibvirtSetupError> {
  const ctx = connectionContext(conn, asked);
  const pools = await poolSummaries(conn);
  const listed = pools.map((p) => `${p.name} (${p.active ? 'active' : 'inactive'}${p.path ? `, ${p.path}` : ''})`).join(', ');
  const images = imagesDirectory(ctx);
  const dir = pools.some((p) => p.path === images) ? 'DIR' : images;
  const recipe = `${virsh(ctx, 'pool-define-as', name, 'dir', '--target', dir)} && ${virsh(ctx, 'pool-build', name)} && ${virsh(ctx, 'pool-start', name)}`;
  const there = pools.length ? `the pools there are ${listed}${didYouMean(name, pools.map((p) => p.name))}` : 'the connection has no storage pool';
  return new LibvirtSetupError(`storage pool "${name}" does not exist${on(ctx)} (${there}); create it (${recipe}), write the disks into a directory, or choose an existing pool`, { option: 'pool' });
}

/** The error for a pool that exists but is not running. */
export function inactivePoolError(conn: Connection, name: string, asked: string | undefined): LibvirtSetupError {
  return new LibvirtSetupError(`storage pool "${name}" is not active; start it with: ${virsh(connectionContext(conn, asked), 'pool-start', name)}`);
}

/**
 * The error for a libvirt network that does not exist: on a session connection QEMU user-mode
 * networking (option `userNetwork`), else the networks that exist and how to define one (option `networks`).
 */
export async function missingNetworkError(conn: Connection, network: string, ovfNetwork: string | undefined, asked: string | undefined): Promise<LibvirtSetupError> {
  const ctx = connectionContext(conn, asked);
  const what = `libvirt network "${network}" (for OVF network "${ovfNetwork ?? '(none)'}") does not exist${on(ctx)}`;
  if (isSessionUri(ctx.uri)) {
    return new LibvirtSetupError(`${what}; a session daemon runs no virtual networks of its own: attach the NICs to QEMU user-mode networking, or OVF network "${ovfNetwork ?? ''}" to a host bridge`, { option: 'userNetwork' });
  }
  const nets = await listAllNetworks(conn).catch(() => []);
  const names = nets.map((n) => {
    const s = `${n.name()} (${n.isActive() ? 'active' : 'inactive'})`;
    n.free();
    return s;
  });
  const there = names.length ? `the networks there are ${names.join(', ')}${didYouMean(network, names.map((n) => n.replace(/ \(.*$/, '')))}` : 'the connection has no virtual network';
  return new LibvirtSetupError(
    `${what} (${there}); define it (${virsh(ctx, 'net-define', 'NETWORK.xml')} && ${virsh(ctx, 'net-start', network)}), attach OVF network "${ovfNetwork ?? ''}" to a host bridge or QEMU user-mode networking, or choose an existing network`,
    { option: 'networks' },
  );
}

/** The error for a network that exists but is not running (it must run for the domain to start). */
export function inactiveNetworkError(conn: Connection, network: string, asked: string | undefined): LibvirtSetupError {
  return new LibvirtSetupError(`libvirt network "${network}" is not active; start it with: ${virsh(connectionContext(conn, asked), 'net-start', network)}`);
}
