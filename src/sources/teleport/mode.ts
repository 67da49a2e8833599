// the exporter's mode, chosen once by the first run's probe and stored: the two cursors do not translate into
// each other, so switching after a teleport upgrade would send the whole history again (the legacy search still
// works on newer auth services). only a downgrade (export stored, now UNIMPLEMENTED) forces legacy: it starts at
// the stored export date, and events of that date may be sent again.
import { Backoff } from '../../backoff.js';
import { sleep } from '../../sleep.js';
import { DAY, dateMs, isoDate } from './dates.js';
import type { ExportCore, ExportMode } from './handoff.js';
import { isUnimplemented } from './retry.js';
import { K, putJson, type LegacyState, type StateStore } from './state.js';

export interface ModeChoice {
  mode: ExportMode;
  /** why, for the start log */
  reason: string;
}

/** GetEventExportChunks(now + 2 days): UNIMPLEMENTED means an auth service without cursor v2 */
export async function probe(core: ExportCore): Promise<ExportMode | undefined> {
  const { ctx, failures } = core;
  const { client, signal } = ctx;
  const o = ctx.options;
  const probeBackoff = new Backoff(o.retryBaseMs, o.retryMaxMs);
  while (!signal.aborted) {
    try {
      await client.getEventExportChunks(new Date(ctx.now() + 2 * DAY), signal);
      return 'export';
    } catch (err) {
      if (isUnimplemented(err)) return 'legacy';
      if (signal.aborted) return undefined;
      const x = failures.failed(err);
      failures.log.failed(x, {}, `${x.summary}; retrying`);
      failures.permanent.failed(x);
      await sleep(probeBackoff.next(), signal);
    }
  }
  return undefined;
}

/** the UTC date the export is on: the saved one, else the start time's */
export async function exportDate(store: StateStore, startTime: Date): Promise<string> {
  const startDate = isoDate(startTime.getTime());
  const saved = await store.get(K.exportDate);
  const date = saved !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(saved) ? saved : startDate;
  return date < startDate ? startDate : date;
}

/** the mode of this storage: the stored one, else the one its cursors show (storage older than the key) */
async function storedMode(store: StateStore): Promise<{ mode: ExportMode; inferred: boolean } | undefined> {
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
export async function chooseMode(core: ExportCore): Promise<ModeChoice | undefined> {
  const { ctx, run } = core;
  const { store, logger, signal } = ctx;
  const stored = await storedMode(store);
  const keep = (mode: ExportMode) =>
    stored?.inferred ? store.put([{ type: 'put', key: K.mode, value: mode }], signal) : Promise.resolve();
  if (stored?.mode === 'legacy') {
    await keep('legacy');
    return {
      mode: 'legacy',
      reason: 'this storage was started with the legacy event search; kept so the export does not start over',
    };
  }
  const probed = await probe(core);
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
  const date = await exportDate(store, run.startTime);
  const from = Math.max(run.startTime.getTime(), dateMs(date));
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
