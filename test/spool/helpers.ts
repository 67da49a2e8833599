// shared by the spool tests: stores to run the suite on, and a wrapper that watches or breaks db.batch().
import fs from 'node:fs';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import type { SpoolDb } from '../../src/spool/spool.js';

import { tempDir } from '../helpers/temp.js';

export { tempDir };
export { within } from '../helpers/wait.js';

export interface StoreKind {
  name: string;
  /** the spool commits appends and acks to its journal first: tests of LevelDB's own batches do not apply */
  journaled?: boolean;
  /** a fresh, empty store */
  create(): Promise<Store>;
}

export interface Store {
  /** a handle on the same data: a new ClassicLevel on the same directory, or the same MemoryLevel again */
  db(): SpoolDb;
  cleanup(): Promise<void>;
  /** where the spool keeps its journal, for a kind that has one */
  journalDir?: string;
}

export const memoryStore: StoreKind = {
  name: 'memory-level',
  async create() {
    const db = new MemoryLevel<string, string>();
    return { db: () => db, cleanup: async () => db.close() };
  },
};

export const classicStore: StoreKind = classicKind('classic-level', false);

/** classic-level with the journal in front of it, as the spool runs on a storage directory */
export const journaledStore: StoreKind = classicKind('classic-level with the journal', true);

function classicKind(name: string, journal: boolean): StoreKind {
  return { name, journaled: journal, create: () => createClassic(journal) };
}

async function createClassic(journal: boolean): Promise<Store> {
  const dir = tempDir();
  const handles: SpoolDb[] = [];
  return {
    journalDir: journal ? dir : undefined,
    db() {
      const db = new ClassicLevel<string, string>(dir);
      handles.push(db);
      return db;
    },
    async cleanup() {
      for (const db of handles) await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface BatchCall {
  ops: Array<{ type: string; key: string; value?: string }>;
  options: Record<string, unknown>;
}

type BatchOps = BatchCall['ops'];

/**
 * route every batch written to this handle, array form (`db.batch(ops)`) or chained (`db.batch().put()….write()`),
 * through `around(ops, options, write)`: it sees the whole batch and decides whether and when the real write runs
 */
export function interceptBatches(
  db: SpoolDb,
  around: (ops: BatchOps, options: Record<string, unknown>, write: () => Promise<void>) => Promise<void>,
): void {
  const original = db.batch.bind(db) as (...args: unknown[]) => unknown;
  (db as unknown as { batch: unknown }).batch = (ops?: BatchOps, options?: Record<string, unknown>) => {
    if (ops !== undefined) return around(ops, options ?? {}, () => original(ops, options) as Promise<void>);
    const chain = original() as {
      put(k: string, v: string, o?: unknown): unknown;
      del(k: string, o?: unknown): unknown;
      write(o?: unknown): Promise<void>;
      close(): Promise<void>;
    };
    const recorded: BatchOps = [];
    const proxy = {
      put(key: string, value: string, o?: unknown) {
        recorded.push({ type: 'put', key, value });
        chain.put(key, value, o);
        return proxy;
      },
      del(key: string, o?: unknown) {
        recorded.push({ type: 'del', key });
        chain.del(key, o);
        return proxy;
      },
      close: () => chain.close(),
      async write(o?: Record<string, unknown>) {
        let wrote = false;
        try {
          await around(recorded, o ?? {}, async () => {
            wrote = true;
            await chain.write(o);
          });
        } finally {
          if (!wrote) await chain.close();
        }
      },
    };
    return proxy;
  };
}

/**
 * watch the batches written to this handle: every one is recorded, and iterators are counted; `fail` makes the next
 * writes throw (before or after the real write, to simulate a write that is reported failed but landed).
 */
export function watchBatches(db: SpoolDb): { calls: BatchCall[]; fail: null | 'before' | 'after'; iterators: number } {
  const state = { calls: [] as BatchCall[], fail: null as null | 'before' | 'after', iterators: 0 };
  const iterator = db.iterator.bind(db) as (options: unknown) => unknown;
  (db as unknown as { iterator: unknown }).iterator = (options: unknown) => {
    state.iterators++;
    return iterator(options);
  };
  interceptBatches(db, async (ops, options, write) => {
    state.calls.push({ ops, options });
    if (state.fail === 'before') throw Object.assign(new Error('simulated disk error'), { code: 'LEVEL_IO_ERROR' });
    await write();
    if (state.fail === 'after') throw Object.assign(new Error('simulated sync error'), { code: 'LEVEL_IO_ERROR' });
  });
  return state;
}

/** has the promise settled yet? lets pending work run first */
export async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

/** a spool logger that keeps every line, for assertions on what was logged */
export function collectingLogger() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg?: string }> = [];
  const at = (level: string) => (obj: object, msg?: string) =>
    lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } };
}
