// the bulk export of the audit log. cursor v2: per UTC date, list the export chunks and stream each one from its
// saved cursor (several in parallel), keep polling the two previous dates for late chunks, move to the next date
// once the current one is idle and in the past. legacy (auth services without export chunks): paged search over
// windows of window-size from the start time. in both, a batch of events goes to the spool in the same synced
// write as the cursor that moves past it, so a restart neither loses nor re-sends an event.
// the mode is chosen once, by the first run's probe, and stored: the two cursors do not translate into each
// other, so switching after a teleport upgrade would send the whole history again (the legacy search still
// works on newer auth services). only a downgrade (export stored, now UNIMPLEMENTED) forces legacy: it starts at
// the stored export date, and events of that date may be sent again.
import type { Logger } from '../../log.js';
import type { SourceRecord } from '../../record.js';
import type { StateOp } from '../../spool/types.js';
import type { AuditLogClient } from './client.js';
import type { WireExportEvent } from './decoder.js';
import { readBatches } from './batches.js';
import type { StreamWatch } from './streams.js';
import { decodeWireEvent, toSourceRecord, type DecodedEvent } from './events.js';
import { Backoff } from '../../backoff.js';
import { sleep } from '../../sleep.js';
import { isUnimplemented } from './retry.js';
import {
  FailureLog,
  PermanentFailures,
  explainedText,
  plainExplain,
  type Explain,
  type ExplainedError,
} from './explain.js';
import { K, del, putJson, type ChunkState, type LegacyState, type StateStore } from './state.js';

const DAY = 86_400_000;
/** most events per spool write */
export const EXPORT_BATCH_MAX = 500;
/** how long a stream may pause before the events received so far are written */
export const LINGER_MS = 20;
/** a legacy window is left only once its end is this far in the past (late-indexed events) */
export const LEGACY_SETTLE_MS = 60_000;

export interface ExporterOptions {
  startTime: Date;
  /** a backfill job's end (exclusive): events from it on are not shipped, and the run returns once past it */
  endTime?: Date;
  eventsTag: string;
  /** event types to export; empty means all */
  types: string[];
  skipEventTypes: string[];
  concurrency: number;
  /** legacy page size */
  batch: number;
  windowSizeMs: number;
  pollIntervalMs: number;
  /** an export stream that sends nothing this long is cancelled and retried from its cursor */
  streamIdleMs: number;
  exitOnLastEvent: boolean;
  retryBaseMs: number;
  retryMaxMs: number;
}

export type ExportMode = 'export' | 'legacy';

/** an export chunk that failed STUCK_AFTER times in a row: its date is not complete until it succeeds */
export interface StuckChunk {
  date: string;
  chunk: string;
  failures: number;
  /** epoch ms of the first failure in the row */
  since: number;
  lastError: string;
}

// a chunk failing this many times in a row is called stuck: logged as an error, listed in status
export const STUCK_AFTER = 5;

export interface ModeChoice {
  mode: ExportMode;
  /** why, for the start log */
  reason: string;
}

export interface ExporterHooks {
  /** extra state ops to write with a batch (the session list for its session.upload events) and what they claim */
  opsFor(kept: DecodedEvent[]): { ops: StateOp[]; claimed: string[] };
  /** called once a batch is durable, with the claims of its opsFor */
  committed(kept: DecodedEvent[], claimed: string[]): void;
  /** the batch failed: give its claims back */
  release(claimed: string[]): void;
  /** progress for status() */
  progress(p: {
    mode?: 'export' | 'legacy';
    date?: string;
    caughtUp?: boolean;
    emitted?: number;
    lastEventTime?: number;
    error?: string;
    stuck?: StuckChunk[];
  }): void;
}

export interface ExporterDeps {
  client: AuditLogClient;
  store: StateStore;
  logger: Logger;
  now: () => number;
  signal: AbortSignal;
  hooks: ExporterHooks;
  /** what a failed call means (explain.ts); default: without the identity and address */
  explain?: Explain;
  /** open streams, for status and the quiet-stream warning */
  streams?: StreamWatch;
}

export const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
export const dateMs = (iso: string): number => Date.parse(`${iso}T00:00:00.000Z`);
export const addDays = (iso: string, n: number): string => isoDate(dateMs(iso) + n * DAY);

/** which event types are shipped: `types` (when set) minus skip-event-types; the others only move the cursor */
export function typeFilter(types: string[], skip: string[]): (type: string) => boolean {
  const want = types.length > 0 ? new Set(types) : undefined;
  const skipSet = new Set(skip);
  if (!want && skipSet.size === 0) return () => true;
  return (type) => (!want || want.has(type)) && !skipSet.has(type);
}

