// the middle of the pipeline, between the sources and the spool: a source's batch is filtered (the seam for
// fluentd's <filter>), routed, judged by the source's policy, and appended with the source's state in one synced
// batch. all of dry run lives here too: it routes the same way, logs what would be shipped and writes nothing,
// and keeps the poller's state for this run in memory (DryRunState), read from the storage when it could be.
import { readdirSync } from 'node:fs';
import type { Logger } from './log.js';
import type { SourceRecord } from './record.js';
import type { RouteResult, Router } from './router/router.js';
import type { DeadLetter, Spool, SpoolItem, SpoolStats, StateOp } from './spool/types.js';
import { openSpool } from './spool/spool.js';
import { levelCode } from './spool/storage-errors.js';
import { PREFIX as TELEPORT_STATE_PREFIX } from './sources/teleport/state.js';
import { DecodeError, DryRunNotKeptError } from './errors.js';

export type SourceName = 'http' | 'teleport';

/** what a source does with the records the router will not send */
export interface SourcePolicy {
  /** overrides routing.unmatched for this source */
  unmatched?: 'drop';
  /** a record the router rejects: refuse the whole batch (a 400 to the client), or drop it and go on */
  onReject: 'refuse' | 'drop';
}

export const POLICY: Readonly<Record<SourceName, SourcePolicy>> = Object.freeze({
  // the ingest's client is told: a batch with a record the router rejects is refused (400) and nothing is kept
  http: { onReject: 'refuse' },
  // the poller has no client to refuse: an unmatched record is dropped and counted, whatever routing.unmatched,
  // and one the router cannot write as JSON is dropped too (refusing its batch would stall the export for good)
  teleport: { unmatched: 'drop', onReject: 'drop' },
});

/** a batch once routed: what to append, what was dropped, and why it is refused (if it is) */
export interface BatchPlan {
  values: string[];
  dropped: number;
  /** records the router rejected and the policy dropped: logged one by one */
  unroutable: Array<{ tag: string; reason: string }>;
  /** records the router rejected and the policy refuses the batch for */
  rejected: number;
  /** the first rejection's reason: the batch is refused */
  refusal?: string;
}

/**
 * routes a batch under a source's policy (pure, apart from the router's counters). a refused batch stops at its
 * first rejected record, as a real run answers at once; a dry run routes the rest to count them.
 */
export function planBatch(
  route: (rec: SourceRecord, unmatched?: 'drop') => RouteResult,
  policy: SourcePolicy,
  records: readonly SourceRecord[],
  dryRun: boolean,
): BatchPlan {
  const plan: BatchPlan = { values: [], dropped: 0, unroutable: [], rejected: 0 };
  for (const rec of records) {
    const r = route(rec, policy.unmatched);
    if (r.kind === 'send') plan.values.push(r.value);
    else if (r.kind === 'drop') plan.dropped++;
    else if (policy.onReject === 'drop') {
      plan.dropped++;
      plan.unroutable.push({ tag: rec.tag, reason: r.reason });
    } else {
      plan.rejected++;
      plan.refusal ??= r.reason;
      if (!dryRun) break;
    }
  }
  return plan;
}

/** a stage that runs on every batch before the router (fluentd's <filter>): returns the records to route */
export type Filter = (source: SourceName, records: SourceRecord[]) => SourceRecord[] | Promise<SourceRecord[]>;

export interface PipelineDeps {
  router: Pick<Router, 'route'>;
  /** the spool, or in a dry run the DryRunState that openStorage gave */
  spool: Spool;
  dryRun: boolean;
  logger: Logger;
  /** run in order before the router; none today */
  filters?: Filter[];
  observeRecords?(source: SourceName, records: ReadonlyArray<{ tag: string }>): void;
  observeSpooled?(count: number): void;
}

/** what the poller is handed: its records and state go through the pipeline, never straight to the spool */
export interface PollerPort {
  emit(records: SourceRecord[], state: StateOp[]): Promise<void>;
  waitForSpace(signal?: AbortSignal): Promise<void>;
  getState(key: string): Promise<string | undefined>;
  listState(prefix: string): Promise<Array<{ key: string; value: string }>>;
  putState(ops: StateOp[]): Promise<void>;
  /** act on nothing outside (teleport locks): say what would be done */
  dryRun: boolean;
}

