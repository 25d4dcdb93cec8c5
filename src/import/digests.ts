// Manifest digests computed by the conversion as it reads each member, so the manifest check reads
// nothing again (single pass): the conversion taps the members it streams, and hands back the
// ones it does not read itself (qemu-img reads them), which the manifest check then hashes.
import { createHash, type Hash } from 'node:crypto';
import type { DigestAlgorithm } from '../archive/manifest.js';
import type { MemberTap, MemberTaps } from '../storage/stored-stream.js';

/** A member's digests as the conversion computed them over its bytes. */
export interface StreamedDigest {
  /** Bytes hashed (the whole member). */
  readonly bytes: number;
  /** Hex digest per algorithm the manifests use for it. */
  readonly hex: ReadonlyMap<DigestAlgorithm, string>;
}

/** One member's outcome: its digests, or undefined when the conversion did not read all of it. */
interface Slot {
  readonly promise: Promise<StreamedDigest | undefined>;
  resolve(value: StreamedDigest | undefined): void;
  claimed: boolean;
}

/**
 * The digests of the members the conversion reads. `wanted` lists each member the manifests
 * check with its algorithm(s); `decided` the members the conversion will either tap or hand back
 * (the parts of the drives it converts). Only members in both wait for the conversion.
 */
export class StreamedDigests implements MemberTaps {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly wanted: ReadonlyMap<string, ReadonlySet<DigestAlgorithm>>,
    decided: Iterable<string>,
  ) {
    for (const name of decided) {
      if (!wanted.has(name) || this.slots.has(name)) continue;
      let resolve!: (value: StreamedDigest | undefined) => void;
      const promise = new Promise<StreamedDigest | undefined>((r) => (resolve = r));
      this.slots.set(name, { promise, resolve, claimed: false });
    }
  }

  /** True when the manifest check waits for the conversion's word on `name`. */
  expects(name: string): boolean {
    return this.slots.has(name);
  }

  /** A tap hashing `name` with the manifests' algorithms (first reader only); undefined when nobody waits for it. */
  tap(name: string): MemberTap | undefined {
    const slot = this.slots.get(name);
    if (!slot || slot.claimed) return undefined;
    slot.claimed = true;
    const hashes = new Map<DigestAlgorithm, Hash>([...this.wanted.get(name)!].map((a) => [a, createHash(a)]));
    return {
      update: (chunk) => {
        for (const h of hashes.values()) h.update(chunk);
      },
      end: (bytes) => slot.resolve({ bytes, hex: new Map([...hashes].map(([a, h]) => [a, h.digest('hex')])) }),
      abandon: () => slot.resolve(undefined),
    };
  }

  /** Hands back every member of `names` the conversion has not tapped: the manifest check reads those itself. */
  handBack(names: Iterable<string>): void {
    for (const name of names) {
      const slot = this.slots.get(name);
      if (slot && !slot.claimed) {
        slot.claimed = true;
        slot.resolve(undefined);
      }
    }
  }

  /**
   * Waits for the conversion's word on `name`: its digests, or undefined (handed back, or not read to the end).
   * @throws the signal's reason when aborted first.
   */
  async result(name: string, signal: AbortSignal): Promise<StreamedDigest | undefined> {
    const slot = this.slots.get(name);
    if (!slot) return undefined;
    signal.throwIfAborted();
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', (onAbort = () => reject(signal.reason)), { once: true }));
    try {
      return await Promise.race([slot.promise, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}
