// the bulk export of the audit log. cursor v2: per UTC date, list the export chunks and stream each one from its
// saved cursor (several in parallel, chunks.ts), keep polling the two previous dates for late chunks, move to the
// next date once the current one is idle and in the past. legacy (auth services without export chunks): paged
// search over windows of window-size from the start time (legacy.ts). in both, a batch of events goes to the
// spool in the same synced write as the cursor that moves past it (handoff.ts), so a restart neither loses nor
// re-sends an event. the mode is chosen once and stored (mode.ts).
import type { StateOp } from '../../spool/types.js';
import { Backoff } from '../../backoff.js';
import { sleep } from '../../sleep.js';
import { createChunkReader } from './chunks.js';
import type { PollerContext } from './context.js';
import { addDays, isoDate } from './dates.js';
import { plainExplain } from './explain.js';
import { ExportFailures } from './failures.js';
import { createShip, type ExportCore, type ExportRun, type ExporterHooks } from './handoff.js';
import { LEGACY_SETTLE_MS, runLegacy } from './legacy.js';
import { chooseMode, exportDate, probe } from './mode.js';
import { K, del } from './state.js';

export function createExporter(ctx: PollerContext, run: ExportRun, hooks: ExporterHooks) {
  const o = ctx.options;
  const core: ExportCore = {
    ctx,
    run,
    hooks,
    ship: createShip(ctx, run, hooks),
    failures: new ExportFailures(
      ctx.explain ?? plainExplain,
      ctx.logger,
      ctx.now,
      run.exitOnLastEvent,
      o.retryMaxMs,
      (error) => hooks.progress({ error }),
    ),
    backoff: new Backoff(o.retryBaseMs, o.retryMaxMs),
  };
  const chunks = createChunkReader(core);

  async function runExport(): Promise<void> {
    const { store, logger, signal } = ctx;
    const { failures, backoff } = core;
    const startDate = isoDate(run.startTime.getTime());
    const endMs = run.endTime?.getTime() ?? Infinity;
    // a backfill ends with the date of its last millisecond
    const endDate = run.endTime ? isoDate(endMs - 1) : undefined;
    let date = await exportDate(store, run.startTime);
    while (!signal.aborted) {
      const today = isoDate(ctx.now());
      hooks.progress({ mode: 'export', date });
      if (date > today) {
        // start time in the future: nothing to export yet
        await sleep(o.pollIntervalMs, signal);
        continue;
      }
      const dates = [addDays(date, -2), addDays(date, -1), date].filter((x) => x >= startDate);
      failures.roundProblem = undefined;
      const { work, failed } = await chunks.round(dates);
      if (signal.aborted) return;
      if (failed) {
        // one count per round, however many of its calls failed on the same broken connection
        if (failures.roundProblem) failures.permanent.failed(failures.roundProblem);
        await sleep(backoff.next(), signal);
        continue;
      }
      backoff.reset();
      failures.succeeded();
      hooks.progress({ error: undefined });
      // chunks were streamed: list again at once, more may have appeared meanwhile
      if (work > 0) continue;
      if (endDate !== undefined && date >= endDate && (date < today || endMs + LEGACY_SETTLE_MS <= ctx.now())) {
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
      if (run.exitOnLastEvent) return;
      await sleep(o.pollIntervalMs, signal);
    }
  }

  return {
    probe: () => probe(core),
    chooseMode: () => chooseMode(core),
    runExport,
    runLegacy: () => runLegacy(core),
  };
}

export type Exporter = ReturnType<typeof createExporter>;
