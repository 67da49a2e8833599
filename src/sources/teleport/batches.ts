// turns a grpc server stream into batches: a batch is flushed when it reaches `max` items, when the stream
// pauses (nothing arrives for `lingerMs`), or when its first item has waited `maxWaitMs`, so events reach the
// spool promptly and in few fsyncs. a consumer that stops early (break, throw) cancels the grpc call. a stream
// that sends nothing for `idleMs` (a server or proxy that stalls while the connection stays up) fails with
// StreamIdleError, so the caller retries from its saved cursor instead of waiting forever. the first message gets
// FIRST_MESSAGE_IDLE_FACTOR times as long: the auth service may download a whole recording, or run a query over its
// audit storage, before it sends anything.
import type { Readable } from 'node:stream';

export const FIRST_MESSAGE_IDLE_FACTOR = 4;
/** most events per spool write */
export const EXPORT_BATCH_MAX = 500;
/** how long a stream may pause before the events received so far are written */
export const LINGER_MS = 20;

export class StreamIdleError extends Error {
  constructor(idleMs: number) {
    super(`the stream sent nothing for ${Math.round(idleMs / 1000)} s (stream-idle-timeout); cancelled, to be retried`);
    this.name = 'StreamIdleError';
  }
}

export async function* readBatches<T>(
  stream: Readable,
  max: number,
  lingerMs: number,
  maxWaitMs = 250,
  idleMs?: number,
): AsyncGenerator<T[]> {
  let ended = false;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  stream.on('readable', poke);
  stream.once('end', () => {
    ended = true;
    poke();
  });
  stream.once('error', (err: Error) => {
    failed = err;
    poke();
  });
  // waits for more data, end or error; with a timeout, resolves false if nothing happened
  const waitMore = (timeoutMs?: number) =>
    new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      wake = () => {
        if (timer) clearTimeout(timer);
        resolve(true);
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          wake = undefined;
          resolve(false);
        }, timeoutMs);
      }
    });
  try {
    let batch: T[] = [];
    let firstAt = 0;
    let received = false;
    for (;;) {
      let item: T | null;
      if (batch.length === 0) firstAt = Date.now();
      while (batch.length < max && (item = stream.read() as T | null) !== null) batch.push(item);
      if (batch.length > 0) received = true;
      const waited = Date.now() - firstAt;
      if (batch.length >= max || (batch.length > 0 && waited >= maxWaitMs)) {
        yield batch;
        batch = [];
        continue;
      }
      if (failed) {
        // events received before the error are still handed over; the error follows
        if (batch.length > 0) yield batch;
        throw failed;
      }
      if (ended || stream.readableEnded) {
        if (batch.length > 0) yield batch;
        return;
      }
      if (batch.length > 0) {
        const more = await waitMore(Math.min(lingerMs, maxWaitMs - waited));
        if (!more) {
          yield batch;
          batch = [];
        }
        continue;
      }
      const idle = idleMs === undefined ? undefined : received ? idleMs : idleMs * FIRST_MESSAGE_IDLE_FACTOR;
      if (!(await waitMore(idle)) && !ended && !failed) throw new StreamIdleError(idle!);
    }
  } finally {
    stream.removeListener('readable', poke);
    if (!stream.readableEnded) {
      // destroy() alone leaves a grpc call open (the server stays blocked on back-pressure): cancel it first
      (stream as Readable & { cancel?: () => void }).cancel?.();
      stream.destroy();
    }
  }
}
