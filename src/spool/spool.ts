// the durable spool on abstract-level (classic-level in production, memory-level in tests).
//
// - acknowledge only durable: every mutation goes through one writer that puts all ops queued while the previous
//   batch was being written into the next single batch, written with { sync: true } (group commit). a caller's
//   promise settles when the batch holding its ops is committed, or rejects with that batch's error.
// - records are keyed by a sequence allocated when the batch is built (see keys.ts); the highest one is also
//   kept in the meta key, so sequences never repeat across restarts even when the queue was drained.
// - take() moves a cursor forward; taken records stay on disk until ack()/deadLetter(). just committed records
//   are served from an in-memory tail (up to tailMaxBytes); when the reader is behind (after open, or when the
//   tail overflowed) it reads LevelDB from the cursor until it catches up.
// - the byte bound counts the utf8 bytes of queued record values only (not keys, dead letters, state or LevelDB
//   overhead). appends already queued for the writer count too, so the bound is overshot by one append at most.
// - open.ts opens the store: the directory's checks, the write-ahead log's damage report, the count at open.
// - a failed batch rejects its callers; the store is then closed and reopened before the next write (LevelDB
//   refuses all writes after a failed sync until reopened), and the meta key tells whether the failed batch
//   landed after all, so counts stay exact.
import { ClassicLevel } from 'classic-level';
import { ConfigError, SpoolClosedError, SpoolFullError } from '../errors.js';
import { sleep } from '../sleep.js';
import { LogInterval, silentLogger, type Logger } from '../log.js';
import { DEAD_LT, META_KEY, QUEUE_LT, deadBefore, parseMeta, parseQueueKey, queueFrom, stateKey } from './keys.js';
import { foreignFiles, makeDir, scanStore, settleWal } from './open.js';
import {
  byteLength,
  checkStateOps,
  keysToRead,
  needsSync,
  planBatch,
  type BatchOp,
  type Built,
  type Deferred,
  type Effects,
  type Op,
} from './plan.js';
import { deadKeys, listDead, listState } from './queries.js';
import { corruptError, isCorruption, refuseBeforeOpen, openError, writeError } from './storage-errors.js';
import { UTF8, type SpoolDb } from './store.js';
import { guardWal, type WalDamage, type WalGuard } from './wal-damage.js';
import { Tail } from './tail.js';
import type { AppendOptions, DeadLetter, Spool, SpoolItem, SpoolStats, StateOp } from './types.js';

export type { SpoolDb } from './store.js';

export interface SpoolOptions {
  /** storage directory for classic-level (production); one of path / db */
  path?: string;
  /** an injected store (tests use memory-level); closed by close() */
  db?: SpoolDb;
  /** byte bound on queued record values: append rejects with SpoolFullError at or above it */
  maxBytes: number;
  /** bound of the in-memory tail of committed, not yet taken records; default 16 MiB */
  tailMaxBytes?: number;
  logger?: Logger;
  now?: () => number;
  /**
   * appends made with { sync: false } are synced by a background sync at most this long after they were written
   * (default 100 ms): the window an os crash or power cut can take them in
   */
  syncIntervalMs?: number;
}

const DEFAULTS = {
  tailMaxBytes: 16 * 1024 * 1024, // 16 MiB
  readChunk: 64, // records per nextv() when reading behind the tail
  scanChunk: 1000, // records per nextv() in the open scan
  listDeadLimit: 1000,
  deadPage: 1000, // dead letters per batch in replay-all and purge
  recoveryDelayMs: 1000, // retry reopening a failed store this often while no writes arrive
  readRetryMaxMs: 5000, // backoff cap when a read behind the tail fails
  writeFailLogIntervalMs: 1000, // at most one 'spool write failed' line a second
  syncIntervalMs: 100, // background sync of appends written without fsync
} as const;

const SYNC_WRITE = { ...UTF8, sync: true } as const;
const NOSYNC_WRITE = { ...UTF8, sync: false } as const;

const noop = (): void => {};

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

class LevelSpool implements Spool {
  private readonly db: SpoolDb;
  private readonly where: string;
  private readonly maxBytes: number;
  private readonly tailMaxBytes: number;
  private readonly log: Logger;
  private readonly now: () => number;

  // counts of what is committed
  private records = 0;
  private bytes = 0;
  private deadLetters = 0;
  private walDamage: WalDamage | null = null;
  private walDamageKept: string[] = [];
  /** a classic-level store in `where` (not an injected one): its write-ahead log is guarded on every open */
  private readonly onDisk: boolean;
  // bytes of appends admitted but not yet committed
  private pendingBytes = 0;

