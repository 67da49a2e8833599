// shared by the spool tests: stores to run the suite on, and a wrapper that watches or breaks db.batch().
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import type { SpoolDb } from '../../src/spool/spool.js';

export interface StoreKind {
  name: string;
  /** a fresh, empty store */
  create(): Promise<Store>;
}

export interface Store {
  /** a handle on the same data: a new ClassicLevel on the same directory, or the same MemoryLevel again */
  db(): SpoolDb;
  cleanup(): Promise<void>;
}

export function tempDir(prefix = 'tdf-spool-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const memoryStore: StoreKind = {
  name: 'memory-level',
  async create() {
    const db = new MemoryLevel<string, string>();
    return { db: () => db, cleanup: async () => db.close() };
  },
};

export const classicStore: StoreKind = {
  name: 'classic-level',
  async create() {
    const dir = tempDir();
    const handles: SpoolDb[] = [];
    return {
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
  },
};

export interface BatchCall {
  ops: Array<{ type: string; key: string; value?: string }>;
  options: Record<string, unknown>;
}

/**
 * watch db.batch() on this handle: every call is recorded, and iterators are counted; `fail` makes the next calls throw (before or after
 * the real write, to simulate a write that is reported failed but landed).
 */
export function watchBatches(db: SpoolDb): { calls: BatchCall[]; fail: null | 'before' | 'after'; iterators: number } {
  const state = { calls: [] as BatchCall[], fail: null as null | 'before' | 'after', iterators: 0 };
  const iterator = db.iterator.bind(db) as (options: unknown) => unknown;
  (db as unknown as { iterator: unknown }).iterator = (options: unknown) => {
    state.iterators++;
    return iterator(options);
  };
  const original = db.batch.bind(db) as (ops: unknown, options: unknown) => Promise<void>;
  (db as unknown as { batch: unknown }).batch = async (ops: BatchCall['ops'], options: BatchCall['options']) => {
    state.calls.push({ ops, options });
    if (state.fail === 'before') throw Object.assign(new Error('simulated disk error'), { code: 'LEVEL_IO_ERROR' });
    await original(ops, options);
    if (state.fail === 'after') throw Object.assign(new Error('simulated sync error'), { code: 'LEVEL_IO_ERROR' });
  };
  return state;
}

/** resolve a promise or fail after a long time (a hang guard, not a timing assertion) */
export async function within<T>(promise: Promise<T>, ms = 10_000, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
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
