// the read side of the queue, and what is committed as it stands in memory: counts, the cursor, records in flight.
// take() moves the cursor forward; taken records stay on disk until ack()/deadLetter(). just committed records
// are served from an in-memory tail (up to tailMaxBytes); when the reader is behind (after open, or when the
// tail overflowed) it reads LevelDB from the cursor until it catches up.
import { sleep } from '../sleep.js';
import type { Logger } from '../log.js';
import { QUEUE_LT, parseQueueKey, queueFrom } from './keys.js';
import type { Effects } from './plan.js';
import type { Scanned } from './open.js';
import { corruptError, isCorruption } from './storage-errors.js';
import { UTF8, type SpoolDb } from './store.js';
import { Tail } from './tail.js';
import type { SpoolItem } from './types.js';

export interface ReaderOptions {
  db: SpoolDb;
  where: string;
  log: Logger;
  /** bound of the in-memory tail of committed, not yet taken records */
  tailMaxBytes: number;
  /** records per nextv() when reading behind the tail */
  readChunk: number;
  /** backoff cap when a read behind the tail fails */
  readRetryMaxMs: number;
  /** the writer's: once LevelDB holds every record committed up to the sequence it resolves with */
  settled(): Promise<number>;
}

interface InFlight {
  at: number;
  bytes: number;
}

/** settles when the promise does or the signal aborts, whichever comes first */
function untilAborted(promise: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void promise.then(done);
  });
}

export class Reader {
  // counts of what is committed
  records = 0;
  bytes = 0;
  deadLetters = 0;
  /** records taken and not yet acked, in take order */
  readonly inFlight = new Map<string, InFlight>();

  private readonly db: SpoolDb;
  private readonly where: string;
  private readonly log: Logger;
  private readonly tailMaxBytes: number;
  private readonly readChunk: number;
  private readonly readRetryMaxMs: number;
  private readonly settled: () => Promise<number>;
  private lastCommittedSeq = -1;
  private cursorSeq = -1;
  private behind = true;
  private readonly tail = new Tail();
  private behindHeadAt: number | null = null;
  private reading = false;
  private firstAtDuringRead: number | null = null;
  private takeChain: Promise<void> = Promise.resolve();
  private dataWaiters = new Set<() => void>();
  private closing = false;
  private readonly closed = new AbortController();

  constructor(o: ReaderOptions) {
    this.db = o.db;
    this.where = o.where;
    this.log = o.log;
    this.tailMaxBytes = o.tailMaxBytes;
    this.readChunk = o.readChunk;
    this.readRetryMaxMs = o.readRetryMaxMs;
    this.settled = o.settled;
  }

  /** after the open scan: the reader starts behind, at the first record on disk, if there is one */
  restore(scanned: Scanned): void {
    this.records += scanned.records;
    this.bytes += scanned.bytes;
    this.deadLetters += scanned.deadLetters;
    this.lastCommittedSeq = scanned.lastSeq;
    this.behindHeadAt = scanned.firstAt;
    if (scanned.records === 0) {
      // nothing on disk to read: serve from the tail at once (with a journal, reading would first flush it)
      this.behind = false;
      this.cursorSeq = scanned.lastSeq;
    }
  }

  take(maxItems: number, maxBytes: number, signal?: AbortSignal): Promise<SpoolItem[]> {
    if (!(maxItems >= 1)) return Promise.reject(new RangeError('take needs maxItems >= 1'));
    // one taker at a time, so concurrent sink workers get distinct records
    const previous = this.takeChain;
    let release!: () => void;
    this.takeChain = new Promise<void>((resolve) => (release = resolve));
    return (async () => {
      try {
        // an aborted taker stops waiting for its turn; the next one still waits for the previous
        await untilAborted(previous, signal);
        return await this.takeLocked(maxItems, maxBytes, signal);
      } finally {
        void previous.then(release);
      }
    })();
  }

  private async takeLocked(maxItems: number, maxBytes: number, signal?: AbortSignal): Promise<SpoolItem[]> {
    let retryMs = 100;
    for (;;) {
      if (this.closing || signal?.aborted) return [];
      if (!this.behind) {
        if (this.tail.size > 0) return this.takeFromTail(maxItems, maxBytes);
        await this.waitForData(signal);
        continue;
      }
      try {
        const items = await this.takeFromDb(maxItems, maxBytes, signal);
        if (items.length > 0) return items;
        retryMs = 100;
      } catch (err) {
        // a damaged file does not heal by retrying: hand the taker an error it can act on
        if (isCorruption(err)) throw corruptError(this.where, err);
        this.log.error({ storage: this.where, err, retryMs }, 'spool read failed; retrying');
        await sleep(retryMs, signal ? AbortSignal.any([signal, this.closed.signal]) : this.closed.signal);
        retryMs = Math.min(retryMs * 2, this.readRetryMaxMs);
      }
    }
  }

