// The one owner of a terminal: finished lines scroll up, live progress bars stay drawn below them.

/** What a terminal stream offers (a tty.WriteStream); `columns` is 0 or absent on a pty with no size. */
export interface TerminalStream {
  write(chunk: string): unknown;
  readonly columns?: number;
}

/** Columns assumed when the terminal does not report its width. */
const FALLBACK_COLUMNS = 80;

/** Least time between two redraws caused by bar updates alone, in milliseconds. */
const REDRAW_INTERVAL_MS = 100;

/** ECMA-48: CPL (cursor to the start of the line N above) and ED 0 (erase to the end of the screen). */
const up = (lines: number): string => `\x1b[${lines}F`;
const ERASE_BELOW = '\x1b[J';

/**
 * Draws text lines and live bars on one terminal so that they never share a line: every line
 * is written whole, above the bar area, and the bars (one line each, cut to the terminal's
 * width so they never wrap) are redrawn below it. The cursor always rests at the start of the
 * line after the bar area, so output written by others lands after the bars, never inside a line.
 * Nothing here keeps the process alive: there are no timers, redraws happen on calls only.
 */
export class TerminalScreen {
  private readonly bars = new Map<string, string>();
  /** Bar lines now on screen, above the cursor. */
  private drawn = 0;
  private lastDraw = 0;

  constructor(private readonly stream: TerminalStream) {}

  /** Writes a finished line (no newline inside) above the bars. */
  line(text: string): void {
    this.stream.write(this.erase() + this.fit(text, false) + '\n' + this.draw());
  }

  /**
   * Sets the text of bar `key` (created on first use, drawn at the bottom in creation order).
   * Updates of existing bars redraw at most every 100 ms; a new bar is drawn at once.
   */
  bar(key: string, text: string): void {
    const known = this.bars.has(key);
    this.bars.set(key, text);
    if (known && Date.now() - this.lastDraw < REDRAW_INTERVAL_MS) return;
    this.stream.write(this.erase() + this.draw());
  }

  /** Removes bar `key`; with `finalText` its last state stays on screen as a finished line. */
  end(key: string, finalText?: string): void {
    if (!this.bars.delete(key)) return;
    this.stream.write(this.erase() + (finalText === undefined ? '' : this.fit(finalText, true) + '\n') + this.draw());
  }

  /** Removes every bar from the screen (the run failed or ended); lines already written stay. */
  clear(): void {
    this.bars.clear();
    const erase = this.erase();
    if (erase) this.stream.write(erase);
  }

  /** The terminal's width in columns (80 when it does not say). */
  get columns(): number {
    return this.stream.columns || FALLBACK_COLUMNS;
  }

  /** True while some bar is drawn. */
  get active(): boolean {
    return this.bars.size > 0;
  }

  private erase(): string {
    const s = this.drawn > 0 ? up(this.drawn) + ERASE_BELOW : '';
    this.drawn = 0;
    return s;
  }

  private draw(): string {
    this.lastDraw = Date.now();
    this.drawn = this.bars.size;
    return [...this.bars.values()].map((t) => this.fit(t, true) + '\n').join('');
  }

  /**
   * A line as it may be written: bars are cut to one column less than the width (a line that
   * fills the last column wraps on some terminals and would shift the bar area); text lines
   * are left whole (they scroll away; cutting them would lose what the user must read).
   */
  private fit(text: string, cut: boolean): string {
    const width = this.columns - 1;
    return cut && text.length > width ? text.slice(0, Math.max(width - 1, 0)) + '…' : text;
  }
}
