// what the spool reads of its store beside the queue: state by prefix, and dead letters (to list them, and the
// pages of keys that replay-all and purge move through the writer). each call is one iterator, nothing cached.
import { DEAD_GTE, DEAD_LT, STATE_PREFIX, isDeadKey, stateKey } from './keys.js';
import { UTF8, type SpoolDb } from './store.js';
import type { DeadLetter } from './types.js';

/** state keys under a prefix, in key order; `chunk`: entries per nextv() */
export async function listState(
  db: SpoolDb,
  prefix: string,
  chunk: number,
): Promise<Array<{ key: string; value: string }>> {
  const from = stateKey(prefix);
  const out: Array<{ key: string; value: string }> = [];
  const it = db.iterator<string, string>({ gte: from, ...UTF8 });
  try {
    for (;;) {
      const entries = await it.nextv(chunk);
      if (entries.length === 0) return out;
      for (const [key, value] of entries) {
        if (!key.startsWith(from)) return out;
        out.push({ key: key.slice(STATE_PREFIX.length), value });
      }
    }
  } finally {
    await it.close();
  }
}

/** a stored dead letter as the spool hands it out; one that does not parse keeps its raw text as the value */
export function parseDeadLetter(key: string, text: string): DeadLetter {
  try {
    const letter = JSON.parse(text) as Partial<DeadLetter>;
    return {
      key,
      reason: String(letter.reason ?? ''),
      status: typeof letter.status === 'number' ? letter.status : null,
      at: Number(letter.at ?? 0),
      value: String(letter.value ?? ''),
    };
  } catch {
    return { key, reason: 'unreadable dead letter', status: null, at: 0, value: text };
  }
}

/** dead letters in key order (dead-lettered time), at most `limit`, after a key if given */
export async function listDead(
  db: SpoolDb,
  options: { limit: number; after?: string },
  chunk: number,
): Promise<DeadLetter[]> {
  const { limit } = options;
  const range = options.after ? { gt: options.after } : { gte: DEAD_GTE };
  const it = db.iterator<string, string>({ ...range, lt: DEAD_LT, limit, ...UTF8 });
  const out: DeadLetter[] = [];
  try {
    for (;;) {
      const entries = await it.nextv(Math.min(limit, chunk));
      if (entries.length === 0) return out;
      for (const [key, text] of entries) {
        if (!isDeadKey(key)) continue;
        out.push(parseDeadLetter(key, text));
      }
    }
  } finally {
    await it.close();
  }
}

/** a page of dead-letter keys after `after` and below `lt`; with lastOnly, the last key below `lt` alone */
export async function deadKeys(
  db: SpoolDb,
  after: string | undefined,
  lt: string,
  page: number,
  lastOnly = false,
): Promise<string[]> {
  const limit = lastOnly ? 1 : page;
  const it = db.keys<string>({
    ...(after ? { gt: after } : { gte: DEAD_GTE }),
    lt,
    limit,
    reverse: lastOnly,
    keyEncoding: 'utf8',
  });
  try {
    return await it.nextv(limit);
  } finally {
    await it.close();
  }
}
