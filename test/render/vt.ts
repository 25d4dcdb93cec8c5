// A small VT100/ECMA-48 screen model for tests: applies what a program wrote to a terminal and
// returns the lines a user would see (scrollback included), so tests can check for garbled lines.

/**
 * The final text of every line written, trailing spaces removed. A line the terminal wrapped
 * (text past the last column) is returned whole, as one line.
 */
export function renderScreen(output: string, columns: number): string[] {
  const lines: string[][] = [[]];
  /** Rows that continue the row above (autowrap). */
  const continued = new Set<number>();
  let row = 0;
  let col = 0;
  let wrap = true;
  let pendingWrap = false;
  let saved: [number, number] = [0, 0];
  const line = (r: number): string[] => {
    while (lines.length <= r) lines.push([]);
    return lines[r]!;
  };
  const moveTo = (r: number, c: number) => {
    row = Math.max(r, 0);
    col = Math.min(Math.max(c, 0), columns - 1);
    pendingWrap = false;
    line(row);
  };
  for (let i = 0; i < output.length; i++) {
    const ch = output[i]!;
    if (ch === '\x1b') {
      const csi = /^\x1b\[([?]?)([0-9;]*)([A-Za-z])/.exec(output.slice(i, i + 16));
      if (csi) {
        i += csi[0].length - 1;
        const n = Number(csi[2] || '0');
        const private_ = csi[1] === '?';
        switch (csi[3]) {
          case 'A': moveTo(row - Math.max(n, 1), col); break;
          case 'B': moveTo(row + Math.max(n, 1), col); break;
          case 'C': moveTo(row, col + Math.max(n, 1)); break;
          case 'D': moveTo(row, col - Math.max(n, 1)); break;
          case 'E': moveTo(row + Math.max(n, 1), 0); break;
          case 'F': moveTo(row - Math.max(n, 1), 0); break;
          case 'G': moveTo(row, Math.max(n, 1) - 1); break;
          case 'K': {
            const l = line(row);
            if (n === 0) l.length = Math.min(l.length, col);
            else if (n === 1) l.fill(' ', 0, col + 1);
            else l.length = 0;
            break;
          }
          case 'J':
            if (n === 0) {
              line(row).length = Math.min(line(row).length, col);
              lines.length = row + 1;
              for (const r of continued) if (r > row) continued.delete(r);
            }
            break;
          case 'h': case 'l':
            if (private_ && n === 7) wrap = csi[3] === 'h';
            break;
          default: break; // colours, cursor visibility: no effect on the text
        }
        continue;
      }
      const esc = output[i + 1];
      if (esc === '7') saved = [row, col];
      if (esc === '8') moveTo(saved[0], saved[1]);
      i += 1;
      continue;
    }
    if (ch === '\r') { col = 0; pendingWrap = false; continue; }
    // The tty's onlcr turns a newline into CR LF: what a program writes as '\n' starts a new line.
    if (ch === '\n') { moveTo(row + 1, 0); continue; }
    if (ch === '\b') { moveTo(row, col - 1); continue; }
    if (ch < ' ') continue;
    if (pendingWrap && wrap) {
      moveTo(row + 1, 0);
      continued.add(row);
    }
    const l = line(row);
    while (l.length < col) l.push(' ');
    l[col] = ch;
    if (col === columns - 1) pendingWrap = true;
    else col += 1;
  }
  const logical: string[] = [];
  lines.forEach((l, r) => {
    if (continued.has(r) && logical.length > 0) logical[logical.length - 1] += l.join('');
    else logical.push(l.join(''));
  });
  return logical.map((l) => l.replace(/\s+$/, ''));
}