export interface Pipeline {
  readonly dryRun: boolean;
  /**
   * route a source's records and append the survivors, with the source's state, in one synced batch. rejects
   * with DecodeError (400) when the source's policy refuses the batch, DryRunNotKeptError when a dry run logged
   * an ingest batch it cannot keep, and the spool's SpoolFullError / SpoolClosedError.
   */
  accept(source: SourceName, records: SourceRecord[], state?: StateOp[], sync?: boolean): Promise<void>;
  /** the ingest's accept: synced to disk with sync true, written to the os otherwise (ingest.ack) */
  http(records: SourceRecord[], sync: boolean): Promise<void>;
  /** the poller's port */
  teleport: PollerPort;
}

export function createPipeline(deps: PipelineDeps): Pipeline {
  const { router, spool, dryRun, logger } = deps;
  const filters = deps.filters ?? [];
  const route = (rec: SourceRecord, unmatched?: 'drop') => router.route(rec, unmatched);

  async function accept(
    source: SourceName,
    records: SourceRecord[],
    state: StateOp[] = [],
    sync = true,
  ): Promise<void> {
    deps.observeRecords?.(source, records);
    // a synchronous filter is not awaited: one microtask less on every request
    for (const f of filters) {
      const out = f(source, records);
      records = out instanceof Promise ? await out : out;
    }
    const plan = planBatch(route, POLICY[source], records, dryRun);
    for (const u of plan.unroutable) {
      logger.error({ tag: u.tag, reason: u.reason }, `a ${source} record could not be routed and was dropped`);
    }
    if (dryRun) {
      logDryRun(source, records.length, plan);
      // the poller's state goes to the in-memory DryRunState, so the poller still moves forward
      if (state.length > 0) await spool.putState(state);
      if (source === 'http' && plan.values.length > 0) throw new DryRunNotKeptError();
      return;
    }
    if (plan.refusal !== undefined) throw new DecodeError(plan.refusal, 400);
    if (plan.values.length === 0 && state.length === 0) return;
    await spool.append(plan.values, state, { sync });
    deps.observeSpooled?.(plan.values.length);
  }

  // one line per batch says what would be shipped, dropped or rejected, with the first routed log as a sample. a
  // dry run keeps nothing, so it acknowledges nothing an http client would lose: the ingest answers 503
  function logDryRun(source: SourceName, received: number, plan: BatchPlan): void {
    if (received === 0) return;
    if (plan.refusal === undefined) {
      const sample = plan.values.length > 0 ? JSON.parse(plan.values[0]!) : undefined;
      logger.info(
        { source, records: plan.values.length, dropped: plan.dropped, sample },
        'dry run: would ship records',
      );
      return;
    }
    // a real run refuses the whole batch (the ingest answers 400): so does the dry run, once it said so
    logger.info(
      { source, records: 0, dropped: plan.dropped, rejected: plan.rejected, reason: plan.refusal },
      'dry run: the rules would reject this batch; nothing of it would be shipped',
    );
    throw new DecodeError(plan.refusal, 400);
  }

  return {
    dryRun,
    accept,
    http: (records, sync) => accept('http', records, [], sync),
    teleport: {
      emit: (records, state) => accept('teleport', records, state),
      waitForSpace: (signal) => spool.waitForSpace(signal),
      getState: (k) => spool.getState(k),
      listState: (p) => spool.listState(p),
      putState: (ops) => spool.putState(ops),
      dryRun,
    },
  };
}

export interface StorageOptions {
  storage: string;
  maxBytes: number;
  /** background sync of appends acknowledged once written (ingest.ack = written): ingest.sync-interval */
  syncIntervalMs: number;
  dryRun: boolean;
  /** a start-time was given on the command line or in the environment (for a dry run beside a running forwarder) */
  startTimeGiven: boolean;
  logger: Logger;
}

/**
 * the spool. a dry run never holds the storage: it reads the poller's cursors from it (open, read, close at
 * once, so a real start is not locked out while it runs) into a DryRunState. with no storage yet it starts as a
 * first run would; beside a running forwarder, whose cursors it cannot read, from now (or a start-time given for
 * this run) rather than re-reading the whole history from the configured start-time.
 */
