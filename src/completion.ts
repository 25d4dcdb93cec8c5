// `virt-ovf completion bash|zsh`: shell scripts that ask yargs' completion (--get-yargs-completions) for the words to offer.
import type { FallbackCompletionFunction } from 'yargs';

/** Shells a completion script is written for. */
export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** The option yargs answers with the completions of the words that follow it, one per line. */
export const COMPLETION_KEY = 'get-yargs-completions';

/**
 * yargs' own completions, less options where a word not starting with '-' is being completed
 * (SOURCE, -o and --mappings take file names: the shell's file completion follows) and less the
 * one-letter aliases yargs offers as `--c` (only `-c` is an option).
 */
export const offerCompletions: FallbackCompletionFunction = (current, _argv, offer, done) =>
  offer((_err, offered) => done((offered ?? []).filter((c) => (current.startsWith('-') || !c.startsWith('-')) && !/^--[A-Za-z](:|$)/.test(c))));

/**
 * The completion script for `shell`, for a command installed as `program`. Each asks the
 * command itself (`WORD0 --get-yargs-completions WORDS…`) for commands, options and option
 * choices, and falls back to file names (SOURCE, -o, --mappings …). yargs answers in zsh's
 * `value:description` form when ZSH_NAME names zsh and in bash's plain form otherwise, so each
 * script sets ZSH_NAME for that one call, whatever shell the user's $SHELL names.
 */
export function completionScript(shell: CompletionShell, program = 'virt-ovf'): string {
  const fn = `_${program.replace(/[^A-Za-z0-9_]/g, '_')}_completions`;
  if (shell === 'bash') {
    return `# bash completion for ${program}
# Install: ${program} completion bash > /etc/bash_completion.d/${program}   (or: source <(${program} completion bash))
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" offered
  offered="$(ZSH_NAME= SHELL=/bin/bash "\${COMP_WORDS[0]}" --${COMPLETION_KEY} "\${COMP_WORDS[@]:0:COMP_CWORD+1}" 2>/dev/null)"
  mapfile -t COMPREPLY < <(compgen -W "\${offered}" -- "\${cur}")
}
complete -o bashdefault -o default -F ${fn} ${program}
`;
  }
  return `#compdef ${program}
# zsh completion for ${program}
# Install: ${program} completion zsh > "\${fpath[1]}/_${program}"   (or: source <(${program} completion zsh))
${fn}() {
  local -a offered
  offered=("\${(@f)$(ZSH_NAME=zsh "\${words[1]}" --${COMPLETION_KEY} "\${(@)words[1,CURRENT]}" 2>/dev/null)}")
  offered=("\${(@)offered:#}")
  if (( \${#offered} > 0 )); then
    _describe 'values' offered
  else
    _files
  fi
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${program}
fi
`;
}
