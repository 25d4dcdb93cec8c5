// The bytes of a span of a URL as a Readable: one range request, resumed from where it stopped when the connection drops.
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { STREAM_CHUNK } from './reader.js';

/** What a RangeStream needs of its reader (HttpRangeReader). */
export interface RangeSource {
  readonly session: { bytesReceived: number };
  /** Opens a body at `offset` for `length` bytes, with `skip` bytes to drop first. */
  open(offset: number, length: number): Promise<{ readonly body: IncomingMessage; readonly skip: number }>;
  /** Runs `attempt` again after transient failures; `progress` tells whether one advanced. */
  retrying(progress: () => number, attempt: () => Promise<void>): Promise<void>;
}

/**
 * A Readable over [offset, offset + length) of an HttpRangeReader's file (source/http-reader.ts), with backpressure
 * (the response is paused while the consumer is full). A dropped connection, a timeout or a
 * body that ends early is retried from the byte reached (the reader's `retrying`: a few
 * times with backoff); then the stream fails with TransferError (exit 5). Destroying it ends
 * the request.
 */
export class RangeStream extends Readable {
  private position: number;
  private readonly end: number;
  private body: IncomingMessage | undefined;
  private started = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly reader: RangeSource,
    offset: number,
    length: number,
  ) {
    super({ highWaterMark: STREAM_CHUNK });
    this.position = offset;
    this.end = offset + length;
  }

  override _read(): void {
    if (this.position >= this.end) {
      this.push(null);
      return;
    }
    if (this.started) {
      this.wake?.();
      return;
    }
    this.started = true;
    this.reader
      .retrying(() => this.position, () => this.attempt())
      .then(
        () => this.push(null),
        (err: unknown) => this.destroy(err as Error),
      );
  }

  /** One request from the current position to the end; resolves when the span is complete. */
  private async attempt(): Promise<void> {
    const { body, skip } = await this.reader.open(this.position, this.end - this.position);
    if (this.destroyed) {
      body.destroy();
      return;
    }
    this.body = body;
    let skipped = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        this.reader.session.bytesReceived += chunk.length;
        let piece = chunk;
        if (skipped < skip) {
          const drop = Math.min(skip - skipped, piece.length);
          skipped += drop;
          piece = piece.subarray(drop);
        }
        piece = piece.subarray(0, this.end - this.position);
        if (piece.length === 0) continue;
        this.position += piece.length;
        if (!this.push(piece)) await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        if (this.destroyed || this.position >= this.end) break;
      }
    } finally {
      this.body = undefined;
      body.destroy();
    }
    if (!this.destroyed && this.position < this.end) throw Object.assign(new Error('the body ended early'), { code: 'ABORTED' });
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.body?.destroy();
    this.wake?.();
    callback(err);
  }
}
