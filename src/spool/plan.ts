// batch planning: the ops callers queue for the writer, and how the ops queued during one write become the next
// single LevelDB batch (group commit): which records go in, under which keys, with which state, dead letters and
// meta, and what the batch changes in memory once committed. pure: the writer reads the stored values it needs
// first (keysToRead) and hands them in.
import { Buffer } from 'node:buffer';
import { META_KEY, deadKey, formatMeta, isDeadKey, parseQueueKey, queueKeyAt, stateKey } from './keys.js';
import type { TailEntry } from './tail.js';
import type { SpoolItem, StateOp } from './types.js';

/** a LevelDB batch op; a queue record's put carries its value's utf8 length (`bytes`), which the journal reuses */
export type BatchOp = { type: 'put'; key: string; value: string; bytes?: number } | { type: 'del'; key: string };

export interface Deferred<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

export type Op =
  | {
      kind: 'append';
      values: string[];
      sizes: number[];
      bytes: number;
      state: StateOp[];
      sync: boolean;
      done: Deferred<number>;
    }
  | { kind: 'state'; state: StateOp[]; done: Deferred<number> }
  | { kind: 'sync'; done: Deferred<number> }
  /** put what the journal staged into LevelDB; resolves with the highest sequence LevelDB then covers */
  | { kind: 'flush'; done: Deferred<number> }
  | {
      kind: 'remove';
      items: SpoolItem[];
      dead: { reason: string; status: number | null } | null;
      done: Deferred<number>;
    }
  | { kind: 'replay'; keys: string[]; done: Deferred<number> }
  | { kind: 'purge'; keys: string[]; done: Deferred<number> };

/** what a committed batch changes in memory */
export interface Effects {
  appended: TailEntry[];
  removed: Array<{ key: string; bytes: number }>;
  deadDelta: number;
  lastSeq: number;
}

export interface Built {
  no: number;
  batch: BatchOp[];
  effects: Effects;
  /** per op, in order: how many records it appended, removed, replayed or purged */
  results: number[];
  /** for a batch that does not write the meta key: a key it puts, whose presence says that it landed */
  landedKey?: string;
  /** dead letters a replay left in place because their value is not readable (rare: allocated only then) */
  unreadable?: string[];
}

/** what planning needs of a record taken and not yet acked */
export interface Taken {
  bytes: number;
}

/**
 * acks alone are written without fsync: leveldb still hands them to the kernel before they resolve, so a crash of
 * the process keeps them, and only an os crash or power loss can undo one, which re-sends that log (at least once,
 * never lost). the next synced write makes them durable too. so are appends made with { sync: false } (the
 * ingest's `written` acknowledgement), which a background sync makes durable within syncIntervalMs. everything else
 * (appends, cursors, dead letters) syncs.
 */
export function needsSync(op: Op): boolean {
  if (op.kind === 'append') return op.sync;
  return !(op.kind === 'remove' && op.dead === null);
}

