// A closed output pipe (`virt-ovf import … --json | head -1`): EPIPE on stdout or stderr, handled quietly.

type Listener = () => void;

const listeners = new Set<Listener>();
let installed = false;
let broken = false;

/** True once a write to stdout or stderr failed with EPIPE. */
export function outputBroken(): boolean {
  return broken;
}

/**
 * Makes EPIPE on stdout and stderr quiet (no uncaught 'error', no stack trace): the first one
 * calls every onBrokenPipe() listener, and every later write error on the streams is ignored
 * (the reader is gone). Other stream errors are thrown as before. Idempotent; for the CLI.
 */
export function quietBrokenPipes(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && !broken) throw err;
      if (broken) return;
      broken = true;
      for (const fn of [...listeners]) fn();
    });
  }
}

/** Calls `fn` when stdout or stderr first fails with EPIPE (after quietBrokenPipes()); returns the function that stops listening. */
export function onBrokenPipe(fn: Listener): () => void {
  if (broken) {
    queueMicrotask(fn);
    return () => {};
  }
  listeners.add(fn);
  return () => listeners.delete(fn);
}
