// session recordings: each `session.upload` event names a recording to stream with
// StreamUnstructuredSessionEvents(sid, saved index). the session's entry is written in the same batch as the
// upload event (a crash never forgets a session); its index moves in the same batch as the events it covers (a
// restart resumes mid-recording without duplicates); it is deleted when the stream ends. a recording not found
// yet (uploads lag) is retried with backoff and given up (logged) once its upload is 48 h old; other failures
// are retried with capped backoff and never dropped. one failing session never stops the others.
import type { Logger } from 'pino';
import type { AuditLogClient, RawEvent } from './client.js';
import { readBatches } from './batches.js';
import { decodeEvent, toSourceRecord, uploadedSessionId, type DecodedEvent } from './events.js';
import { EXPORT_BATCH_MAX, LINGER_MS, isStop } from './exporter.js';
import { Backoff, describeError, isNotFound } from './retry.js';
import { K, del, putJson, type SessionState, type StateStore } from './state.js';
import type { StateOp } from '../../spool/types.js';

export const SESSION_GIVE_UP_MS = 48 * 3600_000;

export interface SessionOptions {
  concurrency: number;
  /** records are tagged `<prefix>.<sid>.log` */
  tagPrefix: string;
  skipSessionTypes: string[];
  retryBaseMs: number;
  retryMaxMs: number;
  giveUpMs: number;
}

export interface SessionDeps {
  client: AuditLogClient;
  store: StateStore;
  logger: Logger;
  now: () => number;
  signal: AbortSignal;
  progress(p: { emitted?: number; finished?: number; gaveUp?: number; error?: string }): void;
}

interface Entry {
  state: SessionState;
  running: boolean;
  /** the last attempt found no recording (yet) */
  notFound: boolean;
  nextTryAt: number;
  backoff: Backoff;
}

export function createSessions(o: SessionOptions, d: SessionDeps) {
  const { client, store, logger, signal } = d;
  const entries = new Map<string, Entry>();
  const skip = new Set(o.skipSessionTypes);
  const registering = new Set<string>();
  let running = 0;
  let timer: NodeJS.Timeout | undefined;
  const inflight = new Set<Promise<void>>();
  let idleWaiters: Array<() => void> = [];

  const entry = (state: SessionState): Entry => ({ state, running: false, notFound: false, nextTryAt: 0, backoff: new Backoff(o.retryBaseMs, o.retryMaxMs) });

  /** state ops for the session.upload events of a batch (sessions not known yet) */
  function opsFor(events: DecodedEvent[]): StateOp[] {
    const ops: StateOp[] = [];
    const seen = new Set<string>();
    for (const e of events) {
      const sid = uploadedSessionId(e);
      if (!sid || entries.has(sid) || registering.has(sid) || seen.has(sid)) continue;
      seen.add(sid);
      // claimed now: a second upload event for it in a concurrent batch must not reset its index
      registering.add(sid);
      ops.push(putJson(K.session(sid), { i: 0, t: e.time } satisfies SessionState));
    }
    return ops;
  }

  /** after the batch holding their upload events is durable */
  function registerFrom(events: DecodedEvent[]): void {
    for (const e of events) {
      const sid = uploadedSessionId(e);
      if (!sid || entries.has(sid)) continue;
      registering.delete(sid);
      entries.set(sid, entry({ i: 0, t: e.time }));
    }
    pump();
  }

  async function load(): Promise<void> {
    for (const row of await store.list(K.sessionPrefix)) {
      const sid = row.key.slice(K.sessionPrefix.length);
      try {
        const st = JSON.parse(row.value) as SessionState;
        entries.set(sid, entry({ i: Number(st.i) || 0, t: Number(st.t) || d.now() }));
      } catch {
        entries.set(sid, entry({ i: 0, t: d.now() }));
      }
    }
    if (entries.size > 0) logger.info({ count: entries.size }, 'resuming teleport session recordings from saved state');
    pump();
  }

  /** nothing streaming, and nothing left but recordings not found yet (those can take hours to appear) */
  function isIdle(): boolean {
    return running === 0 && [...entries.values()].every((e) => e.notFound);
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
    try {
      const stream = client.streamSessionEvents(sid, e.state.i, signal);
      for await (const batch of readBatches<RawEvent>(stream, EXPORT_BATCH_MAX, LINGER_MS)) {
        const events = batch.map((x) => decodeEvent(x, d.now()));
        const kept = events.filter((x) => !skip.has(x.type));
        let next = e.state.i;
        for (const x of events) if (Number.isFinite(x.index)) next = Math.max(next, x.index + 1);
        const state: SessionState = { i: next, t: e.state.t };
        await store.commit(kept.map((x) => toSourceRecord(tag, x)), [putJson(key, state)], signal);
        e.state = state;
        e.backoff.reset();
        if (kept.length > 0) d.progress({ emitted: kept.length });
      }
      await store.put([del(key)], signal);
      entries.delete(sid);
      d.progress({ finished: 1 });
      logger.debug({ sid }, 'teleport session recording shipped');
    } catch (err) {
      if (signal.aborted || isStop(err)) return;
      const notFound = isNotFound(err);
      const why = notFound ? 'recording not found' : describeError(err);
      // only a missing recording is given up on, once its upload is old: it will never appear. other errors
      // (auth service down, permissions being fixed) are retried with capped backoff, never dropped
      if (notFound && d.now() - e.state.t >= o.giveUpMs) {
        logger.error(
          { sid, index: e.state.i, uploadedAt: new Date(e.state.t).toISOString(), err: why },
          `giving up on teleport session recording: not found, and its upload is more than ${Math.round(o.giveUpMs / 3600_000)} h old`,
        );
        try {
          await store.put([del(key)], signal);
        } catch (e2) {
          if (!isStop(e2)) logger.warn({ sid, err: describeError(e2) }, 'could not drop the session from state');
          return;
        }
        entries.delete(sid);
        d.progress({ gaveUp: 1 });
        return;
      }
      e.notFound = notFound;
      const delay = e.backoff.next();
      e.nextTryAt = d.now() + delay;
      d.progress({ error: why });
      logger.warn({ sid, index: e.state.i, retryInMs: Math.round(delay), err: why }, 'teleport session recording failed; will retry');
    }
  }

  return {
    opsFor,
    registerFrom,
    load,
    /** resolves when no recording is streaming or retrying, but for those not found yet (they stay in state) */
    idle(): Promise<void> {
      if (isIdle() || signal.aborted) return Promise.resolve();
      return new Promise((resolve) => {
        idleWaiters.push(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    },
    stats: () => ({ active: running, pending: entries.size - running }),
    async stop(): Promise<void> {
      if (timer) clearTimeout(timer);
      await Promise.allSettled([...inflight]);
      for (const f of idleWaiters) f();
      idleWaiters = [];
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
