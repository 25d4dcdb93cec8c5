// Debug tracing (-v) through Node diagnostics channels: each external command virt-ovf starts and the table row each RASD Item matched.
import { channel, subscribe, unsubscribe, type ChannelListener } from 'node:diagnostics_channel';
import type { ChildProcess } from 'node:child_process';
import { basename } from 'node:path';
import type { Item } from './ovf/model.js';
import type { Reporter } from './report.js';

/** Channel on which mapping/match.ts publishes a {@link MatchTrace} for every Item it looks up. */
export const MATCH_CHANNEL = 'virt-ovf:mapping-match';

/** Node's own channel: `{ process: ChildProcess }` for every child process started (Node ≥ 16.18). */
const CHILD_PROCESS_CHANNEL = 'child_process';

/** One table lookup: the Item (DSP0243 RASD fields) and the row that matched, if any. */
export interface MatchTrace {
  readonly item: Item;
  /** `TABLE:ROW-ID` (e.g. `devices:scsi-lsilogic`), absent when no row matched. */
  readonly row?: string;
}

/** Publishes a table lookup on {@link MATCH_CHANNEL}; nothing happens unless someone subscribed. */
export function traceMatch(trace: MatchTrace): void {
  const ch = channel(MATCH_CHANNEL);
  if (ch.hasSubscribers) ch.publish(trace);
}

/** A command line as a POSIX shell would read it back: arguments with other than safe characters are single-quoted. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Wrappers that exec the program after their `--` (setpriv --pdeathsig, prlimit): the exit line names that program. */
const WRAPPERS = new Set(['setpriv', 'prlimit']);

/** The program a command line finally runs, past the wrappers (e.g. qemu-img for `setpriv … -- prlimit … -- qemu-img …`). */
function programOf(argv: readonly string[]): string {
  let rest = argv;
  while (rest.length > 0 && WRAPPERS.has(basename(rest[0]!)) && rest.includes('--')) rest = rest.slice(rest.indexOf('--') + 1);
  return rest[0] ?? argv[0] ?? '?';
}

function describeMatch({ item, row }: MatchTrace): string {
  const what = `Item InstanceID ${item.instanceId}${item.elementName ? ` ("${item.elementName}")` : ''} ResourceType ${item.resourceType ?? '(none)'}${item.resourceSubType ? ` ResourceSubType "${item.resourceSubType}"` : ''}`;
  return `${what}: ${row ? `table row ${row}` : 'no table row matches'}`;
}

/**
 * Turns the traces into debug events on `reporter`: `run: COMMAND LINE` when a child process
 * starts (with its wrappers: setpriv, prlimit), `exit CODE: PROGRAM [pid N]` when it ends, and the row each Item matched. Only child
 * processes of this thread are seen (Node's `child_process` diagnostics channel).
 * @returns a function that stops tracing.
 */
export function traceToReporter(reporter: Reporter): () => void {
  const debug = (message: string) => reporter.emit({ kind: 'debug', message });
  const onChild: ChannelListener = (message) => {
    const child = (message as { process: ChildProcess }).process;
    // spawnargs and pid are set once spawn() returns, after the channel was told.
    process.nextTick(() => {
      if (child.spawnargs.length === 0) return;
      debug(`run: ${shellQuote(child.spawnargs)}${child.pid !== undefined ? ` [pid ${child.pid}]` : ''}`);
      child.once('exit', (code, signal) => debug(`${signal ? `killed by ${signal}` : `exit ${code}`}: ${programOf(child.spawnargs)} [pid ${child.pid ?? '-'}]`));
    });
  };
  const onMatch: ChannelListener = (message) => debug(describeMatch(message as MatchTrace));
  subscribe(CHILD_PROCESS_CHANNEL, onChild);
  subscribe(MATCH_CHANNEL, onMatch);
  return () => {
    unsubscribe(CHILD_PROCESS_CHANNEL, onChild);
    unsubscribe(MATCH_CHANNEL, onMatch);
  };
}