  // writer
  private queue: Op[] = [];
  private writing = false;
  private scheduled = false;
  private nextSeq = 0;
  private lastCommittedSeq = -1;
  private batchNo = 0;
  private needsRecovery = false;
  private failed: Built | null = null;
  private recoveryTimer: NodeJS.Timeout | null = null;
  private readonly writeFailLog = new LogInterval(DEFAULTS.writeFailLogIntervalMs);
  private writeFailsNotLogged = 0;
  private writerIdle: Array<() => void> = [];
  private readonly syncIntervalMs: number;
  /** when the oldest write not yet synced committed (appends with { sync: false }), null when all are synced */
  private unsyncedSince: number | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  /** synced writes: all of them, and those made by the background sync alone */
  private readonly syncCounts = { commit: 0, background: 0 };

  // reader
  private cursorSeq = -1;
  private behind = true;
  private readonly tail = new Tail();
  private readonly inFlight = new Map<string, InFlight>();
  private behindHeadAt: number | null = null;
  private reading = false;
  private firstAtDuringRead: number | null = null;
  private takeChain: Promise<void> = Promise.resolve();
  private dataWaiters = new Set<() => void>();
  private spaceWaiters = new Set<() => void>();

  // lifecycle
  private closing = false;
  private readonly closed = new AbortController();
  private closePromise: Promise<void> | null = null;

  constructor(db: SpoolDb, where: string, options: SpoolOptions) {
    this.db = db;
    this.where = where;
    this.maxBytes = options.maxBytes;
    this.tailMaxBytes = options.tailMaxBytes ?? DEFAULTS.tailMaxBytes;
    this.log = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.syncIntervalMs = options.syncIntervalMs ?? DEFAULTS.syncIntervalMs;
    this.onDisk = options.path !== undefined;
  }

  /** count what is on disk; o(spool size) */
  async scan(): Promise<void> {
    const scanned = await scanStore(this.db, this.where, this.log, DEFAULTS.scanChunk);
    this.records += scanned.records;
    this.bytes += scanned.bytes;
    this.deadLetters += scanned.deadLetters;
    this.batchNo = scanned.batchNo;
    this.lastCommittedSeq = scanned.lastSeq;
    this.nextSeq = this.lastCommittedSeq + 1;
    this.behindHeadAt = scanned.firstAt;
  }

  // ---- writes ----

  async append(values: string[], state: StateOp[] = [], options?: AppendOptions): Promise<void> {
    if (this.closing) throw new SpoolClosedError();
    if (!Array.isArray(values)) throw new TypeError('append takes an array of strings');
    checkStateOps(state);
    if (values.length === 0) {
      if (state.length > 0) await this.enqueue<number>((done) => ({ kind: 'state', state, done }));
      return;
    }
    if (!this.hasSpace()) throw new SpoolFullError();
    const sizes: number[] = new Array(values.length);
    let bytes = 0;
    for (let i = 0; i < values.length; i++) {
      if (typeof values[i] !== 'string') throw new TypeError('append takes an array of strings');
      bytes += sizes[i] = byteLength(values[i]);
    }
    this.pendingBytes += bytes;
    const sync = options?.sync !== false || state.length > 0;
    await this.enqueue<number>((done) => ({ kind: 'append', values, sizes, bytes, state, sync, done }));
  }

  async putState(ops: StateOp[]): Promise<void> {
    if (this.closing) throw new SpoolClosedError();
    checkStateOps(ops);
    if (ops.length === 0) return;
    await this.enqueue<number>((done) => ({ kind: 'state', state: ops, done }));
  }

  async ack(items: SpoolItem[]): Promise<void> {
    if (this.closing) throw new SpoolClosedError();
    if (items.length === 0) return;
    await this.enqueue<number>((done) => ({ kind: 'remove', items, dead: null, done }));
  }

  async deadLetter(items: SpoolItem[], reason: string, status: number | null): Promise<void> {
    if (this.closing) throw new SpoolClosedError();
    if (items.length === 0) return;
    await this.enqueue<number>((done) => ({ kind: 'remove', items, dead: { reason: String(reason), status }, done }));
  }

