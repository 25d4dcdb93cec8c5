// The byte ranges of a disk a transfer has mentioned, merged, and the gaps between them.

/** A range of bytes: offset and length in bytes. */
export interface ByteSpan {
  readonly offset: number;
  readonly length: number;
}

/**
 * Disjoint, sorted, merged ranges [start, end). Adding in ascending order (what decoders mostly
 * do) is O(1); any order is accepted (binary search and merge).
 */
export class Coverage {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** Adds [offset, offset + length); overlapping or touching ranges merge. */
  add(offset: number, length: number): void {
    if (length <= 0) return;
    const end = offset + length;
    const n = this.starts.length;
    if (n === 0 || offset > this.ends[n - 1]!) {
      this.starts.push(offset);
      this.ends.push(end);
      return;
    }
    if (offset >= this.starts[n - 1]!) {
      this.ends[n - 1] = Math.max(this.ends[n - 1]!, end);
      return;
    }
    // First range whose end reaches offset, and the ranges up to the last that starts at or before end.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    let last = lo;
    while (last < n && this.starts[last]! <= end) last++;
    if (last === lo) {
      this.starts.splice(lo, 0, offset);
      this.ends.splice(lo, 0, end);
      return;
    }
    const start = Math.min(offset, this.starts[lo]!);
    const stop = Math.max(end, this.ends[last - 1]!);
    this.starts.splice(lo, last - lo, start);
    this.ends.splice(lo, last - lo, stop);
  }

  /** The ranges of [0, sizeBytes) not added, ascending. */
  gaps(sizeBytes: number): ByteSpan[] {
    const out: ByteSpan[] = [];
    let at = 0;
    for (let i = 0; i < this.starts.length && at < sizeBytes; i++) {
      if (this.starts[i]! > at) out.push({ offset: at, length: Math.min(this.starts[i]!, sizeBytes) - at });
      at = Math.max(at, this.ends[i]!);
    }
    if (at < sizeBytes) out.push({ offset: at, length: sizeBytes - at });
    return out;
  }
}
