// the policy for events older than the age datadog indexes as current: restamp, keep or drop them, count each
// in the router's stats, and log how many, the first at once and the rest at most once an interval. pure apart
// from the logger and timer it is given.

import type { SourceRecord } from '../record.js';
import { formatDuration, goDuration } from '../format.js';
import { LogInterval } from '../log.js';
import { ROUTER_DEFAULTS } from './defaults.js';
import { isoTime } from './serialize.js';

export type OldTimestampPolicy = 'restamp' | 'keep' | 'drop';

/** the router's counts of old events, which this policy keeps */
export interface OldTimestampCounts {
  oldRestamped: number;
  oldKept: number;
  oldDropped: number;
}

export interface OldTimestampsOptions {
  policy: OldTimestampPolicy;
  maxAgeMs: number;
  /** counted into, and their totals logged: the router's own stats object */
  stats: OldTimestampCounts;
  now: () => number;
  /** runs fn once after ms and returns its cancel; default: an unref'd setTimeout */
  setTimer?: (fn: () => void, ms: number) => () => void;
  /** where the counts are logged; none: counted only, no timer set */
  info?: (obj: object, msg: string) => void;
}

export interface OldTimestamps {
  /** what to do with an old event `rec`, seen at time t; counts it and logs when due */
  apply(rec: SourceRecord, t: number): OldTimestampPolicy;
  /** logs the count not logged yet (nothing when there is none) and cancels the timer */
  flush(): void;
}

export function createOldTimestamps(o: OldTimestampsOptions): OldTimestamps {
  const { stats, now, info, maxAgeMs } = o;
  const oldPolicy = o.policy;
  const setTimer = o.setTimer ?? unrefTimer;
  const oldInterval = ROUTER_DEFAULTS.oldLogIntervalMs;
  const oldLog = new LogInterval(oldInterval);
  // old events not logged yet, the time of the first of them, and the end-of-interval timer that logs them
  let oldPending = 0;
  let oldPendingSample: number | undefined;
  let cancelOldTimer: (() => void) | undefined;

  // a backfill must not vanish silently: apply the policy and say how many events it touched. the first old
  // event is logged at once (the policy is seen to be active); later ones are counted and logged when the
  // interval ends or at flush(), so the logged counts add up to the stats
  function old(rec: SourceRecord, t: number): 'drop' | 'keep' | 'restamp' {
    let action: 'drop' | 'keep' | 'restamp' = 'restamp';
    if (oldPolicy === 'drop') {
      stats.oldDropped += 1;
      action = 'drop';
    } else if (oldPolicy === 'keep') {
      stats.oldKept += 1;
      action = 'keep';
    } else stats.oldRestamped += 1;
    if (info) {
      oldPending += 1;
      if (oldPending === 1) oldPendingSample = rec.time;
      if (oldLog.due(t)) logOld(t);
      // the clock can step back: never wait longer than one interval
      else cancelOldTimer ??= setTimer(onOldTimer, Math.min(oldInterval, oldLog.lastAt + oldInterval - t));
    }
    return action;
  }

  function onOldTimer(): void {
    cancelOldTimer = undefined;
    if (oldPending > 0) logOld(now());
  }

  function logOld(t: number): void {
    if (cancelOldTimer) {
      cancelOldTimer();
      cancelOldTimer = undefined;
    }
    const first = oldLog.lastAt === -Infinity;
    const periodMs = first ? 0 : Math.max(0, t - oldLog.lastAt);
    const n = oldPending;
    const what =
      oldPolicy === 'restamp'
        ? 'sent stamped now, with original_timestamp'
        : oldPolicy === 'drop'
          ? 'dropped'
          : 'sent as they are';
    const when = first ? '' : ` in the last ${formatDuration(periodMs / 1000)}`;
    const next = first ? `; later counts follow at most every ${goDuration(oldInterval)}` : '';
    info?.(
      {
        events: n,
        policy: oldPolicy,
        maxAgeMs,
        periodMs,
        sampleTime: isoTime(oldPendingSample ?? NaN),
        // the running totals apart, so the line has one count: the events of this period
        sinceStart: { restamped: stats.oldRestamped, kept: stats.oldKept, dropped: stats.oldDropped },
      },
      `routing.old-timestamps = ${String(oldPolicy)}: ${n} ${n === 1 ? 'event' : 'events'} older than ${goDuration(maxAgeMs)}${when} (routing.max-age, a margin under the 18 h Datadog indexes logs for as current): ${what}${next}`,
    );
    oldLog.mark(t);
    oldPending = 0;
    oldPendingSample = undefined;
  }

  return {
    apply: old,
    flush(): void {
      if (oldPending > 0) logOld(now());
      else if (cancelOldTimer) {
        cancelOldTimer();
        cancelOldTimer = undefined;
      }
    },
  };
}

function unrefTimer(fn: () => void, ms: number): () => void {
  const h = setTimeout(fn, ms);
  h.unref();
  return () => clearTimeout(h);
}
