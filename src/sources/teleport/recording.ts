// one attempt at one session recording: stream it from its saved index, each batch with the index that moves past
// it; on failure, count it, save when it was first not found, give up after sessionGiveUpMs not found, else
// schedule the retry (see sessions.ts for the rules).
import type { PollerContext } from './context.js';
import type { WireEvent } from './decoder.js';
import { EXPORT_BATCH_MAX, LINGER_MS, readBatches } from './batches.js';
import { decodeWireEvent, toSourceRecord } from './events.js';
import { explainedText, plainExplain, type FailureLog } from './explain.js';
import type { Entry, Recordings } from './recordings.js';
import { describeError, isNotFound, isStop } from './retry.js';
import { K, del, putJson, type SessionState } from './state.js';

/** failed attempts in a row after which a recording no longer holds back exit-on-last-event */
export const EXIT_AFTER_ATTEMPTS = 3;

export interface SessionProgress {
  emitted?: number;
  finished?: number;
  gaveUp?: number;
  error?: string;
}

/** what every attempt shares */
export interface RecordingDeps {
  ctx: PollerContext;
  table: Recordings;
  /** the event types of recordings not shipped (skip-session-types) */
  skip: Set<string>;
  failureLog: FailureLog;
  progress(p: SessionProgress): void;
}

export async function streamRecording(r: RecordingDeps, sid: string, e: Entry): Promise<void> {
  const { ctx, table, skip, failureLog } = r;
  const { client, store, logger, signal } = ctx;
  const o = ctx.options;
  const key = K.session(sid);
  const tag = `${o.sessionTagPrefix}.${sid}.log`;
  const watched = ctx.streams?.track(`session recording ${sid}`);
  try {
    const stream = client.streamSessionEvents(sid, e.state.i, signal);
    for await (const batch of readBatches<WireEvent>(
      stream,
      EXPORT_BATCH_MAX,
      LINGER_MS,
      undefined,
      o.streamIdleTimeoutMs,
    )) {
      watched?.received();
      const now = ctx.now();
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
      table.setParked(e, false);
      if (kept.length > 0) r.progress({ emitted: kept.length });
      watched?.reading();
    }
    await store.put([del(key)], signal);
    table.remove(sid);
    r.progress({ finished: 1 });
    logger.debug({ sid }, 'teleport session recording shipped');
  } catch (err) {
    if (signal.aborted || isStop(err)) return;
    const notFound = isNotFound(err);
    const x = notFound ? undefined : (ctx.explain ?? plainExplain)(err, 'sessions');
    const why = x ? x.err : 'recording not found';
    e.notFound = notFound;
    e.failures++;
    e.lastError = why;
    e.problem = x;
    table.setParked(e, notFound || e.failures >= EXIT_AFTER_ATTEMPTS);
    if (notFound && e.state.nf === undefined) {
      // the give-up counts from here, not from the upload: saved, so a restart keeps counting from it
      const state: SessionState = { ...e.state, nf: ctx.now() };
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
    if (notFound && e.state.nf !== undefined && ctx.now() - e.state.nf >= o.sessionGiveUpMs) {
      logger.error(
        {
          sid,
          index: e.state.i,
          uploadedAt: new Date(e.state.t).toISOString(),
          notFoundSince: new Date(e.state.nf).toISOString(),
          attempts: e.failures,
          err: why,
        },
        `giving up on teleport session recording: not found for more than ${Math.round(o.sessionGiveUpMs / 3600_000)} h since its first NOT_FOUND`,
      );
      try {
        await store.put([del(key)], signal);
      } catch (e2) {
        if (signal.aborted || isStop(e2)) return;
        // not at once: pump would run it again in a tight loop
        const delay = e.backoff.next();
        e.nextTryAt = ctx.now() + delay;
        logger.warn(
          { sid, retryInMs: Math.round(delay), err: describeError(e2) },
          'could not drop the session from state; will retry',
        );
        return;
      }
      table.remove(sid);
      r.progress({ gaveUp: 1 });
      return;
    }
    const delay = e.backoff.next();
    e.nextTryAt = ctx.now() + delay;
    r.progress({ error: x ? explainedText(x) : why });
    const fields = { sid, index: e.state.i, attempts: e.failures, retryInMs: Math.round(delay) };
    if (x) failureLog.failed(x, fields, 'teleport session recording failed; will retry');
    else logger.warn({ ...fields, err: why }, 'teleport session recording failed; will retry');
  } finally {
    watched?.done();
  }
}
