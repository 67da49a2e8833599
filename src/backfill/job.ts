// one backfill job: the live poller's exporter (and, with --sessions, its recordings) over the job's range, with
// the job's own cursors. records and those cursors go to the spool in one batch, as the live poller's do, so the
// job is exactly-once and resumes after a kill from where it was. each record carries the job id.
import type { SourceRecord } from '../record.js';
import type { StateOp } from '../spool/types.js';
import type { StateDeps } from '../sources/teleport/state.js';
import { StateStore } from '../sources/teleport/state.js';
import { createAuditLogClient, resolveMode, type AuditLogClient } from '../sources/teleport/client.js';
import { createExporter } from '../sources/teleport/exporter.js';
import type { PollerContext } from '../sources/teleport/context.js';
import { dateMs } from '../sources/teleport/dates.js';
import { createSessions } from '../sources/teleport/sessions.js';
import { explainTeleportError, type Explain } from '../sources/teleport/explain.js';
import { loadIdentity, type TlsIdentity } from '../sources/teleport/identity.js';
import { describeError, isStop } from '../sources/teleport/retry.js';
import { TlsFileError } from '../errors.js';
import { childLogger } from '../log.js';
import { resolveOptions, type TeleportSourceOptions } from '../sources/teleport/options.js';
import type { PollerDeps } from '../sources/teleport/source.js';
import { JOB_ATTRIBUTE, cursorPrefix, fromJobKey, putJob, toJobKey, type Job } from './jobs.js';

export interface JobProgress {
  mode: 'export' | 'legacy' | null;
  /** epoch ms the job reads from now (its export date, its legacy window) */
  position: number | undefined;
  /** epoch ms this run of the job began, and how far it was then */
  startedAt: number;
  startPosition: number | undefined;
  /** events shipped by this run (for its rate) */
  runEvents: number;
  lastError: string | null;
}

export interface JobRunner {
  job: Job;
  progress(): JobProgress;
  /** resolves with the job once it ended (done or failed), or was stopped (still running, to resume) */
  done: Promise<Job>;
  stop(): Promise<void>;
}

/** the live poller's state deps, moved under the job's keys; records tagged with the job id, counted */
export function jobDeps(job: Job, deps: StateDeps, eventsTag: string, counted: (records: SourceRecord[]) => void) {
  const id = job.id;
  const moved = (ops: StateOp[]): StateOp[] => ops.map((op) => ({ ...op, key: toJobKey(id, op.key) }));
  return {
    async emit(records: SourceRecord[], state: StateOp[]) {
      const tagged = records.map((r) => ({ ...r, record: { ...r.record, [JOB_ATTRIBUTE]: id } }));
      const audit = records.filter((r) => r.tag === eventsTag).length;
      // the job's counts move with the batch they count
      const counts = { ...job, events: job.events + audit, sessionEvents: job.sessionEvents + records.length - audit };
      await deps.emit(tagged, [...moved(state), putJob(counts)]);
      job.events += audit;
      job.sessionEvents += records.length - audit;
      counted(records);
    },
    waitForSpace: (signal?: AbortSignal) => deps.waitForSpace(signal),
    getState: (key: string) => deps.getState(toJobKey(id, key)),
    async listState(prefix: string) {
      const rows = await deps.listState(toJobKey(id, prefix));
      return rows.map((r) => ({ key: fromJobKey(id, r.key), value: r.value }));
    },
    putState: (ops: StateOp[]) => deps.putState(moved(ops)),
  } satisfies StateDeps;
}

/** the job's cursor keys, to delete when it ends */
export async function jobCursorOps(id: string, deps: Pick<StateDeps, 'listState'>): Promise<StateOp[]> {
  return (await deps.listState(cursorPrefix(id))).map((r) => ({ type: 'del', key: r.key }));
}

export interface JobOptions {
  /** the live poller's options: address, identity, batch sizes, concurrency */
  teleport: TeleportSourceOptions;
  /** give up on a permanent problem (bad permissions) instead of retrying for ever: the offline command */
  giveUp: boolean;
}

