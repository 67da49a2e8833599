// the live poller's cursor, for `cursor show` and `cursor set --start-time`. pure: it reads the state rows and
// returns what moving the start time does (what is skipped, what is sent again) and the ops that do it. the
// recordings in progress are kept; the job cursors (backfill/) are not the live poller's and are not touched.
import type { StateOp } from '../spool/types.js';
import { K } from '../sources/teleport/state.js';
import { dateMs, isoDate } from '../sources/teleport/dates.js';
import { iso } from './range.js';

export interface LiveCursor {
  startTime: string | null;
  mode: 'export' | 'legacy' | null;
  /** epoch ms: the poller has read everything before this (the export date's start, the legacy window's) */
  position: number | null;
  /** how the position is held, in words */
  describe: string;
  sessionsPending: number;
}

export function liveCursor(rows: ReadonlyArray<{ key: string; value: string }>): LiveCursor {
  const byKey = new Map(rows.map((r) => [r.key, r.value] as const));
  const startTime = byKey.get(K.startTime) ?? null;
  const m = byKey.get(K.mode);
  const sessionsPending = rows.filter((r) => r.key.startsWith(K.sessionPrefix)).length;
  const start = startTime === null ? null : Date.parse(startTime);
  const legacyText = byKey.get(K.legacy);
  if (m === 'legacy' || (m === undefined && legacyText !== undefined)) {
    let w: number | null = null;
    try {
      const l = JSON.parse(legacyText ?? '') as { w?: unknown };
      if (typeof l.w === 'number' && Number.isFinite(l.w)) w = l.w;
    } catch {
      // no window yet
    }
    const position = w ?? start;
    return {
      startTime,
      mode: 'legacy',
      position,
      describe: position === null ? 'no window read yet' : `legacy search window from ${iso(position)}`,
      sessionsPending,
    };
  }
  const date = byKey.get(K.exportDate);
  if (m === 'export' || date !== undefined) {
    const position = date !== undefined ? Math.max(dateMs(date), start ?? 0) : start;
    return {
      startTime,
      mode: 'export',
      position,
      describe: date !== undefined ? `export on ${date} (with its two previous dates polled)` : 'export not begun',
      sessionsPending,
    };
  }
  return {
    startTime,
    mode: null,
    position: start,
    describe: 'nothing exported yet',
    sessionsPending,
  };
}

export interface CursorMove {
  to: number;
  /** the times whose events are skipped (never sent) or sent again, in words */
  effect: string;
  skipped: { from: number; to: number } | null;
  again: { from: number; to: number } | null;
  ops: StateOp[];
}

/**
 * moves the live poller to start at `to`: start-time stored (marked as moved, so the configured one no longer
 * conflicts), the export date or legacy window set to it, the chunk cursors dropped
 */
export function planCursorMove(
  rows: ReadonlyArray<{ key: string; value: string }>,
  to: number,
  now: number,
): CursorMove {
  const c = liveCursor(rows);
  const ops: StateOp[] = [
    { type: 'put', key: K.startTime, value: iso(to) },
    { type: 'put', key: K.startTimeMoved, value: iso(now) },
  ];
  if (c.mode === 'export') {
    ops.push({ type: 'put', key: K.exportDate, value: isoDate(to) });
    for (const r of rows) if (r.key.startsWith(K.chunksPrefix)) ops.push({ type: 'del', key: r.key });
  } else if (c.mode === 'legacy') {
    ops.push({ type: 'put', key: K.legacy, value: JSON.stringify({ w: to, k: '', id: '' }) });
  }
  const read = c.position ?? (c.startTime === null ? null : Date.parse(c.startTime));
  let skipped: CursorMove['skipped'] = null;
  let again: CursorMove['again'] = null;
  let effect: string;
  if (read === null || c.mode === null) {
    effect = `nothing was exported yet: the poller starts at ${iso(to)}`;
    if (read !== null && to > read) skipped = { from: read, to };
  } else if (to > read) {
    skipped = { from: read, to };
    effect = `events from ${iso(read)} to ${iso(to)} not shipped yet are skipped (never sent; \`backfill\` can send them later)`;
  } else {
    again = { from: to, to: Math.min(now, Math.max(read, to)) };
    effect =
      `events from ${iso(to)} on are read again: those the poller shipped (up to ${iso(read)} and ` +
      `part of the ${c.mode === 'export' ? 'date' : 'window'} it is on) are sent twice`;
  }
  return { to, effect, skipped, again, ops };
}
