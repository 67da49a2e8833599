// cursor v2's export chunks: a round lists the chunks of the polled dates and streams each one not done yet from
// its saved cursor, several in parallel. each batch moves the chunk's cursor in the write that ships it; a chunk
// that fails is counted (failures.ts) and retried by the next round, never skipped.
import type { WireExportEvent } from './decoder.js';
import { EXPORT_BATCH_MAX, LINGER_MS, readBatches } from './batches.js';
import { dateMs } from './dates.js';
import { decodeWireEvent, type DecodedEvent } from './events.js';
import type { ExplainedError } from './explain.js';
import { StuckChunks } from './failures.js';
import type { ExportCore } from './handoff.js';
import { isStop } from './retry.js';
import { K, putJson, type ChunkState } from './state.js';

/** runs fn over items, at most n at a time; waits for all, then rethrows the first error */
export async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let firstError: unknown;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!);
      } catch (err) {
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  if (firstError !== undefined) throw firstError;
  return out;
}

export function createChunkReader(core: ExportCore) {
  const { ctx, hooks, ship, failures } = core;
  const { client, store, logger, signal } = ctx;
  const o = ctx.options;
  const stuck = new StuckChunks(logger, ctx.now, failures.log, (s) => hooks.progress({ stuck: s }));

  /** one chunk from its cursor; 'failed' is counted and logged here and retried by the caller, stop errors propagate */
  async function runChunk(date: string, chunk: string, cursor: string): Promise<'done' | 'failed'> {
    const key = K.chunk(date, chunk);
    const result = await streamChunk(key, date, chunk, cursor);
    if (result.ok) {
      stuck.succeeded(key);
      return 'done';
    }
    stuck.failed(key, date, chunk, result.explained);
    return 'failed';
  }

  /** streams one chunk from its cursor; a failure is returned for runChunk to count, stop errors propagate */
  async function streamChunk(
    key: string,
    date: string,
    chunk: string,
    cursor: string,
  ): Promise<{ ok: true } | { ok: false; error: string; explained: ExplainedError }> {
    const watched = ctx.streams?.track(`export chunk ${chunk} of ${date}`);
    try {
      const stream = client.exportEvents(new Date(dateMs(date)), chunk, cursor, signal);
      for await (const batch of readBatches<WireExportEvent>(
        stream,
        EXPORT_BATCH_MAX,
        LINGER_MS,
        undefined,
        o.streamIdleTimeoutMs,
      )) {
        watched?.received();
        const events: DecodedEvent[] = [];
        for (let i = 0; i < batch.length; i++) {
          const ev = batch[i]!.event;
          if (ev) events.push(decodeWireEvent(ev, ctx.now()));
        }
        const last = batch[batch.length - 1]!.cursor;
        if (last) cursor = last;
        await ship(events, [putJson(key, { c: cursor } satisfies ChunkState)]);
        watched?.reading();
      }
      await store.put([putJson(key, { done: true } satisfies ChunkState)], signal);
      return { ok: true };
    } catch (err) {
      if (signal.aborted || isStop(err)) throw err;
      const x = failures.failed(err);
      return { ok: false, error: x.err, explained: x };
    } finally {
      watched?.done();
    }
  }

  /** one pass over the polled dates: returns how many chunks were streamed and whether anything failed */
  async function round(dates: string[]): Promise<{ work: number; failed: boolean }> {
    const tasks: Array<{ date: string; chunk: string; cursor: string }> = [];
    let failed = false;
    for (const date of dates) {
      let chunks: string[];
      try {
        chunks = await client.getEventExportChunks(new Date(dateMs(date)), signal);
      } catch (err) {
        if (signal.aborted) throw err;
        failures.log.failed(failures.failed(err), { date }, 'listing teleport export chunks failed; retrying');
        failed = true;
        continue;
      }
      const states = new Map<string, ChunkState>();
      const prefix = K.chunkPrefix(date);
      for (const row of await store.list(prefix)) {
        try {
          states.set(row.key.slice(prefix.length), JSON.parse(row.value) as ChunkState);
        } catch {
          // a broken value: stream the chunk again from the start
        }
      }
      for (const chunk of new Set(chunks)) {
        const st = states.get(chunk);
        if (st?.done) continue;
        tasks.push({ date, chunk, cursor: st?.c ?? '' });
      }
    }
    const results = await pool(tasks, o.concurrency, (t) => runChunk(t.date, t.chunk, t.cursor));
    return { work: tasks.length, failed: failed || results.includes('failed') };
  }

  return { round };
}