  async replayDead(keys?: string[]): Promise<number> {
    if (this.closing) throw new SpoolClosedError();
    if (keys) return keys.length === 0 ? 0 : this.enqueue<number>((done) => ({ kind: 'replay', keys, done }));
    // all of them, a page per batch: each record moves atomically, the whole set need not. only the dead letters
    // there are now: one refused again during a long replay gets a later key and waits for the next replay. and
    // only while the spool has room: the rest stay dead letters (the caller sees the count)
    const last = await deadKeys(this.db, undefined, DEAD_LT, DEFAULTS.deadPage, true);
    if (last.length === 0) return 0;
    const end = `${last[0]}\u0000`;
    let total = 0;
    let after: string | undefined;
    while (this.hasSpace()) {
      const page = await deadKeys(this.db, after, end, DEFAULTS.deadPage);
      if (page.length === 0) break;
      total += await this.enqueue<number>((done) => ({ kind: 'replay', keys: page, done }));
      after = page[page.length - 1];
    }
    return total;
  }

  async purgeDead(before: number): Promise<number> {
    if (this.closing) throw new SpoolClosedError();
    let total = 0;
    let after: string | undefined;
    for (;;) {
      const page = await deadKeys(this.db, after, deadBefore(before), DEFAULTS.deadPage);
      if (page.length === 0) return total;
      total += await this.enqueue<number>((done) => ({ kind: 'purge', keys: page, done }));
      after = page[page.length - 1];
    }
  }