export function startJob(job: Job, o: JobOptions, deps: PollerDeps): JobRunner {
  const logger = childLogger(deps.logger, { backfillJob: job.id });
  const now = deps.now ?? Date.now;
  const ac = new AbortController();
  const r = resolveOptions({ ...o.teleport, startTime: new Date(job.from) });
  const p: JobProgress = {
    mode: null,
    position: undefined,
    startedAt: now(),
    startPosition: undefined,
    runEvents: 0,
    lastError: null,
  };
  let client: AuditLogClient | undefined;
  let refreshTimer: NodeJS.Timeout | undefined;
  let sessions: ReturnType<typeof createSessions> | undefined;

  const scoped = jobDeps(job, deps, r.eventsTag, (records) => (p.runEvents += records.length));
  const store = new StateStore(scoped, logger, () => ac.abort(), now);

  async function run(): Promise<Job> {
    let identity: TlsIdentity = loadIdentity(r.identity, now());
    const mode = resolveMode(r.mode, r.addr);
    if (mode === 'proxy' && !(r.clusterName ?? identity.clusterName))
      throw new TlsFileError(
        `teleport proxy mode needs the cluster name and ${identity.file} does not tell it; set teleport.cluster-name`,
      );
    client = createAuditLogClient({
      addr: r.addr,
      identity,
      mode,
      serverName: r.serverName,
      clusterName: r.clusterName,
      apiVersion: r.apiVersion,
      timeoutMs: r.timeoutMs,
    });
    const c = client;
    if (r.refreshEnabled) {
      // a long job outlives a tbot identity: read the renewed file as the live poller does
      refreshTimer = setInterval(() => {
        try {
          const next = loadIdentity(r.identity, now());
          if (next.fingerprint === identity.fingerprint) return;
          c.setIdentity(next);
          identity = next;
        } catch (err) {
          logger.warn(
            { err: (err as Error).message },
            'teleport identity refresh failed; keeping the current identity',
          );
        }
      }, r.refreshIntervalMs);
      refreshTimer.unref?.();
    }
    const explain: Explain = (err, call) =>
      explainTeleportError(err, call, {
        addr: r.addr,
        serverName: r.serverName,
        identity,
        now: now(),
        refreshMs: r.refreshEnabled ? r.refreshIntervalMs : undefined,
        route: { mode, cluster: r.clusterName ?? identity.clusterName },
      });
    const ctx: PollerContext = { client: c, store, logger, now, signal: ac.signal, options: r, explain };
    const s = job.sessions
      ? createSessions(ctx, (x) => {
          if (x.error) p.lastError = x.error;
        })
      : undefined;
    sessions = s;
    const exporter = createExporter(
      ctx,
      {
        startTime: new Date(job.from),
        endTime: new Date(job.to),
        types: job.types,
        skipEventTypes: job.skipEventTypes,
        exitOnLastEvent: o.giveUp,
      },
      {
        opsFor: (kept) => (s ? s.opsFor(kept) : { ops: [], claimed: [] }),
        committed: (_kept, claimed) => s?.registerFrom(claimed),
        release: (claimed) => s?.release(claimed),
        progress(x) {
          if (x.mode) p.mode = x.mode;
          if (x.date) {
            p.position = Math.max(job.from, dateMs(x.date));
            p.startPosition ??= p.position;
          }
          if ('error' in x) p.lastError = x.error ?? null;
        },
      },
    );
    if (s) await s.load();
    const choice = await exporter.chooseMode();
    if (!choice) return job;
    p.mode = choice.mode;
    logger.info(
      { from: new Date(job.from).toISOString(), to: new Date(job.to).toISOString(), mode: choice.mode },
      'backfill job reading its range',
    );
    if (choice.mode === 'export') await exporter.runExport();
    else await exporter.runLegacy();
    if (ac.signal.aborted) return job;
    if (s) {
      await s.idle();
      if (ac.signal.aborted) return job;
      const left = s.leftBehind();
      for (const x of left.slice(0, 20))
        logger.warn({ sid: x.sid, err: x.err }, 'backfill job ends without this session recording');
      job.sessionsLeft = left.length;
    }
    await finish('done', null);
    logger.info(
      { events: job.events, sessionEvents: job.sessionEvents, sessionsLeft: job.sessionsLeft },
      'backfill job done: every event of its range was handed to the spool',
    );
    return job;
  }

  /** the job's end, and its cursors dropped, in one write */
  async function finish(state: 'done' | 'failed', error: string | null): Promise<void> {
    job.state = state;
    job.error = error;
    job.finishedAt = now();
    await deps.putState([...(await jobCursorOps(job.id, deps)), putJob(job)]);
  }

  const done = run().then(
    (j) => j,
    async (err: unknown) => {
      if (ac.signal.aborted || isStop(err)) return job;
      const msg = describeError(err);
      logger.error({ err: msg }, 'backfill job failed');
      p.lastError = msg;
      try {
        await finish('failed', msg);
      } catch (e2) {
        logger.error({ err: describeError(e2) }, 'could not record the failed backfill job');
      }
      return job;
    },
  );

  let stopping: Promise<void> | undefined;
  return {
    job,
    progress: () => ({ ...p }),
    done,
    stop() {
      stopping ??= (async () => {
        ac.abort();
        if (refreshTimer) clearInterval(refreshTimer);
        await done;
        await sessions?.stop();
        client?.close();
      })();
      return stopping;
    },
  };
}
