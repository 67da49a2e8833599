// the spool's one writer (group commit): every mutation is an op in its queue; the ops queued while the previous
// batch was being written go into the next single batch (planned by plan.ts), written with { sync: true } unless
// it holds only acks and appends made with { sync: false }. a caller's promise settles when the batch holding its
// op is committed, or rejects with that batch's error.
// with a journal (journal.ts), a batch of appends and acks alone is committed by writing it there (and syncing
// the journal when it needs sync; the background sync syncs the journal too); LevelDB gets what is staged with the
// next batch that goes to it: a flush when the staging grows, at close, or any other batch (state, dead letters,
// reads of the store). a full journal file moves on without LevelDB (front.ts). records acked before then never
// reach LevelDB.
// a failed batch rejects its callers; the store is then closed and reopened before the next write (LevelDB refuses
// all writes after a failed sync until reopened), and the meta key (or the batch's first record) tells whether the
// failed batch landed after all, so counts stay exact.
import { SpoolClosedError } from '../errors.js';
import type { Logger } from '../log.js';
import { FailureLog } from './failure-log.js';
import { BackgroundSync } from './background-sync.js';
import { META_KEY, parseMeta } from './keys.js';
import {
  keysToRead,
  needsSync,
  planBatch,
  type BatchOp,
  type Built,
  type Deferred,
  type Effects,
  type Op,
  type Taken,
} from './plan.js';
import { corruptError, isCorruption, writeError } from './storage-errors.js';
import { UTF8, readKeys, writeBatch, type SpoolDb } from './store.js';
import { JournalFront, type FrontBounds } from './front.js';
import type { Journal } from './journal.js';
import { guardWal, type WalGuard } from './wal-damage.js';

const noop = (): void => {};

export interface WriterOptions {
  db: SpoolDb;
  where: string;
  log: Logger;
  now: () => number;
  /** a classic-level store in `where` (not an injected one): its write-ahead log is guarded on every reopen */
  onDisk: boolean;
  syncIntervalMs: number;
  /** retry reopening a failed store this often while no writes arrive */
  recoveryDelayMs: number;
  /** at most one 'spool write failed' line per interval */
  writeFailLogIntervalMs: number;
  /** the records taken and not yet acked (the reader's): acks of those need no read of the store */
  inFlight: ReadonlyMap<string, Taken>;
  /** a batch committed, or a failed one turned out to have landed after all: apply it in memory */
  committed(effects: Effects): void;
  /** the ops of a batch are done, committed or failed: their appends no longer count as pending */
  released(ops: Op[]): void;
  /** the store on disk was reopened: what leveldb dropped of its write-ahead log */
  reopened(guard: WalGuard): void;
  /** where appends and acks are committed first; null: straight to LevelDB */
  journal: Journal | null;
  /** when LevelDB gets what the journal staged: bounds memory and the replay at the next open */
  journalBounds: FrontBounds;
}

export class Writer {
  readonly sync: BackgroundSync;
  private readonly db: SpoolDb;
  private readonly where: string;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly onDisk: boolean;
  private readonly recoveryDelayMs: number;
  private readonly inFlight: ReadonlyMap<string, Taken>;
  private readonly committed: (effects: Effects) => void;
  private readonly released: (ops: Op[]) => void;
  private readonly reopened: (guard: WalGuard) => void;
  private readonly front: JournalFront | null;

  private queue: Op[] = [];
  private writing = false;
  private scheduled = false;
  private closing = false;
  private nextSeq = 0;
  private batchNo = 0;
  private needsRecovery = false;
  private failed: Built | null = null;
  private recoveryTimer: NodeJS.Timeout | null = null;
  private readonly failures: FailureLog;
  private writerIdle: Array<() => void> = [];

  constructor(o: WriterOptions) {
    this.db = o.db;
    this.where = o.where;
    this.log = o.log;
    this.now = o.now;
    this.onDisk = o.onDisk;
    this.recoveryDelayMs = o.recoveryDelayMs;
    this.inFlight = o.inFlight;
    this.committed = o.committed;
    this.released = o.released;
    this.reopened = o.reopened;
    this.front = o.journal ? new JournalFront(o.journal, o.journalBounds, () => this.requestFlush()) : null;
    this.failures = new FailureLog(o.log, o.where, o.now, o.writeFailLogIntervalMs);
    this.sync = new BackgroundSync(o.syncIntervalMs, o.now, () => this.requestSync());
  }

  /** after the open scan: batch numbers and sequences go on from the highest ones written */
  restore(batchNo: number, lastSeq: number): void {
    this.batchNo = batchNo;
    this.nextSeq = lastSeq + 1;
  }