  private enqueue<T extends number>(make: (done: Deferred<T>) => Op): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closing) throw new SpoolClosedError();
      this.queue.push(make({ resolve, reject } as Deferred<T>));
      this.kickWriter();
    });
  }

  private kickWriter(): void {
    if (this.writing || this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: requests parsed in the same event-loop turn share the first batch too
    setImmediate(() => void this.runWriter());
  }

  private async runWriter(): Promise<void> {
    this.scheduled = false;
    this.writing = true;
    if (this.recoveryTimer) {
      clearTimeout(this.recoveryTimer);
      this.recoveryTimer = null;
    }
    try {
      if (this.queue.length === 0 && this.needsRecovery) {
        await this.recover().catch((err) =>
          this.log.warn({ storage: this.where, err }, 'spool storage still unusable'),
        );
      }
      while (this.queue.length > 0) {
        const ops = this.queue;
        this.queue = [];
        await this.commit(ops);
      }
    } finally {
      this.writing = false;
    }
    if (this.needsRecovery && !this.closing) {
      // reopen without waiting for the next write, so reads work again once the condition clears
      this.recoveryTimer = setTimeout(() => this.kickWriter(), DEFAULTS.recoveryDelayMs);
      this.recoveryTimer.unref();
    }
    for (const resolve of this.writerIdle.splice(0)) resolve();
  }

  private async commit(ops: Op[]): Promise<void> {
    let built: Built | null = null;
    let synced = false;
    try {
      if (this.needsRecovery) await this.recover();
      built = await this.build(ops);
      synced = ops.some(needsSync);
      await this.write(built.batch, synced);
    } catch (err) {
      this.needsRecovery = true;
      if (built) this.failed = built;
      this.releasePending(ops);
      const error = isCorruption(err) ? corruptError(this.where, err) : writeError(this.where, err);
      // a full disk fails every group commit: one line a second, with how many were folded into it
      const t = this.now();
      if (this.writeFailLog.due(t)) {
        this.log.error(
          { storage: this.where, err, ops: ops.length, failedWritesNotLogged: this.writeFailsNotLogged },
          'spool write failed; its callers got an error',
        );
        this.writeFailLog.mark(t);
        this.writeFailsNotLogged = 0;
      } else {
        this.writeFailsNotLogged += 1;
      }
      for (const op of ops) op.done.reject(error);
      return;
    }
    this.noteSync(ops, synced);
    // count the committed bytes before releasing the pending ones: waiters woken now see the true fill
    this.apply(built.effects);
    this.releasePending(ops);
    const { results } = built;
    ops.forEach((op, i) => op.done.resolve(results[i]));
  }

  /**
   * one atomic write, synced unless it holds only acks (needsSync). a chained batch, not db.batch(array): abstract-level clones and checks every operation
   * of an array on the main thread, which cost ~6 µs a record against ~2 µs for chained puts (`bench/micro.ts batch`)
   */
  private async write(ops: BatchOp[], sync: boolean): Promise<void> {
    const chain = this.db.batch();
    try {
      for (const op of ops) {
        if (op.type === 'put') chain.put(op.key, op.value, UTF8);
        else chain.del(op.key, UTF8);
      }
    } catch (err) {
      await chain.close().catch(noop);
      throw err;
    }
    // write() closes the batch, whether it succeeds or not
    await chain.write((sync ? SYNC_WRITE : NOSYNC_WRITE) as object);
  }

  /**
   * a synced write makes every earlier write durable; appends written without one arm the background sync, so
   * they are durable within syncIntervalMs
   */
  private noteSync(ops: Op[], synced: boolean): void {
    if (synced) {
      this.syncCounts.commit++;
      if (ops.some((op) => op.kind === 'sync')) this.syncCounts.background++;
      this.unsyncedSince = null;
      if (this.syncTimer) {
        clearTimeout(this.syncTimer);
        this.syncTimer = null;
      }
      return;
    }
    if (this.unsyncedSince !== null || !ops.some((op) => op.kind === 'append')) return;
    this.unsyncedSince = this.now();
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      if (this.unsyncedSince === null || this.closing) return;
      this.queue.push({ kind: 'sync', done: { resolve: noop, reject: noop } });
      this.kickWriter();
    }, this.syncIntervalMs);
    this.syncTimer.unref();
  }

  private releasePending(ops: Op[]): void {
    for (const op of ops) if (op.kind === 'append') this.pendingBytes -= op.bytes;
    this.wakeSpace();
  }

  /** read what planning needs of the store, then plan the batch */
  private async build(ops: Op[]): Promise<Built> {
    const lookup = keysToRead(ops, this.inFlight);
    const found = new Map<string, string>();
    if (lookup.size > 0) {
      const keys = [...lookup];
      const values = await this.db.getMany(keys, UTF8);
      keys.forEach((key, i) => {
        const value = values[i];
        if (value !== undefined) found.set(key, value);
      });
    }
    const built = planBatch(ops, found, this.inFlight, this.now(), this.nextSeq, this.batchNo + 1);
    this.nextSeq = built.effects.lastSeq + 1;
    this.batchNo = built.no;
    if (built.unreadable) {
      for (const key of built.unreadable) {
        this.log.warn({ storage: this.where, spoolKey: key }, 'dead letter is not readable; left in place');
      }
    }
    return built;
  }

  /** a committed batch, in memory */
  private apply(effects: Effects): void {
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
    if (effects.removed.length > 0) this.wakeSpace();
  }

  /** reopen the store after a failed write and find out whether that write landed */
  private async recover(): Promise<void> {
    this.log.warn({ storage: this.where }, 'reopening spool storage after a failed write');
    await this.db.close().catch(noop);
    // a reopen replays the write-ahead log too, right after a failed write, when a torn log is likeliest
    const guard = this.onDisk ? guardWal(this.where) : null;
    try {
      await this.db.open();
    } catch (err) {
      guard?.discard();
      throw err;
    }
    if (guard) this.settleWal(guard);
    if (this.failed) {
      const { landedKey } = this.failed;
      const landed =
        landedKey !== undefined
          ? (await this.db.get(landedKey, UTF8)) !== undefined
          : parseMeta(await this.db.get(META_KEY, UTF8)).batch === this.failed.no;
      if (landed) {
        this.log.warn({ storage: this.where }, 'a write reported as failed was stored after all; counting it');
        this.apply(this.failed.effects);
      }
      this.failed = null;
    }
    this.needsRecovery = false;
    this.log.info({ storage: this.where }, 'spool storage reopened');
  }

  // ---- reads ----

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
        retryMs = Math.min(retryMs * 2, DEFAULTS.readRetryMaxMs);
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
    // everything committed before the iterator is created is visible to it
    const upTo = this.lastCommittedSeq;
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
          const chunk = await it.nextv(Math.min(DEFAULTS.readChunk, maxItems - items.length + 1));
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

  // ---- state and dead letters ----

  async getState(key: string): Promise<string | undefined> {
    return this.db.get(stateKey(key), UTF8);
  }

  async listState(prefix: string): Promise<Array<{ key: string; value: string }>> {
    return listState(this.db, prefix, DEFAULTS.scanChunk);
  }

  async listDead(options: { limit?: number; after?: string } = {}): Promise<DeadLetter[]> {
    return listDead(
      this.db,
      { limit: options.limit ?? DEFAULTS.listDeadLimit, after: options.after },
      DEFAULTS.scanChunk,
    );
  }

  // ---- bound ----

  hasSpace(): boolean {
    return this.bytes + this.pendingBytes < this.maxBytes;
  }

  waitForSpace(signal?: AbortSignal): Promise<void> {
    if (this.hasSpace() || this.closing || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        this.spaceWaiters.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this.spaceWaiters.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  private wakeSpace(): void {
    if (this.spaceWaiters.size === 0 || !this.hasSpace()) return;
    for (const wake of [...this.spaceWaiters]) wake();
  }

  stats(): SpoolStats {
    return {
      records: this.records,
      bytes: this.bytes,
      maxBytes: this.maxBytes,
      inFlight: this.inFlight.size,
      deadLetters: this.deadLetters,
      oldestAppendedAt: this.oldestAppendedAt(),
      walDamage: this.walDamage,
      walDamageKept: this.walDamageKept,
      unsyncedSince: this.unsyncedSince,
      syncs: this.syncCounts.commit,
      backgroundSyncs: this.syncCounts.background,
    };
  }

  /** after an open (or a reopen) of a store on disk: what leveldb dropped of its write-ahead log, for stats() */
  settleWal(guard: WalGuard): void {
    const { damage, kept } = settleWal(guard, this.where, this.log);
    if (damage) this.walDamage = damage;
    this.walDamageKept = kept;
  }

  private oldestAppendedAt(): number | null {
    if (this.records === 0) return null;
    // taken records are older than untaken ones, and the map keeps take order
    for (const flying of this.inFlight.values()) return flying.at;
    return this.behind ? this.behindHeadAt : (this.tail.first()?.at ?? null);
  }

  // ---- lifecycle ----

  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    this.closed.abort();
    for (const wake of [...this.dataWaiters]) wake();
    for (const wake of [...this.spaceWaiters]) wake();
    if (this.recoveryTimer) clearTimeout(this.recoveryTimer);
    // appends not yet synced are synced before the store closes, not left to the os
    if (this.syncTimer) clearTimeout(this.syncTimer);
    if (this.unsyncedSince !== null && !this.needsRecovery) {
      this.queue.push({ kind: 'sync', done: { resolve: noop, reject: noop } });
      this.kickWriter();
    }
    // queued writes still get written: their callers are waiting for an answer
    if (this.writing || this.scheduled || this.queue.length > 0) {
      await new Promise<void>((resolve) => this.writerIdle.push(resolve));
    }
    await this.takeChain;
    await this.db.close();
    this.log.debug({ storage: this.where, records: this.records, bytes: this.bytes }, 'spool closed');
  }
}

