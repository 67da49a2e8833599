// the exporter's hand-off: a batch of audit events goes to the spool in the same synced write as the cursor that
// moves past it (and the session entries its uploads start), so a restart neither loses nor re-sends an event.
// also what the exporter's parts (chunks.ts, legacy.ts, mode.ts) share.
import type { SourceRecord } from '../../record.js';
import type { StateOp } from '../../spool/types.js';
import type { Backoff } from '../../backoff.js';
import type { PollerContext } from './context.js';
import { toSourceRecord, type DecodedEvent } from './events.js';
import type { ExportFailures, StuckChunk } from './failures.js';

export type ExportMode = 'export' | 'legacy';

/** what one run exports: the live poller's from its start time on, a backfill job's over its range */
export interface ExportRun {
  startTime: Date;
  /** a backfill job's end (exclusive): events from it on are not shipped, and the run returns once past it */
  endTime?: Date;
  /** event types to export; empty means all */
  types: string[];
  skipEventTypes: string[];
  /** return once caught up; give up on a permanent problem instead of retrying for ever */
  exitOnLastEvent: boolean;
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
    mode?: ExportMode;
    date?: string;
    caughtUp?: boolean;
    emitted?: number;
    lastEventTime?: number;
    error?: string;
    stuck?: StuckChunk[];
  }): void;
}

/** ships a batch: records for the selected events, with the cursor ops, in one write */
export type Ship = (events: DecodedEvent[], cursorOps: StateOp[]) => Promise<void>;

/** what the exporter's parts share */
export interface ExportCore {
  ctx: PollerContext;
  run: ExportRun;
  hooks: ExporterHooks;
  ship: Ship;
  failures: ExportFailures;
  /** the retry delay of rounds and pages */
  backoff: Backoff;
}

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

export function createShip(ctx: PollerContext, run: ExportRun, hooks: ExporterHooks): Ship {
  const { store, signal } = ctx;
  const shipType = typeFilter(run.types, run.skipEventTypes);
  const startMs = run.startTime.getTime();
  const endMs = run.endTime?.getTime() ?? Infinity;
  return async function ship(events: DecodedEvent[], cursorOps: StateOp[]): Promise<void> {
    const kept: DecodedEvent[] = [];
    const records: SourceRecord[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      // a chunk holds its whole date: events before the start time are skipped like filtered ones
      if (!(e.time >= startMs) || !(e.time < endMs) || !shipType(e.type)) continue;
      kept.push(e);
      records.push(toSourceRecord(ctx.options.eventsTag, e));
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
  };
}
