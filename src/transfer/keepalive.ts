// The connection's keepalive, relaxed while bulk transfers (libvirt streams) run on it.
import type { Connection } from '../libvirt/index.js';

/**
 * Keepalive while a sink is open on a connection: a daemon whose stream queue is full stops
 * reading the connection, probes included, so the usual 2 s x 2 closes a busy but healthy
 * connection on a loaded host (measured). A hung daemon is still found within about 30 s, and
 * an abort (SIGINT) gives up the call in flight at once (Connection.interrupt).
 */
const STREAM_KEEPALIVE = { intervalSeconds: 5, count: 5 } as const;
/** Sinks open per connection: keepalive is restored when the last one ends. */
const openSinks = new WeakMap<Connection, number>();

/**
 * Relaxes the connection's keepalive to STREAM_KEEPALIVE while a bulk transfer runs; the returned
 * function (call it once) restores KEEPALIVE when no other transfer holds it.
 */
export function holdStreamKeepAlive(conn: Connection): () => void {
  const count = openSinks.get(conn) ?? 0;
  if (count === 0) conn.setKeepAlive(STREAM_KEEPALIVE.intervalSeconds, STREAM_KEEPALIVE.count);
  openSinks.set(conn, count + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (openSinks.get(conn) ?? 1) - 1;
    openSinks.set(conn, left);
    try {
      if (left === 0 && !conn.closed) conn.setKeepAlive();
    } catch {
      // A connection libvirt closed or that stopped answering: nothing to restore, and the transfer's own error is the one to report.
    }
  };
}
