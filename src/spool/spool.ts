// the durable spool on abstract-level (classic-level in production, memory-level in tests). this module opens it
// and holds the Spool's face; the parts are beside it:
//   open.ts     the storage directory's checks, the write-ahead log's damage report, the count at open
//   writer.ts   the one writer: group commit, ack modes, recovery after a failed write (background-sync.ts)
//   journal.ts  where appends and acks are committed first (frame.ts, staging.ts); LevelDB gets them in bulk
//   plan.ts     what goes into one LevelDB batch: records, keys, state, dead letters, meta (pure)
//   reader.ts   take(): the cursor, the in-memory tail, records in flight, the counts of what is committed
//   queries.ts  state and dead letters read beside the queue
//
// - acknowledge only durable: every mutation goes through one writer that puts all ops queued while the previous
//   batch was being written into the next single batch, written with { sync: true } (group commit). a caller's
//   promise settles when the batch holding its ops is committed, or rejects with that batch's error.
// - records are keyed by a sequence allocated when the batch is built (see keys.ts); the highest one is also
//   kept in the meta key, so sequences never repeat across restarts even when the queue was drained.
// - the byte bound counts the utf8 bytes of queued record values only (not keys, dead letters, state or LevelDB
//   overhead). appends already queued for the writer count too, so the bound is overshot by one append at most.
import { ClassicLevel } from 'classic-level';
import { ConfigError, SpoolClosedError, SpoolFullError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { DEAD_LT, deadBefore, stateKey } from './keys.js';
import { foreignFiles, makeDir, scanStore, settleWal } from './open.js';
import { byteLength, checkStateOps, type Effects, type Op } from './plan.js';
import { deadKeys, listDead, listState } from './queries.js';
import { Reader } from './reader.js';
import { refuseBeforeOpen, openError } from './storage-errors.js';
import { UTF8, writeBatch, type SpoolDb } from './store.js';
import { guardWal, type WalDamage, type WalGuard } from './wal-damage.js';
import { Writer } from './writer.js';
import { Journal } from './journal.js';
import type { AppendOptions, DeadLetter, Spool, SpoolItem, SpoolStats, StateOp } from './types.js';

export type { SpoolDb } from './store.js';

export interface SpoolOptions {
  /** storage directory for classic-level (production); one of path / db */
  path?: string;
  /** an injected store (tests use memory-level); closed by close() */
  db?: SpoolDb;
  /**
   * the journal's directory for an injected store (tests); a store at `path` always has its journal there.
   * without one, every batch goes straight to the store
   */
  journalDir?: string;
  /** the journal's bounds: LevelDB gets what it holds past either; defaults 8 MiB of file, 4 MiB staged */
  journalMaxBytes?: number;
  journalStagingMaxChars?: number;
  /** byte bound on queued record values: append rejects with SpoolFullError at or above it */
  maxBytes: number;
  /** bound of the in-memory tail of committed, not yet taken records; default 16 MiB */
  tailMaxBytes?: number;
  logger?: Logger;
  now?: () => number;
  /**
   * appends made with { sync: false } are synced by a background sync at most this long after they were written
   * (ingest.sync-interval): the window an os crash or power cut can take them in
   */
  syncIntervalMs: number;
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
  journalMaxBytes: 8 * 1024 * 1024,
  journalStagingMaxChars: 4 * 1024 * 1024,
} as const;

// LevelDB's memory, smaller than its defaults (4 MiB memtable, 8 MiB block cache): a queue reads each record once,
// in order, so a block cache saves nothing, and LevelDB takes the poller's batches and the journal's overflow, not
// the steady traffic. the poller's 1M-event export peaked 4-8 MiB lower with them (BENCHMARKS.md)
const LEVEL_OPTIONS = { ...UTF8, writeBufferSize: 2 * 1024 * 1024, cacheSize: 1024 * 1024 } as const;

const noop = (): void => {};

class LevelSpool implements Spool {
  private readonly db: SpoolDb;
  private readonly where: string;
  private readonly maxBytes: number;
  private readonly tailMaxBytes: number;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly syncIntervalMs: number;
  /** a classic-level store in `where` (not an injected one): its write-ahead log is guarded on every open */
  private readonly onDisk: boolean;
  private readonly journal: Journal | null;

  private readonly reader: Reader;
  private readonly writer: Writer;
  private walDamage: WalDamage | null = null;
  private walDamageKept: string[] = [];
  // bytes of appends admitted but not yet committed
  private pendingBytes = 0;
  private spaceWaiters = new Set<() => void>();
  private closing = false;
  private closePromise: Promise<void> | null = null;

  constructor(db: SpoolDb, where: string, options: SpoolOptions, journal: Journal | null) {
    this.db = db;
    this.journal = journal;
    this.where = where;
    this.maxBytes = options.maxBytes;
    this.tailMaxBytes = options.tailMaxBytes ?? DEFAULTS.tailMaxBytes;
    this.log = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.syncIntervalMs = options.syncIntervalMs;
    this.onDisk = options.path !== undefined;
    this.reader = new Reader({
      db,
      where,
      log: this.log,
      tailMaxBytes: this.tailMaxBytes,
      readChunk: DEFAULTS.readChunk,
      readRetryMaxMs: DEFAULTS.readRetryMaxMs,
      settled: () => this.writer.settled(),
    });
    this.writer = new Writer({
      db,
      where,
      log: this.log,
      now: this.now,
      onDisk: this.onDisk,
      syncIntervalMs: this.syncIntervalMs,
      recoveryDelayMs: DEFAULTS.recoveryDelayMs,
      writeFailLogIntervalMs: DEFAULTS.writeFailLogIntervalMs,
      inFlight: this.reader.inFlight,
      committed: (effects) => this.committed(effects),
      released: (ops) => this.releasePending(ops),
      reopened: (guard) => this.settleWal(guard),
      journal,
      journalBounds: {
        journalMaxBytes: options.journalMaxBytes ?? DEFAULTS.journalMaxBytes,
        stagingMaxChars: options.journalStagingMaxChars ?? DEFAULTS.journalStagingMaxChars,
      },
    });
  }

  /** count what is on disk; o(spool size) */
  async scan(): Promise<void> {
    const scanned = await scanStore(this.db, this.where, this.log, DEFAULTS.scanChunk);
    this.reader.restore(scanned);
    this.writer.restore(scanned.batchNo, scanned.lastSeq);
  }

  // ---- writes ----

  async append(values: string[], state: StateOp[] = [], options?: AppendOptions): Promise<void> {
    if (this.closing) throw new SpoolClosedError();
    if (!Array.isArray(values)) throw new TypeError('append takes an array of strings');
    checkStateOps(state);
    if (values.length === 0) {
      if (state.length > 0) await this.writer.enqueue<number>((done) => ({ kind: 'state', state, done }));
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
    await this.writer.enqueue<number>((done) => ({ kind: 'append', values, sizes, bytes, state, sync, done }));
  }

  async putState(ops: StateOp[]): Promise<void> {
    if (this.closing) throw new SpoolClosedError();
    checkStateOps(ops);
    if (ops.length === 0) return;
    await this.writer.enqueue<number>((done) => ({ kind: 'state', state: ops, done }));
  }

  async ack(items: SpoolItem[]): Promise<void> {
    if (this.closing) throw new SpoolClosedError();
    if (items.length === 0) return;
    await this.writer.enqueue<number>((done) => ({ kind: 'remove', items, dead: null, done }));
  }

  async deadLetter(items: SpoolItem[], reason: string, status: number | null): Promise<void> {
    if (this.closing) throw new SpoolClosedError();
    if (items.length === 0) return;
    await this.writer.enqueue<number>((done) => ({
      kind: 'remove',
      items,
      dead: { reason: String(reason), status },
      done,
    }));
  }

  async replayDead(keys?: string[]): Promise<number> {
    if (this.closing) throw new SpoolClosedError();
    if (keys) return keys.length === 0 ? 0 : this.writer.enqueue<number>((done) => ({ kind: 'replay', keys, done }));
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
      total += await this.writer.enqueue<number>((done) => ({ kind: 'replay', keys: page, done }));
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
      total += await this.writer.enqueue<number>((done) => ({ kind: 'purge', keys: page, done }));
      after = page[page.length - 1];
    }
  }

  /** a batch committed: in memory, and waiters for space woken once records went */
  private committed(effects: Effects): void {
    this.reader.apply(effects);
    if (effects.removed.length > 0) this.wakeSpace();
  }

  private releasePending(ops: Op[]): void {
    for (const op of ops) if (op.kind === 'append') this.pendingBytes -= op.bytes;
    this.wakeSpace();
  }

  // ---- reads ----

  take(maxItems: number, maxBytes: number, signal?: AbortSignal): Promise<SpoolItem[]> {
    return this.reader.take(maxItems, maxBytes, signal);
  }

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
    return this.reader.bytes + this.pendingBytes < this.maxBytes;
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
    const { reader, writer } = this;
    return {
      records: reader.records,
      bytes: reader.bytes,
      maxBytes: this.maxBytes,
      inFlight: reader.inFlight.size,
      deadLetters: reader.deadLetters,
      oldestAppendedAt: reader.oldestAppendedAt(),
      walDamage: this.walDamage,
      walDamageKept: this.walDamageKept,
      unsyncedSince: writer.sync.unsyncedSince,
      syncs: writer.sync.counts.commit,
      backgroundSyncs: writer.sync.counts.background,
    };
  }

  /** after an open (or a reopen) of a store on disk: what leveldb dropped of its write-ahead log, for stats() */
  settleWal(guard: WalGuard): void {
    const { damage, kept } = settleWal(guard, this.where, this.log);
    if (damage) this.walDamage = damage;
    this.walDamageKept = kept;
  }

  // ---- lifecycle ----

  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    this.reader.close();
    for (const wake of [...this.spaceWaiters]) wake();
    // queued writes still get written, and appends not yet synced are synced: their callers wait for an answer
    await this.writer.close();
    await this.reader.idle();
    this.journal?.close(this.writer.settledInStore);
    await this.db.close();
    this.log.debug({ storage: this.where, records: this.reader.records, bytes: this.reader.bytes }, 'spool closed');
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
    db = new ClassicLevel<string, string>(path, LEVEL_OPTIONS);
  }
  try {
    if (db.status !== 'open') await db.open();
  } catch (err) {
    guard?.discard();
    throw openError(where, err);
  }
  let journal: Journal | null = null;
  const journalDir = options.path ?? options.journalDir;
  if (journalDir !== undefined) {
    try {
      journal = await Journal.open(journalDir, (ops) => writeBatch(db, [ops], true), options.logger ?? silentLogger);
    } catch (err) {
      await db.close().catch(noop);
      throw openError(where, err);
    }
  }
  const spool = new LevelSpool(db, where, options, journal);
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
    journal?.close(false);
    await db.close().catch(noop);
    throw openError(where, err);
  }
  return spool;
}
