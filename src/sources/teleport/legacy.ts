// the legacy export, for auth services without export chunks: a paged search over windows of window-size from
// the start time. the cursor (window start, page key, last sent id) moves in the write that ships the page.
import type { AuditLogClient } from './client.js';
import { isoDate } from './dates.js';
import { decodeWireEvent } from './events.js';
import type { ExportCore } from './handoff.js';
import { sleep } from '../../sleep.js';
import { K, putJson, type LegacyState } from './state.js';

/** a legacy window is left only once its end is this far in the past (late-indexed events) */
export const LEGACY_SETTLE_MS = 60_000;

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

export async function runLegacy(core: ExportCore): Promise<void> {
  const { ctx, run, hooks, ship, failures, backoff } = core;
  const { client, store, logger, signal } = ctx;
  const o = ctx.options;
  const endMs = run.endTime?.getTime() ?? Infinity;
  let st: LegacyState = (await store.getJson<LegacyState>(K.legacy)) ?? {
    w: wholeSecondBefore(run.startTime.getTime()),
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
          eventTypes: run.types,
          limit: o.batch,
          startKey: st.k,
        },
        signal,
      );
    } catch (err) {
      if (signal.aborted) return;
      const x = failures.failed(err);
      failures.log.failed(x, {}, 'teleport event search failed; retrying');
      failures.permanent.failed(x);
      await sleep(backoff.next(), signal);
      continue;
    }
    backoff.reset();
    failures.succeeded();
    hooks.progress({ error: undefined });
    let items = page.items;
    if (st.id) {
      // a page fetched again: skip what was already sent, up to the last sent id
      const at = items.findIndex((e) => e.id === st.id);
      if (at >= 0) items = items.slice(at + 1);
      else logger.warn({ id: st.id }, 'last sent teleport event not found on its page again; sending the whole page');
    }
    const events = items.map((e) => decodeWireEvent(e, ctx.now()));
    let next: LegacyState;
    if (page.lastKey) next = { w: st.w, k: page.lastKey, id: '' };
    else next = { w: st.w, k: st.k, id: events.length > 0 ? events[events.length - 1]!.id : st.id };
    const exhausted = !page.lastKey;
    const settled = windowEnd <= ctx.now() - LEGACY_SETTLE_MS;
    if (exhausted && settled) next = { w: windowEnd, k: '', id: '' };
    if (events.length > 0 || JSON.stringify(next) !== JSON.stringify(st)) {
      await ship(events, [putJson(K.legacy, next)]);
    }
    st = next;
    if (!exhausted || settled) continue;
    hooks.progress({ caughtUp: true });
    if (run.exitOnLastEvent) return;
    await sleep(o.pollIntervalMs, signal);
  }
}
