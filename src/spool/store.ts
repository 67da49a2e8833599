// the store the spool runs on (abstract-level: classic-level in production, memory-level in tests), and the one
// encoding every read and write of it uses.
import type { Buffer } from 'node:buffer';
import type { AbstractLevel } from 'abstract-level';
import type { BatchOp } from './plan.js';

export type SpoolDb = AbstractLevel<string | Buffer | Uint8Array, string, string>;

export const UTF8 = { keyEncoding: 'utf8', valueEncoding: 'utf8' } as const;

const SYNC_WRITE = { ...UTF8, sync: true } as const;
const NOSYNC_WRITE = { ...UTF8, sync: false } as const;

/**
 * one atomic write of these lists of ops, in order. a chained batch, not db.batch(array): abstract-level clones and
 * checks every operation of an array on the main thread, which cost ~6 µs a record against ~2 µs for chained puts
 * (`bench/micro.ts batch`)
 */
export async function writeBatch(db: SpoolDb, lists: ReadonlyArray<readonly BatchOp[]>, sync: boolean): Promise<void> {
  const chain = db.batch();
  try {
    for (const list of lists) {
      for (const op of list) {
        if (op.type === 'put') chain.put(op.key, op.value, UTF8);
        else chain.del(op.key, UTF8);
      }
    }
  } catch (err) {
    await chain.close().catch(() => {});
    throw err;
  }
  // write() closes the batch, whether it succeeds or not
  await chain.write((sync ? SYNC_WRITE : NOSYNC_WRITE) as object);
}

/** the stored values of these keys, those that exist */
export async function readKeys(db: SpoolDb, keys: Iterable<string>): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const list = [...keys];
  if (list.length === 0) return found;
  const values = await db.getMany(list, UTF8);
  list.forEach((key, i) => {
    const value = values[i];
    if (value !== undefined) found.set(key, value);
  });
  return found;
}
