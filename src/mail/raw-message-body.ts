import type { Writable } from 'node:stream';

/**
 * The message as `SMTPConnection#send` takes a stream. send() pipes it into the DATA stream only
 * once the server has answered DATA with 354, so `started` says whether the message can have left.
 * With a hand-off promise the body waits for it (it runs while the envelope travels); when it
 * rejects, send() is told through the stream's `error` event and no byte of the body is written.
 */
export class MessageBody {
  started = false;
  private onError?: (err: Error) => void;
  constructor(
    private readonly raw: Buffer,
    private readonly handedOff?: Promise<void>,
  ) {}
  private destroyed = false;
  // the little of a stream's surface SMTPConnection uses: an error listener, swapped and the
  // stream destroyed when the connection is torn down mid-message
  on(event: string, listener: (err: Error) => void): this {
    if (event === 'error') this.onError = listener;
    return this;
  }
  removeListener(event: string, listener: (err: Error) => void): this {
    if (event === 'error' && this.onError === listener) this.onError = undefined;
    return this;
  }
  destroy(): void {
    this.destroyed = true;
  }
  pipe(dest: Writable): Writable {
    if (!this.handedOff) this.write(dest);
    else
      this.handedOff.then(
        () => this.write(dest),
        (err: unknown) => this.onError?.(err instanceof Error ? err : new Error(String(err))),
      );
    return dest;
  }
  private write(dest: Writable): void {
    if (this.destroyed || dest.destroyed || dest.writableEnded) return;
    this.started = true;
    dest.write(this.raw);
    dest.end();
  }
}
