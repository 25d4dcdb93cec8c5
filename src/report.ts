// Progress and messages as typed events, rendered as timestamped text, a progress bar, or NDJSON.
import { formatBar, type BarState } from './render/bar.js';
import { TerminalScreen } from './render/screen.js';

/** One thing worth telling the user; `--json` prints each as one JSON line. */
export type ReportEvent =
  | { readonly kind: 'stage'; readonly message: string }
  | { readonly kind: 'info'; readonly message: string }
  | { readonly kind: 'warning'; readonly message: string }
  | { readonly kind: 'debug'; readonly message: string }
  | {
      readonly kind: 'progress';
      readonly task: 'convert' | 'verify' | 'read';
      readonly name: string;
      /** Bytes processed so far (for convert: estimated from qemu-img's percentage; for read: bytes of a one-pass source). */
      readonly bytesDone: number;
      /** 0 when unknown (a pipe on standard input): the rate is shown without an ETA. */
      readonly bytesTotal: number;
    }
  | { readonly kind: 'progress-end'; readonly task: 'convert' | 'verify' | 'read'; readonly name: string }
  | { readonly kind: 'result'; readonly result: unknown }
  | { readonly kind: 'error'; readonly message: string; readonly exitCode: number; readonly errorClass: string; readonly option?: string };

/**
 * Version of the JSON output (`--json` events, inspect's report): raised when a field changes
 * meaning or disappears; new fields and event kinds may come without it. See man/virt-ovf.1 JSON OUTPUT.
 */
export const JSON_FORMAT_VERSION = 1;

/** Receives events. */
export interface Reporter {
  emit(event: ReportEvent): void;
  /** Warnings emitted so far, in order. */
  readonly warnings: readonly string[];
}

/** How events are rendered: CLI flags -q, -v, --json and whether stderr is a terminal. */
export interface ReporterOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
  /** Draw progress bars (default: stderr is a TTY). */
  readonly tty?: boolean;
  readonly out?: NodeJS.WritableStream;
  readonly err?: NodeJS.WritableStream;
}

/**
 * Makes text from packages safe for a terminal: C0 and C1 control characters and DEL
 * (which could forge lines or send escape sequences) are shown as \uXXXX, newlines as \n.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** A reporter that prints nothing and keeps the warnings: the library's default. */
export function silentReporter(): Reporter {
  const warnings: string[] = [];
  return {
    warnings,
    emit(event) {
      if (event.kind === 'warning') warnings.push(event.message);
    },
  };
}

/**
 * Creates a reporter. Text goes to stderr (so stdout stays for --print-xml and results); JSON goes
 * to stdout. On a terminal one TerminalScreen owns stderr: lines scroll above the live bars and
 * never share a line with them; an error or result removes the bars that are left.
 */
export function createReporter(opts: ReporterOptions = {}): Reporter {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const tty = opts.tty ?? (process.stderr.isTTY === true);
  const screen = tty ? new TerminalScreen(err as NodeJS.WritableStream & { columns?: number }) : undefined;
  const start = Date.now();
  const warnings: string[] = [];
  const bars = new Map<string, BarState>();
  const lastPlain = new Map<string, number>();
  const stamp = () => `[${((Date.now() - start) / 1000).toFixed(1).padStart(6)}]`;
  const line = (text: string) => (screen ? screen.line(text) : err.write(`${text}\n`));
  const verb = { convert: 'Converting', verify: 'Verifying', read: 'Reading' } as const;
  const label = (task: keyof typeof verb, name: string) => `${verb[task].padEnd(10)} ${terminalSafe(name)}`;
  return {
    warnings,
    emit(event) {
      if (event.kind === 'warning') warnings.push(event.message);
      if (opts.json) {
        if (event.kind !== 'debug' || opts.verbose) out.write(JSON.stringify({ version: JSON_FORMAT_VERSION, time: new Date().toISOString(), ...event }) + '\n');
        return;
      }
      switch (event.kind) {
        case 'stage':
          if (!opts.quiet) line(`${stamp()} ${terminalSafe(event.message)}`);
          break;
        case 'info':
          if (!opts.quiet) line(terminalSafe(event.message));
          break;
        case 'warning':
          line(`virt-ovf: warning: ${terminalSafe(event.message)}`);
          break;
        case 'debug':
          if (opts.verbose) line(`virt-ovf: debug: ${terminalSafe(event.message)}`);
          break;
        case 'error':
          screen?.clear();
          bars.clear();
          // Multi-line messages (libvirt's, QEMU's) keep their lines, each indented so none can pass for one of ours.
          line(`virt-ovf: error: ${event.message.split('\n').map(terminalSafe).join('\n  ')}`);
          break;
        case 'progress': {
          if (opts.quiet) break;
          const key = `${event.task}:${event.name}`;
          if (screen) {
            const state = { label: label(event.task, event.name), bytesDone: event.bytesDone, bytesTotal: event.bytesTotal, startedAt: bars.get(key)?.startedAt ?? Date.now() };
            bars.set(key, state);
            screen.bar(key, formatBar(state, { columns: screen.columns }));
          } else {
            // An unknown total (a pipe) is told every 256 MiB read instead of every 10%.
            const step = event.bytesTotal > 0 ? Math.floor((event.bytesDone / event.bytesTotal) * 10) * 10 : Math.floor(event.bytesDone / 2 ** 28);
            if ((lastPlain.get(key) ?? -1) < step) {
              lastPlain.set(key, step);
              const done = event.bytesTotal > 0 ? `${step}%` : `${Math.round(event.bytesDone / 2 ** 20)} MiB`;
              err.write(`${stamp()} ${verb[event.task]} ${terminalSafe(event.name)}: ${done}\n`);
            }
          }
          break;
        }
        case 'progress-end': {
          const key = `${event.task}:${event.name}`;
          const state = bars.get(key);
          screen?.end(key, state && formatBar(state, { columns: screen.columns }));
          bars.delete(key);
          lastPlain.delete(key);
          break;
        }
        case 'result':
          screen?.clear();
          bars.clear();
          break;
      }
    },
  };
}
