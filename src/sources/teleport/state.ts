// the poller's durable state (cursors) and the one way records leave the poller: commit(records, ops) hands
// records to the spool in the same synced batch as the state ops that move the cursor past them.
//
// keys, all under `teleport/`:
//   start-time                        ISO start time, stored on the first run
//   start-time-moved                  ISO time `cursor set` moved the start time: the configured one is ignored
//   mode                              "export" or "legacy": chosen by the first probe, then kept (see mode.ts)
//   export/date                       YYYY-MM-DD: the UTC date the cursor-v2 export is on
//   export/chunk/<date>/<chunk>       {"c": cursor} while a chunk is partly sent, {"done": true} once complete
//   legacy/cursor                     {"w": window start ms, "k": start_key, "id": last sent event id}
//   session/<sid>                     {"i": next event index, "t": upload time ms}: a recording still to stream
//
// a dry run is the pipeline's business (src/pipeline.ts): it writes nothing and keeps this state in memory.
import type { Logger } from '../../log.js';
import type { SourceRecord } from '../../record.js';
import type { StateOp } from '../../spool/types.js';
import { ConfigError } from '../../errors.js';

export const PREFIX = 'teleport/';
export const K = {
  startTime: `${PREFIX}start-time`,
  startTimeMoved: `${PREFIX}start-time-moved`,
  mode: `${PREFIX}mode`,
  exportDate: `${PREFIX}export/date`,
  chunksPrefix: `${PREFIX}export/chunk/`,
  chunkPrefix: (date: string) => `${PREFIX}export/chunk/${date}/`,
  chunk: (date: string, chunk: string) => `${PREFIX}export/chunk/${date}/${chunk}`,
  legacy: `${PREFIX}legacy/cursor`,
  sessionPrefix: `${PREFIX}session/`,
  session: (sid: string) => `${PREFIX}session/${sid}`,
};

export interface ChunkState {
  c?: string;
  done?: boolean;
}
export interface LegacyState {
  w: number;
  k: string;
  id: string;
}
/** a session's entry: the next event index, the upload's time, and when it was first NOT_FOUND (if it was) */
export interface SessionState {
  i: number;
  t: number;
  /** epoch ms of the first NOT_FOUND: the 48 h give-up counts from it; dropped once the recording streams */
  nf?: number;
}

export interface StateDeps {
  emit(records: SourceRecord[], state: StateOp[]): Promise<void>;
  waitForSpace(signal?: AbortSignal): Promise<void>;
  getState(key: string): Promise<string | undefined>;
  listState(prefix: string): Promise<Array<{ key: string; value: string }>>;
  putState(ops: StateOp[]): Promise<void>;
}

const SPOOL_FULL = 'TDF_SPOOL_FULL';
const SPOOL_CLOSED = 'TDF_SPOOL_CLOSED';

/** thrown out of commit() when the source is stopping while waiting for spool space */
export class StoppedError extends Error {
  constructor() {
    super('teleport poller stopped');
    this.name = 'StoppedError';
  }
}

export class StateStore {
  /** commits waiting for spool space now (export chunks and recordings held back), and since when one has been */
  private waiting = 0;
  private waitingFrom: number | undefined;
  constructor(
    private readonly deps: StateDeps,
    private readonly logger: Logger,
    /** called once the spool says it is closed: the poller stops as a whole */
    private readonly onClosed: () => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** the batches held back by a full spool, for status: a wait, not a failure */
  spaceWait(): { batches: number; since: number | undefined } {
    return { batches: this.waiting, since: this.waitingFrom };
  }

  async get(key: string): Promise<string | undefined> {
    return this.deps.getState(key);
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const v = await this.get(key);
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v) as T;
    } catch {
      this.logger.warn({ key }, 'teleport poller state value is not JSON; ignoring it');
      return undefined;
    }
  }

  list(prefix: string): Promise<Array<{ key: string; value: string }>> {
    return this.deps.listState(prefix);
  }

  /**
   * records and the state ops covering them, in one durable batch. waits and retries the same call while the
   * spool is full; throws SpoolClosedError when shutting down, StoppedError when the signal aborts.
   */
  async commit(records: SourceRecord[], ops: StateOp[], signal?: AbortSignal): Promise<void> {
    if (records.length === 0 && ops.length === 0) return;
    for (;;) {
      if (signal?.aborted) throw new StoppedError();
      try {
        if (records.length === 0) await this.deps.putState(ops);
        else await this.deps.emit(records, ops);
        return;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === SPOOL_CLOSED) this.onClosed();
        if (code !== SPOOL_FULL) throw err;
        if (this.waiting++ === 0) this.waitingFrom = this.now();
        try {
          await this.deps.waitForSpace(signal);
        } finally {
          if (--this.waiting === 0) this.waitingFrom = undefined;
        }
      }
    }
  }

  /** state only (no records) */
  put(ops: StateOp[], signal?: AbortSignal): Promise<void> {
    return this.commit([], ops, signal);
  }
}

export const putJson = (key: string, value: unknown): StateOp => ({ type: 'put', key, value: JSON.stringify(value) });
export const del = (key: string): StateOp => ({ type: 'del', key });

export interface StartTime {
  start: Date;
  /** no export or session progress yet: the next export is the first from start */
  fresh: boolean;
  /** the stored start time this run replaced (a different one configured before anything was exported) */
  replaced?: string;
  /** the configured start time, ignored because `cursor set` moved the stored one */
  ignored?: string;
}

/**
 * the start time: stored on the first run. a different --start-time later is an error once anything was
 * exported, since the cursors were made for the stored one; before that (a first run that never reached the
 * auth service, or a wrong value fixed at once) the new value replaces it.
 */
export async function resolveStartTime(
  store: StateStore,
  configured: Date | undefined,
  now: number,
  signal?: AbortSignal,
): Promise<StartTime> {
  const stored = await store.get(K.startTime);
  const progress = (await store.list(PREFIX)).some(
    (r) => r.key !== K.startTime && r.key !== K.mode && r.key !== K.startTimeMoved,
  );
  if (stored !== undefined && (!configured || configured.getTime() === Date.parse(stored))) {
    return { start: new Date(stored), fresh: !progress };
  }
  // `cursor set` moved it on purpose: the configured value is the old one
  if (stored !== undefined && (await store.get(K.startTimeMoved)) !== undefined) {
    return { start: new Date(stored), fresh: !progress, ignored: configured!.toISOString() };
  }
  if (stored !== undefined && progress) {
    throw new ConfigError(
      `teleport start-time ${configured!.toISOString()} differs from ${stored}, the start time this storage has exported from; ` +
        'keep the old value, or move the cursor with `cursor set --start-time` (and `backfill --from --to` for a past range)',
    );
  }
  const start = configured ?? new Date(Math.floor(now / 1000) * 1000);
  await store.put([{ type: 'put', key: K.startTime, value: start.toISOString() }], signal);
  return { start, fresh: true, ...(stored !== undefined ? { replaced: stored } : {}) };
}
