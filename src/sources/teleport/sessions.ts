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
// the table of recordings is recordings.ts, one attempt at one recording recording.ts.
import type { PollerContext } from './context.js';
import type { DecodedEvent } from './events.js';
import { FailureLog } from './explain.js';
import { streamRecording, type RecordingDeps, type SessionProgress } from './recording.js';
import { Recordings, type LeftBehind } from './recordings.js';
import { K, type SessionState } from './state.js';

export function createSessions(ctx: PollerContext, progress: (p: SessionProgress) => void) {
  const { store, logger, signal } = ctx;
  const o = ctx.options;
  const table = new Recordings(o.sessionRetryBaseMs, o.sessionRetryMaxMs);
  const { entries } = table;
  const r: RecordingDeps = {
    ctx,
    table,
    skip: new Set(o.skipSessionTypes),
    // one error with what to do per problem (every few minutes), not one per recording per retry
    failureLog: new FailureLog(logger, ctx.now),
    progress,
  };
  let timer: NodeJS.Timeout | undefined;
  const inflight = new Set<Promise<void>>();
  let idleWaiters: Array<() => void> = [];

  async function load(): Promise<void> {
    for (const row of await store.list(K.sessionPrefix)) {
      const sid = row.key.slice(K.sessionPrefix.length);
      try {
        const st = JSON.parse(row.value) as SessionState;
        // an nf that is not a time is dropped: the count starts again (later, never sooner)
        const nf = typeof st.nf === 'number' && Number.isFinite(st.nf) && st.nf > 0 ? { nf: st.nf } : {};
        table.add(sid, table.entry({ i: Number(st.i) || 0, t: Number(st.t) || ctx.now(), ...nf }));
      } catch {
        table.add(sid, table.entry({ i: 0, t: ctx.now() }));
      }
    }
    if (entries.size > 0) logger.info({ count: entries.size }, 'resuming teleport session recordings from saved state');
    pump();
  }

  function pump(): void {
    if (signal.aborted) return;
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    const now = ctx.now();
    let soonest = Infinity;
    for (const [sid, e] of entries) {
      if (e.running) continue;
      if (e.nextTryAt > now) {
        soonest = Math.min(soonest, e.nextTryAt);
        continue;
      }
      if (table.running >= o.concurrency) break;
      e.running = true;
      table.running++;
      const p = streamRecording(r, sid, e).finally(() => {
        e.running = false;
        table.running--;
        inflight.delete(p);
        pump();
      });
      inflight.add(p);
    }
    if (soonest !== Infinity && !signal.aborted) {
      timer = setTimeout(pump, Math.max(0, soonest - now));
      timer.unref?.();
    }
    if (table.isIdle()) {
      const w = idleWaiters;
      idleWaiters = [];
      for (const f of w) f();
    }
  }

  return {
    /** state ops for a batch's session.upload events, and the sids they claim (recordings.ts) */
    opsFor: (events: DecodedEvent[]) => table.opsFor(events),
    /** the batch holding these claims is durable: their recordings can be streamed */
    registerFrom(claimed: string[]): void {
      table.registerFrom(claimed);
      pump();
    },
    /** the batch holding these claims failed: its retry (or a concurrent batch) claims them again */
    release: (claimed: string[]) => table.release(claimed),
    load,
    /**
     * resolves when no recording is streaming or retrying, but for those not found yet or failing again and
     * again (they stay in state; see leftBehind)
     */
    idle(): Promise<void> {
      if (table.isIdle() || signal.aborted) return Promise.resolve();
      return new Promise((resolve) => {
        idleWaiters.push(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    },
    stats: () => ({ active: table.running, pending: entries.size - table.running }),
    /** recordings still in state and waiting to be retried, with their last error (for the exit log) */
    leftBehind: (): LeftBehind[] => table.leftBehind(),
    async stop(): Promise<void> {
      if (timer) clearTimeout(timer);
      await Promise.allSettled([...inflight]);
      for (const f of idleWaiters) f();
      idleWaiters = [];
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