/** open (or create) the spool and count what it holds; throws StorageError when the store cannot be used */
export async function openSpool(options: SpoolOptions): Promise<Spool> {
  if (!(typeof options.maxBytes === 'number' && options.maxBytes > 0)) {
    throw new ConfigError(`spool maxBytes must be a positive number of bytes, got ${String(options.maxBytes)}`);
  }
  if (!options.db === !options.path) throw new ConfigError('the spool needs exactly one of path or db');
  const location = (options.db as { location?: unknown } | undefined)?.location;
  const where = options.path ?? (typeof location === 'string' ? location : 'injected store');
  let db: SpoolDb;
  let guard: WalGuard | null = null;
  let foreign: string[] = [];
  if (options.db) {
    db = options.db;
  } else {
    const path = options.path as string;
    // before anything writes into the directory (the wal guard's links, leveldb's create)
    const refused = refuseBeforeOpen(path);
    if (refused) throw refused;
    try {
      makeDir(path);
    } catch (err) {
      throw openError(path, err);
    }
    foreign = foreignFiles(path);
    guard = guardWal(path);
    db = new ClassicLevel<string, string>(path, UTF8);
  }
  try {
    if (db.status !== 'open') await db.open();
  } catch (err) {
    guard?.discard();
    throw openError(where, err);
  }
  const spool = new LevelSpool(db, where, options);
  if (foreign.length > 0) {
    // e.g. teleport-event-handler's own storage directory (both default to ./storage): its files are left alone
    (options.logger ?? silentLogger).warn(
      { storage: where, files: foreign.slice(0, 5), count: foreign.length },
      "the storage directory also holds files that are not the spool's (another program's state?): they are left alone; give the forwarder a directory of its own",
    );
  }
  if (guard) spool.settleWal(guard);
  try {
    await spool.scan();
  } catch (err) {
    await db.close().catch(noop);
    throw openError(where, err);
  }
  return spool;
}
