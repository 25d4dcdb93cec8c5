// libvirt's default event loop, run on its own thread, and the keepalive it carries.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { native, registerEventLoop, type Ptr } from './ffi.js';

/**
 * Keepalive of every connection (virConnectSetKeepAlive): a probe after `intervalSeconds`
 * without a message from the daemon, and the connection is closed after `count` unanswered
 * probes, so a daemon that is stopped or hung is detected after about
 * intervalSeconds * (count + 1) = 6 s. A call in flight then fails with a LibvirtError (even a
 * synchronous one: the calling thread runs the probes itself while it waits), which bounds how
 * long SIGINT can wait behind a libvirt call.
 */
export const KEEPALIVE = { intervalSeconds: 2, count: 2 } as const;

/** How often the loop wakes up without an event, so that it ends within this many ms when the process exits. */
const WAKE_MS = 250;

/**
 * The loop's thread: a worker_threads Worker (CommonJS, evaluated from this string) that calls
 * virEventRunDefaultImpl forever. It is not a koffi `.async` call because those need the main
 * thread to queue the next iteration, and the main thread may itself wait in a synchronous
 * libvirt call that only keepalive can end. A timer (virEventAddTimeout, its callback running on
 * the worker's own thread) wakes the loop every WAKE_MS so the worker stops promptly on exit.
 */
const LOOP_SOURCE = `
const { workerData } = require('node:worker_threads');
const koffi = require(workerData.koffi);
const lib = koffi.load('libvirt.so.0');
const tick = koffi.proto('void virOvfTick(int timer, void *opaque)');
const addTimeout = lib.func('int virEventAddTimeout(int frequency, virOvfTick *cb, void *opaque, void *ff)');
const runOnce = lib.func('int virEventRunDefaultImpl(void)');
addTimeout(workerData.wakeMs, koffi.register(() => {}, koffi.pointer(tick)), null, null);
require('node:worker_threads').parentPort.postMessage('ready');
const stop = new Int32Array(workerData.stop);
while (Atomics.load(stop, 0) === 0 && runOnce() >= 0);
`;

let loop: Worker | undefined;

/**
 * Registers libvirt's default event loop (before the first virConnectOpen) and runs it on its own
 * thread for the life of the process; once the thread has loaded koffi (a few tens of ms) it no
 * longer keeps the process alive. Idempotent.
 */
export function runEventLoop(): void {
  if (loop) return;
  registerEventLoop();
  // The worker ends its loop when asked through `stop` (process 'exit'): Node then joins its
  // thread, and a thread inside virEventRunDefaultImpl would not see a termination request.
  const stop = new SharedArrayBuffer(4);
  loop = new Worker(LOOP_SOURCE, { eval: true, workerData: { koffi: createRequire(import.meta.url).resolve('koffi'), wakeMs: WAKE_MS, stop } });
  // The thread keeps the process alive only until koffi is loaded in it: a process that ended
  // while the worker was still loading the addon aborted in koffi's init (napi_throw, SIGABRT).
  const worker = loop;
  worker.once('message', () => worker.unref());
  worker.once('exit', () => worker.unref());
  process.once('exit', () => Atomics.store(new Int32Array(stop), 0, 1));
  loop.on('error', () => {
    // Without the loop, keepalive stops: libvirt then reports the connection closed, which the calls surface.
  });
}

/**
 * Turns keepalive on for `conn` (virConnectSetKeepAlive with KEEPALIVE). Returns false when the
 * driver has no keepalive (in-process drivers such as qemu:///embed, or a daemon too old).
 */
export function startKeepAlive(conn: Ptr): boolean {
  try {
    return (native('virConnectSetKeepAlive')(conn, KEEPALIVE.intervalSeconds, KEEPALIVE.count) as number) >= 0;
  } catch {
    return false;
  }
}