export async function openStorage(o: StorageOptions): Promise<{ spool: Spool; dryRunFrom?: 'now' }> {
  const { storage, maxBytes, logger } = o;
  if (!o.dryRun) {
    return { spool: await openSpool({ path: storage, maxBytes, syncIntervalMs: o.syncIntervalMs, logger }) };
  }
  const nothing = 'the dry run writes nothing';
  if (!holdsFiles(storage)) {
    // no spool yet: nothing to read, and a dry run should not create one (maybe as the wrong user)
    logger.info(
      { storage },
      `storage ${storage} holds no spool yet; the dry run starts from start-time as a first run would, and ${nothing}`,
    );
    return { spool: new DryRunState(maxBytes) };
  }
  let real: Spool;
  try {
    real = await openSpool({ path: storage, maxBytes, syncIntervalMs: o.syncIntervalMs, logger });
  } catch (err) {
    if (levelCode(err) !== 'LEVEL_LOCKED') throw err;
    logger.warn(
      { storage },
      `storage ${storage} is in use by a running forwarder, so its cursors cannot be read: the dry run reads Teleport from ${o.startTimeGiven ? 'the start-time given' : 'now (give --start-time to look further back)'}, and ${nothing}`,
    );
    return { spool: new DryRunState(maxBytes), dryRunFrom: o.startTimeGiven ? undefined : 'now' };
  }
  try {
    const state = await real.listState(TELEPORT_STATE_PREFIX);
    const queued = real.stats().records;
    logger.info(
      { storage, cursors: state.length, queued },
      `dry run: read the poller's cursors from ${storage} and closed it; ${nothing}`,
    );
    return { spool: new DryRunState(maxBytes, state) };
  } finally {
    await real.close();
  }
}

/** a directory with anything in it but what the file system puts there (ext4's lost+found) */
function holdsFiles(dir: string): boolean {
  try {
    return readdirSync(dir).some((f) => f !== 'lost+found');
  } catch (err) {
    // only a missing directory means "no spool yet"; an unreadable one is for openSpool to explain
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * the spool of a dry run: the poller's state in memory for this run, never a record (the pipeline appends none
 * in dry run). its stats are those of an empty spool, so /readyz and /status stay meaningful.
 */
export class DryRunState implements Spool {
  private readonly state: Map<string, string>;
  /** `state`: the poller's state read from the storage, to carry on from its cursors */
  constructor(
    private readonly maxBytes: number,
    state: ReadonlyArray<{ key: string; value: string }> = [],
  ) {
    this.state = new Map(state.map((r) => [r.key, r.value]));
  }

  private apply(ops: StateOp[]): void {
    for (const op of ops) {
      if (op.type === 'put') this.state.set(op.key, op.value);
      else this.state.delete(op.key);
    }
  }

  async append(values: string[], state: StateOp[] = []): Promise<void> {
    if (values.length > 0) throw new Error('dry run queues no records: expected the pipeline to write none');
    this.apply(state);
  }
  async take(): Promise<SpoolItem[]> {
    return [];
  }
  async ack(): Promise<void> {}
  async deadLetter(): Promise<void> {}
  async getState(key: string): Promise<string | undefined> {
    return this.state.get(key);
  }
  async putState(ops: StateOp[]): Promise<void> {
    this.apply(ops);
  }
  async listState(prefix: string): Promise<Array<{ key: string; value: string }>> {
    return [...this.state]
      .filter(([key]) => key.startsWith(prefix))
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([key, value]) => ({ key, value }));
  }
  async waitForSpace(): Promise<void> {}
  hasSpace(): boolean {
    return true;
  }
  stats(): SpoolStats {
    return { records: 0, bytes: 0, maxBytes: this.maxBytes, inFlight: 0, deadLetters: 0, oldestAppendedAt: null };
  }
  async listDead(): Promise<DeadLetter[]> {
    return [];
  }
  async replayDead(): Promise<number> {
    return 0;
  }
  async purgeDead(): Promise<number> {
    return 0;
  }
  async close(): Promise<void> {}
}
