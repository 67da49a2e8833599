// the contract between sources, the spool and the sink. see src/spool/spool.ts for the LevelDB implementation.
import type { WalDamage } from './wal-damage.js';

/** one queued Datadog log, as the JSON text of one HTTPLogItem */
export interface SpoolItem {
  /** the LevelDB key; ordered by arrival */
  key: string;
  /** JSON text of the routed Datadog log item */
  value: string;
  /** Buffer.byteLength(value) */
  bytes: number;
}

/** extra state written in the same synced batch as appended records (poller cursors) */
export type StateOp = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

export interface DeadLetter {
  key: string;
  /** why Datadog refused it (status and response body, or our own reason) */
  reason: string;
  status: number | null;
  /** epoch ms when it was dead-lettered */
  at: number;
  value: string;
}

export interface SpoolStats {
  records: number;
  bytes: number;
  maxBytes: number;
  /** records taken by the sink and not yet acked */
  inFlight: number;
  deadLetters: number;
  /** epoch ms when the oldest undelivered record was appended, null when empty */
  oldestAppendedAt: number | null;
  /** set when leveldb skipped a damaged part of its write-ahead log while opening (records may be lost) */
  walDamage?: WalDamage | null;
  /** damaged-wal directories kept in the storage directory (this start's and earlier ones), until removed */
  walDamageKept?: string[];
  /** epoch ms of the oldest append written without fsync and not yet synced, null when all are synced */
  unsyncedSince?: number | null;
  /** synced writes since open, and how many of them the background sync made */
  syncs?: number;
  backgroundSyncs?: number;
}

export interface AppendOptions {
  /**
   * false: resolve once the batch is written to leveldb's log in the os (it survives a crash of the process, not
   * of the os), leaving the fsync to the background sync. appends carrying state always sync. default true
   */
  sync?: boolean;
}

export interface Spool {
  /**
   * Append records (and optional state ops) in one batch written with sync (fsync). Concurrent calls share one
   * synced write (group commit). Resolves only once durable; with { sync: false } once in leveldb's log in the os
   * (a background sync makes it durable shortly after). Rejects with SpoolFullError when the spool holds
   * maxBytes or more (nothing of that call is written), SpoolClosedError after close().
   */
  append(values: string[], state?: StateOp[], options?: AppendOptions): Promise<void>;
  /**
   * Take the oldest records not yet taken, at most maxItems and maxBytes (but at least one record, whatever its
   * size). Waits until there is at least one; resolves [] once the spool is closing or the signal aborts. Taken
   * records stay on disk until ack() or deadLetter(); after a restart they are taken again.
   */
  take(maxItems: number, maxBytes: number, signal?: AbortSignal): Promise<SpoolItem[]>;
  /**
   * delete delivered records (Datadog answered 202). not fsynced on its own (a process crash keeps it; an os crash
   * may undo it, which only sends those logs again); durable with the next synced write
   */
  ack(items: SpoolItem[]): Promise<void>;
  /** move records Datadog refused for good to the dead-letter store, in one batch, durably */
  deadLetter(items: SpoolItem[], reason: string, status: number | null): Promise<void>;
  /** poller state (cursors); written with append(…, state) or putState */
  getState(key: string): Promise<string | undefined>;
  putState(ops: StateOp[]): Promise<void>;
  /** state keys under a prefix, in key order */
  listState(prefix: string): Promise<Array<{ key: string; value: string }>>;
  /** resolves when bytes < maxBytes (or the spool closes / the signal aborts) */
  waitForSpace(signal?: AbortSignal): Promise<void>;
  hasSpace(): boolean;
  stats(): SpoolStats;
  listDead(options?: { limit?: number; after?: string }): Promise<DeadLetter[]>;
  /** move dead letters back into the queue (all, or those keys); returns how many */
  replayDead(keys?: string[]): Promise<number>;
  /** delete dead letters dead-lettered before a time (epoch ms); returns how many */
  purgeDead(before: number): Promise<number>;
  /** stop taking, wake waiters with [], finish pending writes, close LevelDB */
  close(): Promise<void>;
}
