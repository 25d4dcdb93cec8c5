// Where run journals live: /var/lib/virt-ovf/runs for root, else $XDG_STATE_HOME/virt-ovf/runs.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Environment variable that overrides the journal directory (tests use a private one). */
export const STATE_DIR_ENV = 'VIRT_OVF_STATE_DIR';

/**
 * The directory of run journals: `stateDir` when given, else `$VIRT_OVF_STATE_DIR`, else
 * `/var/lib/virt-ovf/runs` when running as root, else `$XDG_STATE_HOME/virt-ovf/runs`
 * (XDG Base Directory: `$XDG_STATE_HOME` defaults to `~/.local/state`).
 */
export function journalDir(stateDir?: string): string {
  if (stateDir !== undefined && stateDir !== '') return stateDir;
  const env = process.env[STATE_DIR_ENV];
  if (env !== undefined && env !== '') return env;
  if (process.getuid?.() === 0) return '/var/lib/virt-ovf/runs';
  const xdg = process.env['XDG_STATE_HOME'];
  const base = xdg !== undefined && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'state');
  return join(base, 'virt-ovf', 'runs');
}