export function byteLength(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

export function checkStateOps(state: StateOp[]): void {
  if (!Array.isArray(state)) throw new TypeError('state must be an array of state ops');
  for (const op of state) {
    if (!op || typeof op.key !== 'string' || (op.type !== 'put' && op.type !== 'del')) {
      throw new TypeError('a state op needs type put or del and a string key');
    }
    if (op.type === 'put' && typeof op.value !== 'string')
      throw new TypeError(`state put ${op.key} needs a string value`);
  }
}

function stateBatchOps(state: StateOp[]): BatchOp[] {
  return state.map((op) =>
    op.type === 'put'
      ? { type: 'put', key: stateKey(op.key), value: op.value }
      : { type: 'del', key: stateKey(op.key) },
  );
}

/** keys whose existence only the store knows: queue records not taken by this process, dead letters */
export function keysToRead(ops: Op[], inFlight: ReadonlyMap<string, Taken>): Set<string> {
  const lookup = new Set<string>();
  for (const op of ops) {
    if (op.kind === 'remove') {
      for (const item of op.items) {
        if (!inFlight.has(item.key) && parseQueueKey(item.key)) lookup.add(item.key);
      }
    } else if (op.kind === 'replay' || op.kind === 'purge') {
      for (const key of op.keys) if (isDeadKey(key)) lookup.add(key);
    }
  }
  return lookup;
}

/**
 * turn queued ops into one batch; the only place sequences are allocated: they start at nextSeq, and the batch is
 * number `no`. `found` holds the stored values of keysToRead(ops) that exist; `at` is the time of the batch.
 */
export function planBatch(
  ops: Op[],
  found: ReadonlyMap<string, string>,
  inFlight: ReadonlyMap<string, Taken>,
  at: number,
  nextSeq: number,
  no: number,
): Built {
  const batch: BatchOp[] = [];
  const effects: Effects = { appended: [], removed: [], deadDelta: 0, lastSeq: nextSeq - 1 };
  const results: number[] = [];
  const gone = new Set<string>();
  let unreadable: string[] | undefined;
  const keyOf = queueKeyAt(at);
  const enqueueValue = (value: string, bytes: number): void => {
    const seq = nextSeq++;
    const key = keyOf(seq, bytes);
    batch.push({ type: 'put', key, value, bytes });
    effects.appended.push({ key, value, bytes, seq, at });
  };

  for (const op of ops) {
    let count = 0;
    switch (op.kind) {
      case 'append':
        op.values.forEach((value, i) => enqueueValue(value, op.sizes[i]));
        batch.push(...stateBatchOps(op.state));
        count = op.values.length;
        break;
      case 'state':
        batch.push(...stateBatchOps(op.state));
        break;
      case 'remove':
        for (const item of op.items) {
          const flying = inFlight.get(item.key);
          const stored = found.get(item.key);
          if (gone.has(item.key) || (!flying && stored === undefined)) continue;
          gone.add(item.key);
          batch.push({ type: 'del', key: item.key });
          effects.removed.push({
            key: item.key,
            bytes: flying ? flying.bytes : (parseQueueKey(item.key)?.bytes ?? 0),
          });
          if (op.dead) {
            const letter = { reason: op.dead.reason, status: op.dead.status, at, value: stored ?? item.value };
            batch.push({
              type: 'put',
              key: deadKey(at, parseQueueKey(item.key)?.seq ?? 0),
              value: JSON.stringify(letter),
            });
            effects.deadDelta++;
          }
          count++;
        }
        break;
      case 'replay':
        for (const key of op.keys) {
          const stored = found.get(key);
          if (gone.has(key) || stored === undefined || !isDeadKey(key)) continue;
          let value: unknown;
          try {
            value = (JSON.parse(stored) as { value?: unknown }).value;
          } catch {
            value = undefined;
          }
          if (typeof value !== 'string') {
            (unreadable ??= []).push(key);
            continue;
          }
          gone.add(key);
          batch.push({ type: 'del', key });
          effects.deadDelta--;
          enqueueValue(value, byteLength(value));
          count++;
        }
        break;
      case 'purge':
        for (const key of op.keys) {
          if (gone.has(key) || !found.has(key)) continue;
          gone.add(key);
          batch.push({ type: 'del', key });
          effects.deadDelta--;
          count++;
        }
        break;
    }
    results.push(count);
  }
  effects.lastSeq = nextSeq - 1;
  ops.forEach((op, i) => {
    if (op.kind === 'flush') results[i] = effects.lastSeq;
  });
  // a batch of appends alone leaves the meta key as it is: its records carry their sequences (the open scan
  // finds the highest), and whether it landed after a failure is whether its first record is there. every
  // other batch (acks, dead letters, state, syncs) writes it, so once records are deleted the highest sequence
  // handed out is still known. one put less on the hot path: about 10 µs a request at one connection
  const appendsOnly = ops.every((op) => op.kind === 'append');
  if (!appendsOnly) batch.push({ type: 'put', key: META_KEY, value: formatMeta(no, effects.lastSeq) });
  return { no, batch, effects, results, landedKey: appendsOnly ? effects.appended[0]?.key : undefined, unreadable };
}
