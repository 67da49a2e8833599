// session recordings: each `session.upload` event names a recording to stream with
// StreamUnstructuredSessionEvents(sid, saved index). the session's entry is written in the same batch as the
// upload event (a crash never forgets a session); its index moves in the same batch as the events it covers (a
// restart resumes mid-recording without duplicates); it is deleted when the stream ends. a recording not found
// yet (uploads lag) is retried with backoff and given up (logged) once it has been not found for 48 h, counted
// from its first NOT_FOUND: that time is saved in its entry, so a restart does not start the count again, and
// an old upload (a backfill from an old start-time) is not dropped on one passing NOT_FOUND. other failures are
// retried with capped backoff and never dropped. one failing session never stops the others.
// exit-on-last-event does not wait for recordings not found yet, nor for those that failed EXIT_AFTER_ATTEMPTS
// times in a row (the go handler gives up after 3): they stay in state and resume on the next run.
import type { Logger } from '../../log.js';
import type { AuditLogClient } from './client.js';
import type { WireEvent } from './decoder.js';
import { readBatches } from './batches.js';
import type { StreamWatch } from './streams.js';
import { decodeWireEvent, toSourceRecord, uploadedSessionId, type DecodedEvent } from './events.js';
import { EXPORT_BATCH_MAX, LINGER_MS, isStop } from './exporter.js';
import { Backoff } from '../../backoff.js';
import { describeError, isNotFound } from './retry.js';
import { FailureLog, explainedText, plainExplain, type Explain, type ExplainedError } from './explain.js';
import { K, del, putJson, type SessionState, type StateStore } from './state.js';
import type { StateOp } from '../../spool/types.js';

/** a recording exit-on-last-event did not wait for; it stays in state for the next run */
export interface LeftBehind {
  sid: string;
  index: number;
  attempts: number;
  err: string;
  problem?: ExplainedError;
}

/** how long a recording may stay not found, from its first NOT_FOUND, before it is given up */
export const SESSION_GIVE_UP_MS = 48 * 3600_000;
/** failed attempts in a row after which a recording no longer holds back exit-on-last-event */
export const EXIT_AFTER_ATTEMPTS = 3;

export interface SessionOptions {
  concurrency: number;
  /** records are tagged `<prefix>.<sid>.log` */
  tagPrefix: string;
  skipSessionTypes: string[];
  retryBaseMs: number;
  retryMaxMs: number;
  giveUpMs: number;
  /** a recording stream that sends nothing this long is cancelled and retried from its saved index */
  streamIdleMs: number;
}

export interface SessionDeps {
  client: AuditLogClient;
  store: StateStore;
  logger: Logger;
  now: () => number;
  signal: AbortSignal;
  progress(p: { emitted?: number; finished?: number; gaveUp?: number; error?: string }): void;
  /** what a failed stream means (explain.ts) */
  explain?: Explain;
  /** open streams, for status and the quiet-stream warning */
  streams?: StreamWatch;
}

interface Entry {
  state: SessionState;
  running: boolean;
  /** the last attempt found no recording (yet) */
  notFound: boolean;
  /** failed attempts in a row, and the last one's error */
  failures: number;
  lastError: string;
  /** the last failure, explained (not for a recording not found) */
  problem?: ExplainedError;
  /** not found yet, or failed EXIT_AFTER_ATTEMPTS times in a row: counts as idle for exit-on-last-event */
  parked: boolean;
  nextTryAt: number;
  backoff: Backoff;
}