  private takeFromTail(maxItems: number, maxBytes: number): SpoolItem[] {
    const entries = this.tail.shift(maxItems, maxBytes);
    const items: SpoolItem[] = new Array(entries.length);
    entries.forEach((entry, i) => {
      this.inFlight.set(entry.key, { at: entry.at, bytes: entry.bytes });
      items[i] = { key: entry.key, value: entry.value, bytes: entry.bytes };
    });
    this.cursorSeq = entries[entries.length - 1].seq;
    return items;
  }

  /** read past the cursor from the store; [] when it holds nothing more (the reader may have caught up) */
  private async takeFromDb(maxItems: number, maxBytes: number, signal?: AbortSignal): Promise<SpoolItem[]> {
    // everything committed up to upTo is in the store (not only in the journal) before the iterator is created,
    // and so visible to it
    const upTo = Math.min(this.lastCommittedSeq, await this.settled());
    if (this.closing || signal?.aborted) return [];
    this.reading = true;
    this.firstAtDuringRead = null;
    const items: SpoolItem[] = [];
    const parsed: Array<{ seq: number; at: number }> = [];
    let bytes = 0;
    let peekAt: number | null = null;
    let ended = false;
    try {
      const it = this.db.iterator<string, string>({ gte: queueFrom(this.cursorSeq + 1), lt: QUEUE_LT, ...UTF8 });
      try {
        read: for (;;) {
          const chunk = await it.nextv(Math.min(this.readChunk, maxItems - items.length + 1));
          if (chunk.length === 0) {
            ended = true;
            break;
          }
          for (const [key, value] of chunk) {
            const meta = parseQueueKey(key);
            if (!meta) continue;
            const size = meta.bytes;
            if (items.length >= maxItems || (items.length > 0 && bytes + size > maxBytes)) {
              peekAt = meta.at;
              break read;
            }
            items.push({ key, value, bytes: size });
            parsed.push(meta);
            bytes += size;
          }
        }
      } finally {
        await it.close();
      }
    } finally {
      this.reading = false;
    }
    // a closing spool or an aborted taker hands out nothing: the cursor stays where it was
    if (this.closing || signal?.aborted) return [];
    items.forEach((item, i) => this.inFlight.set(item.key, { at: parsed[i].at, bytes: item.bytes }));
    if (parsed.length > 0) this.cursorSeq = parsed[parsed.length - 1].seq;
    if (ended) this.cursorSeq = Math.max(this.cursorSeq, upTo);
    this.behindHeadAt = peekAt ?? this.firstAtDuringRead;
    if (this.cursorSeq >= this.lastCommittedSeq) {
      // caught up: from now on every commit goes to the tail
      this.behind = false;
      this.behindHeadAt = null;
      this.tail.clear();
    }
    return items;
  }

  private waitForData(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.dataWaiters.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this.dataWaiters.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  private wakeData(): void {
    for (const wake of [...this.dataWaiters]) wake();
  }

  /** a committed batch, in memory */
  apply(effects: Effects): void {
    for (const entry of effects.appended) {
      this.records++;
      this.bytes += entry.bytes;
      if (!this.behind) {
        // seq <= cursor: a write reported failed that landed after all, and the reader already read it from disk
        if (entry.seq > this.cursorSeq) this.tail.push(entry);
      } else if (this.reading) {
        this.firstAtDuringRead ??= entry.at;
      } else {
        this.behindHeadAt ??= entry.at;
      }
    }
    this.lastCommittedSeq = Math.max(this.lastCommittedSeq, effects.lastSeq);
    if (!this.behind && this.tail.bytes > this.tailMaxBytes) {
      // the reader is far behind: let it read from LevelDB instead of holding more in memory
      this.behind = true;
      this.behindHeadAt = this.tail.first()?.at ?? null;
      this.tail.clear();
      this.log.debug(
        { storage: this.where, tailMaxBytes: this.tailMaxBytes },
        'spool tail overflowed; reading from disk',
      );
    }
    for (const { key, bytes } of effects.removed) {
      this.records--;
      this.bytes -= bytes;
      if (!this.inFlight.delete(key) && !this.behind) this.tail.remove(key);
    }
    this.deadLetters += effects.deadDelta;
    if (effects.appended.length > 0) this.wakeData();
  }

  oldestAppendedAt(): number | null {
    if (this.records === 0) return null;
    // taken records are older than untaken ones, and the map keeps take order
    for (const flying of this.inFlight.values()) return flying.at;
    return this.behind ? this.behindHeadAt : (this.tail.first()?.at ?? null);
  }

  /** takers get [] from now on; those waiting are woken */
  close(): void {
    this.closing = true;
    this.closed.abort();
    for (const wake of [...this.dataWaiters]) wake();
  }

  /** settles once the taker running (if any) is done */
  idle(): Promise<void> {
    return this.takeChain;
  }
}