/** the decoded events that are shipped (typeFilter) */
export function selectEvents(events: DecodedEvent[], types: string[], skip: string[]): DecodedEvent[] {
  const ship = typeFilter(types, skip);
  return events.filter((e) => ship(e.type));
}

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

export function createExporter(o: ExporterOptions, d: ExporterDeps) {
  const { client, store, logger, signal, hooks } = d;
  const backoff = new Backoff(o.retryBaseMs, o.retryMaxMs);
  const shipType = typeFilter(o.types, o.skipEventTypes);
  const startMs = o.startTime.getTime();
  const endMs = o.endTime?.getTime() ?? Infinity;
  const explain = d.explain ?? plainExplain;
  // retry cycles that failed for good (exit-on-last-event gives up on them), and the logging of failed calls
  const permanent = new PermanentFailures(o.exitOnLastEvent, o.retryMaxMs, d.now);
  const failureLog = new FailureLog(logger, d.now);
  /** the last failure of the current round, counted once per round */
  let roundProblem: ExplainedError | undefined;
  /** a failed call: explained, recorded for status */
  const failure = (err: unknown) => {
    const x = explain(err, 'events');
    hooks.progress({ error: explainedText(x) });
    roundProblem = x;
    return x;
  };
  /** a call, a round or a page succeeded */
  const success = () => {
    permanent.succeeded();
    failureLog.succeeded();
  };

  /** ships a batch: records for the selected events, with the cursor ops, in one write */
  async function ship(events: DecodedEvent[], cursorOps: StateOp[]): Promise<void> {
    const kept: DecodedEvent[] = [];
    const records: SourceRecord[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      // a chunk holds its whole date: events before the start time are skipped like filtered ones
      if (!(e.time >= startMs) || !(e.time < endMs) || !shipType(e.type)) continue;
      kept.push(e);
      records.push(toSourceRecord(o.eventsTag, e));
    }
    const { ops, claimed } = hooks.opsFor(kept);
    try {
      await store.commit(records, ops.length === 0 ? cursorOps : [...ops, ...cursorOps], signal);
    } catch (err) {
      // the retried batch must carry the session puts again
      hooks.release(claimed);
      throw err;
    }
    if (kept.length > 0) hooks.progress({ emitted: kept.length, lastEventTime: kept[kept.length - 1]!.time });
    hooks.committed(kept, claimed);
  }

  /** GetEventExportChunks(now + 2 days): UNIMPLEMENTED means an auth service without cursor v2 */
  async function probe(): Promise<ExportMode | undefined> {
    const probeBackoff = new Backoff(o.retryBaseMs, o.retryMaxMs);
    while (!signal.aborted) {
      try {
        await client.getEventExportChunks(new Date(d.now() + 2 * DAY), signal);
        return 'export';
      } catch (err) {
        if (isUnimplemented(err)) return 'legacy';
        if (signal.aborted) return undefined;
        const x = failure(err);
        failureLog.failed(x, {}, `${x.summary}; retrying`);
        permanent.failed(x);
        await sleep(probeBackoff.next(), signal);
      }
    }
    return undefined;
  }

  // failures in a row per chunk; a chunk is never skipped (its events would be lost), so one that keeps failing
  // holds its date back: that must be loud, not a warning among retries
  const failing = new Map<string, StuckChunk>();
  const reportStuck = () => hooks.progress({ stuck: [...failing.values()].filter((f) => f.failures >= STUCK_AFTER) });

  /** one chunk from its cursor; 'failed' is counted and logged here and retried by the caller, stop errors propagate */
  async function runChunk(date: string, chunk: string, cursor: string): Promise<'done' | 'failed'> {
    const key = K.chunk(date, chunk);
    const result = await streamChunk(key, date, chunk, cursor);
    if (result.ok) {
      if (failing.delete(key)) reportStuck();
      return 'done';
    }
    const f = failing.get(key) ?? { date, chunk, failures: 0, since: d.now(), lastError: '' };
    f.failures += 1;
    f.lastError = result.error;
    failing.set(key, f);
    const x = result.explained;
    if (f.failures >= STUCK_AFTER) {
      logger.error(
        {
          date,
          chunk,
          failures: f.failures,
          since: new Date(f.since).toISOString(),
          err: result.error,
          ...(x.permanent ? { hint: x.hint } : {}),
        },
        'teleport export chunk keeps failing: its events (and the rest of its date) are not exported until it succeeds; retrying from its saved cursor',
      );
      reportStuck();
    } else {
      failureLog.failed(x, { date, chunk }, 'teleport export chunk failed; it will be retried from its saved cursor');
    }
    return 'failed';
  }

  /** streams one chunk from its cursor; a failure is returned for runChunk to count, stop errors propagate */
  async function streamChunk(
    key: string,
    date: string,
    chunk: string,
    cursor: string,
  ): Promise<{ ok: true } | { ok: false; error: string; explained: ExplainedError }> {
    const watched = d.streams?.track(`export chunk ${chunk} of ${date}`);
    try {
      const stream = client.exportEvents(new Date(dateMs(date)), chunk, cursor, signal);
      for await (const batch of readBatches<WireExportEvent>(
        stream,
        EXPORT_BATCH_MAX,
        LINGER_MS,
        undefined,
        o.streamIdleMs,
      )) {
        watched?.received();
        const events: DecodedEvent[] = [];
        for (let i = 0; i < batch.length; i++) {
          const ev = batch[i]!.event;
          if (ev) events.push(decodeWireEvent(ev, d.now()));
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
      const x = failure(err);
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
        failureLog.failed(failure(err), { date }, 'listing teleport export chunks failed; retrying');
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

  /** the UTC date the export is on: the saved one, else the start time's */
  async function exportDate(): Promise<string> {
    const startDate = isoDate(o.startTime.getTime());
    const saved = await store.get(K.exportDate);
    const date = saved !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(saved) ? saved : startDate;
    return date < startDate ? startDate : date;
  }

  /** the mode of this storage: the stored one, else the one its cursors show (storage older than the key) */
  async function storedMode(): Promise<{ mode: ExportMode; inferred: boolean } | undefined> {
    const v = await store.get(K.mode);
    if (v === 'export' || v === 'legacy') return { mode: v, inferred: false };
    if ((await store.get(K.legacy)) !== undefined) return { mode: 'legacy', inferred: true };
    if ((await store.get(K.exportDate)) !== undefined) return { mode: 'export', inferred: true };
    if ((await store.list(K.chunksPrefix)).length > 0) return { mode: 'export', inferred: true };
    return undefined;
  }

  /**
   * picks the mode at start: the stored one (a legacy storage stays legacy after a teleport upgrade), else the
   * probe's, stored for the next runs. undefined when stopped while probing.
   */
  async function chooseMode(): Promise<ModeChoice | undefined> {
    const stored = await storedMode();
    const keep = (mode: ExportMode) =>
      stored?.inferred ? store.put([{ type: 'put', key: K.mode, value: mode }], signal) : Promise.resolve();
    if (stored?.mode === 'legacy') {
      await keep('legacy');
      return {
        mode: 'legacy',
        reason: 'this storage was started with the legacy event search; kept so the export does not start over',
      };
    }
    const probed = await probe();
    if (!probed) return undefined;
    if (!stored) {
      await store.put([{ type: 'put', key: K.mode, value: probed }], signal);
      return {
        mode: probed,
        reason:
          probed === 'export'
            ? 'first run: the auth service has export chunks (cursor v2)'
            : 'first run: the auth service has no export chunks (cursor v2); using the legacy event search',
      };
    }
    if (probed === 'export') {
      await keep('export');
      return {
        mode: 'export',
        reason: 'this storage was started with the cursor-v2 export; the auth service still has it',
      };
    }
    // a downgrade: the export cursor cannot be used any more. continue with the legacy search from the export
    // date (not the start time), stored as legacy from now on
    const date = await exportDate();
    const from = Math.max(o.startTime.getTime(), dateMs(date));
    await store.put(
      [
        { type: 'put', key: K.mode, value: 'legacy' },
        putJson(K.legacy, { w: from, k: '', id: '' } satisfies LegacyState),
      ],
      signal,
    );
    logger.warn(
      { date, from: new Date(from).toISOString() },
      'teleport auth service no longer has export chunks (cursor v2), downgraded? continuing with the legacy event search from the export date; events of that date may be sent again',
    );
    return {
      mode: 'legacy',
      reason: `the auth service answered UNIMPLEMENTED to the cursor-v2 export this storage used; legacy search from ${date}`,
    };
  }

  async function runExport(): Promise<void> {
    const startDate = isoDate(o.startTime.getTime());
    // a backfill ends with the date of its last millisecond
    const endDate = o.endTime ? isoDate(endMs - 1) : undefined;
    let date = await exportDate();
    while (!signal.aborted) {
      const today = isoDate(d.now());
      hooks.progress({ mode: 'export', date });
      if (date > today) {
        // start time in the future: nothing to export yet
        await sleep(o.pollIntervalMs, signal);
        continue;
      }
      const dates = [addDays(date, -2), addDays(date, -1), date].filter((x) => x >= startDate);
      roundProblem = undefined;
      const { work, failed } = await round(dates);
      if (signal.aborted) return;
      if (failed) {
        // one count per round, however many of its calls failed on the same broken connection
        if (roundProblem) permanent.failed(roundProblem);
        await sleep(backoff.next(), signal);
        continue;
      }
      backoff.reset();
      success();
      hooks.progress({ error: undefined });
      // chunks were streamed: list again at once, more may have appeared meanwhile
      if (work > 0) continue;
      if (endDate !== undefined && date >= endDate && (date < today || endMs + LEGACY_SETTLE_MS <= d.now())) {
        // a backfill's last date read with nothing left: its range is complete
        hooks.progress({ caughtUp: true });
        return;
      }
      if (date < today) {
        const next = addDays(date, 1);
        // the date leaving the polled window no longer needs its chunk states
        const ops: StateOp[] = [{ type: 'put', key: K.exportDate, value: next }];
        for (const row of await store.list(K.chunkPrefix(addDays(date, -2)))) ops.push(del(row.key));
        await store.put(ops, signal);
        logger.info({ date: next }, 'teleport export moved to the next date');
        date = next;
        continue;
      }
      hooks.progress({ caughtUp: true });
      if (o.exitOnLastEvent) return;
      await sleep(o.pollIntervalMs, signal);
    }
  }

  async function runLegacy(): Promise<void> {
    let st: LegacyState = (await store.getJson<LegacyState>(K.legacy)) ?? {
      w: wholeSecondBefore(o.startTime.getTime()),
      k: '',
      id: '',
    };
    while (!signal.aborted) {
      if (st.w >= endMs) {
        hooks.progress({ caughtUp: true });
        return;
      }
      const windowEnd = Math.min(legacyWindowEnd(st.w, o.windowSizeMs), endMs);
      hooks.progress({ mode: 'legacy', date: isoDate(st.w) });
      let page: Awaited<ReturnType<AuditLogClient['searchEvents']>>;
      try {
        page = await client.searchEvents(
          {
            startDate: new Date(st.w),
            endDate: new Date(windowEnd),
            eventTypes: o.types,
            limit: o.batch,
            startKey: st.k,
          },
          signal,
        );
      } catch (err) {
        if (signal.aborted) return;
        const x = failure(err);
        failureLog.failed(x, {}, 'teleport event search failed; retrying');
        permanent.failed(x);
        await sleep(backoff.next(), signal);
        continue;
      }
      backoff.reset();
      success();
      hooks.progress({ error: undefined });
      let items = page.items;
      if (st.id) {
        // a page fetched again: skip what was already sent, up to the last sent id
        const at = items.findIndex((e) => e.id === st.id);
        if (at >= 0) items = items.slice(at + 1);
        else logger.warn({ id: st.id }, 'last sent teleport event not found on its page again; sending the whole page');
      }
      const events = items.map((e) => decodeWireEvent(e, d.now()));
      let next: LegacyState;
      if (page.lastKey) next = { w: st.w, k: page.lastKey, id: '' };
      else next = { w: st.w, k: st.k, id: events.length > 0 ? events[events.length - 1]!.id : st.id };
      const exhausted = !page.lastKey;
      const settled = windowEnd <= d.now() - LEGACY_SETTLE_MS;
      if (exhausted && settled) next = { w: windowEnd, k: '', id: '' };
      if (events.length > 0 || JSON.stringify(next) !== JSON.stringify(st)) {
        await ship(events, [putJson(K.legacy, next)]);
      }
      st = next;
      if (!exhausted || settled) continue;
      hooks.progress({ caughtUp: true });
      if (o.exitOnLastEvent) return;
      await sleep(o.pollIntervalMs, signal);
    }
  }

  return { probe, chooseMode, runExport, runLegacy };
}

/**
 * legacy windows start and end on whole seconds: some backends compare event times in whole seconds, so a window
 * ending at x.5 s (sent as x.499999999) still holds second x, which the next window, starting at x.5, holds again
 */
export function wholeSecondBefore(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/** the end of the legacy window starting at w (exclusive): on a whole second, at least one second after w */
export function legacyWindowEnd(w: number, windowSizeMs: number): number {
  return Math.max(wholeSecondBefore(w) + 1000, wholeSecondBefore(w + windowSizeMs));
}

/** errors that mean stop, not retry: the spool is closing, or our own stop */
export function isStop(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  const name = (err as { name?: string } | null)?.name;
  return code === 'TDF_SPOOL_CLOSED' || name === 'StoppedError';
}