export function createSessions(o: SessionOptions, d: SessionDeps) {
  const { client, store, logger, signal } = d;
  // one error with what to do per problem (every few minutes), not one per recording per retry
  const failureLog = new FailureLog(logger, d.now);
  const entries = new Map<string, Entry>();
  const skip = new Set(o.skipSessionTypes);
  /** sid -> upload time, for sessions whose state put is in a batch not yet durable */
  const registering = new Map<string, number>();
  let running = 0;
  /** entries with `parked` set: kept as a count so the idle check costs nothing per pump */
  let parkedCount = 0;
  let timer: NodeJS.Timeout | undefined;
  const inflight = new Set<Promise<void>>();
  let idleWaiters: Array<() => void> = [];

  const entry = (state: SessionState): Entry => ({
    state,
    running: false,
    notFound: false,
    failures: 0,
    lastError: '',
    parked: false,
    nextTryAt: 0,
    backoff: new Backoff(o.retryBaseMs, o.retryMaxMs),
  });

  function add(sid: string, e: Entry): void {
    entries.set(sid, e);
    if (e.parked) parkedCount++;
  }

  function remove(sid: string): void {
    const e = entries.get(sid);
    if (e?.parked) parkedCount--;
    entries.delete(sid);
  }

  function setParked(e: Entry, parked: boolean): void {
    if (e.parked === parked) return;
    e.parked = parked;
    parkedCount += parked ? 1 : -1;
  }

  /**
   * state ops for the session.upload events of a batch (sessions not known yet), and the sids they claim. a
   * claimed sid is registered by registerFrom once that batch is durable, or released if it failed; the same
   * upload in a concurrent batch is not claimed twice (its index must not be reset).
   */
  function opsFor(events: DecodedEvent[]): { ops: StateOp[]; claimed: string[] } {
    const ops: StateOp[] = [];
    const claimed: string[] = [];
    for (const e of events) {
      const sid = uploadedSessionId(e);
      if (!sid || entries.has(sid) || registering.has(sid)) continue;
      registering.set(sid, e.time);
      claimed.push(sid);
      ops.push(putJson(K.session(sid), { i: 0, t: e.time } satisfies SessionState));
    }
    return { ops, claimed };
  }

  /** the batch holding these claims is durable: their recordings can be streamed */
  function registerFrom(claimed: string[]): void {
    for (const sid of claimed) {
      const t = registering.get(sid);
      if (t === undefined) continue;
      registering.delete(sid);
      if (!entries.has(sid)) add(sid, entry({ i: 0, t }));
    }
    pump();
  }

  /** the batch holding these claims failed: its retry (or a concurrent batch) claims them again */
  function release(claimed: string[]): void {
    for (const sid of claimed) registering.delete(sid);
  }

  async function load(): Promise<void> {
    for (const row of await store.list(K.sessionPrefix)) {
      const sid = row.key.slice(K.sessionPrefix.length);
      try {
        const st = JSON.parse(row.value) as SessionState;
        // an nf that is not a time is dropped: the count starts again (later, never sooner)
        const nf = typeof st.nf === 'number' && Number.isFinite(st.nf) && st.nf > 0 ? { nf: st.nf } : {};
        add(sid, entry({ i: Number(st.i) || 0, t: Number(st.t) || d.now(), ...nf }));
      } catch {
        add(sid, entry({ i: 0, t: d.now() }));
      }
    }
    if (entries.size > 0) logger.info({ count: entries.size }, 'resuming teleport session recordings from saved state');
    pump();
  }

  /**
   * nothing streaming, and nothing left but recordings not found yet (those can take hours to appear) or
   * failing again and again (permissions, a broken recording): exit-on-last-event must not wait for them forever
   */
  function isIdle(): boolean {
    return running === 0 && parkedCount === entries.size;
  }

  function pump(): void {
    if (signal.aborted) return;
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    const now = d.now();
    let soonest = Infinity;
    for (const [sid, e] of entries) {
      if (e.running) continue;
      if (e.nextTryAt > now) {
        soonest = Math.min(soonest, e.nextTryAt);
        continue;
      }
      if (running >= o.concurrency) break;
      e.running = true;
      running++;
      const p = run(sid, e).finally(() => {
        e.running = false;
        running--;
        inflight.delete(p);
        pump();
      });
      inflight.add(p);
    }
    if (soonest !== Infinity && !signal.aborted) {
      timer = setTimeout(pump, Math.max(0, soonest - now));
      timer.unref?.();
    }
    if (isIdle()) {
      const w = idleWaiters;
      idleWaiters = [];
      for (const f of w) f();
    }
  }

  async function run(sid: string, e: Entry): Promise<void> {
    const key = K.session(sid);
    const tag = `${o.tagPrefix}.${sid}.log`;
    const watched = d.streams?.track(`session recording ${sid}`);
    try {
      const stream = client.streamSessionEvents(sid, e.state.i, signal);
      for await (const batch of readBatches<WireEvent>(
        stream,
        EXPORT_BATCH_MAX,
        LINGER_MS,
        undefined,
        o.streamIdleMs,
      )) {
        watched?.received();
        const now = d.now();
        const events = batch.map((x) => decodeWireEvent(x, now));
        const kept = events.filter((x) => !skip.has(x.type));
        let next = e.state.i;
        for (const x of events) if (Number.isFinite(x.index)) next = Math.max(next, x.index + 1);
        // found: a not-found count (nf) ends here
        const state: SessionState = { i: next, t: e.state.t };
        await store.commit(
          kept.map((x) => toSourceRecord(tag, x)),
          [putJson(key, state)],
          signal,
        );
        e.state = state;
        e.backoff.reset();
        e.failures = 0;
        setParked(e, false);
        if (kept.length > 0) d.progress({ emitted: kept.length });
        watched?.reading();
      }
      await store.put([del(key)], signal);
      remove(sid);
      d.progress({ finished: 1 });
      logger.debug({ sid }, 'teleport session recording shipped');
    } catch (err) {
      if (signal.aborted || isStop(err)) return;
      const notFound = isNotFound(err);
      const x = notFound ? undefined : (d.explain ?? plainExplain)(err, 'sessions');
      const why = x ? x.err : 'recording not found';
      e.notFound = notFound;
      e.failures++;
      e.lastError = why;
      e.problem = x;
      setParked(e, notFound || e.failures >= EXIT_AFTER_ATTEMPTS);
      if (notFound && e.state.nf === undefined) {
        // the give-up counts from here, not from the upload: saved, so a restart keeps counting from it
        const state: SessionState = { ...e.state, nf: d.now() };
        try {
          await store.put([putJson(key, state)], signal);
          e.state = state;
        } catch (e2) {
          if (signal.aborted || isStop(e2)) return;
          // unsaved, the count starts at a later NOT_FOUND: a longer wait, never a shorter one
          logger.warn(
            { sid, err: describeError(e2) },
            'could not save when the session recording was first not found; will retry',
          );
        }
      }
      // only a recording missing for giveUpMs is given up on: it will never appear. other errors (auth service
      // down, permissions being fixed) are retried with capped backoff, never dropped
      if (notFound && e.state.nf !== undefined && d.now() - e.state.nf >= o.giveUpMs) {
        logger.error(
          {
            sid,
            index: e.state.i,
            uploadedAt: new Date(e.state.t).toISOString(),
            notFoundSince: new Date(e.state.nf).toISOString(),
            attempts: e.failures,
            err: why,
          },
          `giving up on teleport session recording: not found for more than ${Math.round(o.giveUpMs / 3600_000)} h since its first NOT_FOUND`,
        );
        try {
          await store.put([del(key)], signal);
        } catch (e2) {
          if (signal.aborted || isStop(e2)) return;
          // not at once: pump would run it again in a tight loop
          const delay = e.backoff.next();
          e.nextTryAt = d.now() + delay;
          logger.warn(
            { sid, retryInMs: Math.round(delay), err: describeError(e2) },
            'could not drop the session from state; will retry',
          );
          return;
        }
        remove(sid);
        d.progress({ gaveUp: 1 });
        return;
      }
      const delay = e.backoff.next();
      e.nextTryAt = d.now() + delay;
      d.progress({ error: x ? explainedText(x) : why });
      const fields = { sid, index: e.state.i, attempts: e.failures, retryInMs: Math.round(delay) };
      if (x) failureLog.failed(x, fields, 'teleport session recording failed; will retry');
      else logger.warn({ ...fields, err: why }, 'teleport session recording failed; will retry');
    } finally {
      watched?.done();
    }
  }

  return {
    opsFor,
    registerFrom,
    release,
    load,
    /**
     * resolves when no recording is streaming or retrying, but for those not found yet or failing again and
     * again (they stay in state; see leftBehind)
     */
    idle(): Promise<void> {
      if (isIdle() || signal.aborted) return Promise.resolve();
      return new Promise((resolve) => {
        idleWaiters.push(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    },
    stats: () => ({ active: running, pending: entries.size - running }),
    /** recordings still in state and waiting to be retried, with their last error (for the exit log) */
    leftBehind(): LeftBehind[] {
      const out: LeftBehind[] = [];
      for (const [sid, e] of entries)
        if (!e.running) out.push({ sid, index: e.state.i, attempts: e.failures, err: e.lastError, problem: e.problem });
      return out;
    },
    async stop(): Promise<void> {
      if (timer) clearTimeout(timer);
      await Promise.allSettled([...inflight]);
      for (const f of idleWaiters) f();
      idleWaiters = [];
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