  enqueue<T extends number>(make: (done: Deferred<T>) => Op): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closing) throw new SpoolClosedError();
      this.queue.push(make({ resolve, reject } as Deferred<T>));
      this.kickWriter();
    });
  }

  private requestSync(): void {
    this.queue.push({ kind: 'sync', done: { resolve: noop, reject: noop } });
    this.kickWriter();
  }

  /**
   * resolves with a sequence such that every record committed up to it is in LevelDB (or was removed before it
   * got there): the reader's bound when it reads the store
   */
  settled(): Promise<number> {
    if (!this.front || this.front.staged === 0) return Promise.resolve(this.nextSeq - 1);
    return this.enqueue<number>((done) => ({ kind: 'flush', done }));
  }

  private requestFlush(): void {
    this.queue.push({ kind: 'flush', done: { resolve: noop, reject: noop } });
    this.kickWriter();
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
      this.recoveryTimer = setTimeout(() => this.kickWriter(), this.recoveryDelayMs);
      this.recoveryTimer.unref();
    }
    for (const resolve of this.writerIdle.splice(0)) resolve();
  }

  private async commit(ops: Op[]): Promise<void> {
    const { front } = this;
    // keys whose existence only the store knows: planning reads them, and the journal takes no batch that needs them
    const lookup = keysToRead(ops, this.inFlight);
    if (front && !this.needsRecovery && front.takes(ops, lookup)) return this.commitToJournal(front, ops);
    let built: Built | null = null;
    let synced = false;
    try {
      if (this.needsRecovery) await this.recover();
      if (front && front.staged > 0 && lookup.size > 0) {
        // what planning reads must see what is staged
        const staged = front.take();
        await this.write(staged, [], false);
        front.stored([], staged.length, false);
      }
      built = this.plan(ops, await readKeys(this.db, lookup));
      synced = ops.some(needsSync);
      const staged = front ? front.take() : [];
      await this.write(staged, built.batch, synced);
      front?.stored(ops, staged.length, synced);
    } catch (err) {
      this.needsRecovery = true;
      if (built) this.failed = built;
      front?.settledOps(ops);
      this.fail(ops, err);
      return;
    }
    this.done(ops, built, synced);
  }

  /** appends and acks alone: one frame in the journal, synced when one of them needs it; LevelDB gets them later */
  private async commitToJournal(front: JournalFront, ops: Op[]): Promise<void> {
    const built = this.plan(ops, new Map());
    const synced = ops.some(needsSync);
    try {
      await front.write(built.batch, synced);
    } catch (err) {
      // LevelDB is untouched: nothing to reopen. a frame written but not synced is replayed after a crash, which
      // at worst stores records whose senders were told they were not (and send them again)
      this.fail(ops, err);
      return;
    }
    front.committed(built.batch);
    this.done(ops, built, synced);
  }

  /** a batch committed: in memory, then its callers */
  private done(ops: Op[], built: Built, synced: boolean): void {
    this.sync.committed(ops, synced);
    // count the committed bytes before releasing the pending ones: waiters woken now see the true fill
    this.committed(built.effects);
    this.released(ops);
    const { results } = built;
    ops.forEach((op, i) => op.done.resolve(results[i]));
  }

  private fail(ops: Op[], err: unknown): void {
    this.released(ops);
    const error = isCorruption(err) ? corruptError(this.where, err) : writeError(this.where, err);
    this.failures.failed(err, ops.length);
    for (const op of ops) op.done.reject(error);
  }

  /** one atomic write: what the journal staged, then the batch; synced unless it holds only acks (needsSync) */
  private write(staged: BatchOp[], ops: BatchOp[], sync: boolean): Promise<void> {
    return writeBatch(this.db, [staged, ops], sync);
  }

  /** plan the batch, given the stored values of the keys it reads; the only place sequences are handed out */
  private plan(ops: Op[], found: ReadonlyMap<string, string>): Built {
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
    if (guard) this.reopened(guard);
    if (this.failed) {
      const { landedKey } = this.failed;
      const landed =
        landedKey !== undefined
          ? (await this.db.get(landedKey, UTF8)) !== undefined
          : parseMeta(await this.db.get(META_KEY, UTF8)).batch === this.failed.no;
      if (landed) {
        this.log.warn({ storage: this.where }, 'a write reported as failed was stored after all; counting it');
        this.committed(this.failed.effects);
      }
      this.failed = null;
    }
    this.needsRecovery = false;
    this.log.info({ storage: this.where }, 'spool storage reopened');
  }

  /** no more ops from callers; what is queued, and a last sync of appends not yet synced, is still written */
  async close(): Promise<void> {
    this.closing = true;
    if (this.recoveryTimer) clearTimeout(this.recoveryTimer);
    // appends not yet synced are synced before the store closes, not left to the os; what the journal holds is
    // put into LevelDB (synced), so the next open has nothing to replay
    this.sync.stop();
    if (!this.needsRecovery) {
      if (this.front?.holdsAny) this.front.flush();
      else if (this.sync.unsyncedSince !== null) this.requestSync();
    }
    // queued writes still get written: their callers are waiting for an answer
    if (this.writing || this.scheduled || this.queue.length > 0) {
      await new Promise<void>((resolve) => this.writerIdle.push(resolve));
    }
  }

  /** after close(): whether LevelDB holds everything the journal does */
  get settledInStore(): boolean {
    return (this.front?.settled ?? true) && !this.needsRecovery;
  }
}
