// the built-in teleport poller: replaces teleport-event-handler. reads the audit log (cursor-v2 export, or the
// legacy search on older auth services) and session recordings over gRPC with the bot identity, and hands
// records to the spool with their cursors (exactly once). start/stop contract: start() validates options and
// the identity and checks the stored start time (it throws on those), then works in the background until
// stop(); `done` resolves when exit-on-last-event caught up, or after stop().
import type { Logger } from '../../log.js';
import type { SourceRecord } from '../../record.js';
import type { StateOp } from '../../spool/types.js';
import { TeleportAccessError, TlsFileError } from '../../errors.js';
import { createAuditLogClient, resolveMode, type AuditLogClient } from './client.js';
import type { PollerContext } from './context.js';
import { createExporter } from './exporter.js';
import { expiredIdentity, explainTeleportError, type Explain } from './explain.js';
import { createLocker } from './lock.js';
import { resolveOptions, type ResolvedOptions, type TeleportSourceOptions } from './options.js';
import type { LeftBehind } from './recordings.js';
import { IdentityRefresh, identityAtStart } from './refresh.js';
import { describeError, isStop } from './retry.js';
import { FIRST_MESSAGE_IDLE_FACTOR } from './batches.js';
import { createSessions } from './sessions.js';
import { StateStore, resolveStartTime } from './state.js';
import {
  foldExportProgress,
  foldSessionProgress,
  initialStatus,
  statusView,
  type TeleportSourceStatus,
} from './status.js';
import { QUIET_WARN_MS, StreamWatch, warnQuiet } from './streams.js';

// the status type is the source's interface: callers import it from here
export { initialStatus, type TeleportSourceStatus } from './status.js';

/** recordings named one by one in the exit log; the rest are counted */
const LEFT_BEHIND_LOGGED = 20;

export interface PollerDeps {
  /**
   * route + append to the spool in ONE synced batch with `state`; resolves when durable; rejects with
   * SpoolFullError when full (we await waitForSpace() and retry the same call), SpoolClosedError when shutting down.
   */
  emit(records: SourceRecord[], state: StateOp[]): Promise<void>;
  waitForSpace(signal?: AbortSignal): Promise<void>;
  getState(key: string): Promise<string | undefined>;
  listState(prefix: string): Promise<Array<{ key: string; value: string }>>;
  putState(ops: StateOp[]): Promise<void>;
  /** a dry run (the pipeline's): emit writes nothing, and teleport locks are logged, not made */
  dryRun?: boolean;
  logger: Logger;
  now?: () => number;
}

export interface TeleportSource {
  start(): Promise<void>;
  stop(): Promise<void>;
  done: Promise<void>;
  status(): TeleportSourceStatus;
  /** re-read the identity file (or cert/key/CA files) now, e.g. on SIGHUP; keeps the current one if unusable */
  reloadIdentity(): void;
}

export function createTeleportSource(options: TeleportSourceOptions, deps: PollerDeps): TeleportSource {
  const logger = deps.logger;
  const now = deps.now ?? Date.now;
  const dryRun = deps.dryRun ?? false;
  const ac = new AbortController();
  let resolveDone!: () => void;
  let rejectDone!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => {}); // a caller that never awaits done must not crash the process

  const st = initialStatus();
  let client: AuditLogClient | undefined;
  let sessions: ReturnType<typeof createSessions> | undefined;
  let stateStore: StateStore | undefined;
  let locker: ReturnType<typeof createLocker> | undefined;
  let main: Promise<void> | undefined;
  let quiet: { quietMs: number; stop(): void } | undefined;
  // the first message may take FIRST_MESSAGE_IDLE_FACTOR times as long (the auth service prepares it): so may its silence
  const streams = new StreamWatch(now, FIRST_MESSAGE_IDLE_FACTOR);
  let stopping: Promise<void> | undefined;
  const ids = new IdentityRefresh({ logger, now, signal: ac.signal, status: st });

  async function start(): Promise<void> {
    if (st.state !== 'created') throw new Error('teleport source already started');
    const o = resolveOptions(options);
    const { identity, waiting } = identityAtStart(o, now());
    ids.show(identity);
    const mode = resolveMode(o.mode, o.addr);
    if (mode === 'proxy' && !(o.clusterName ?? identity.clusterName)) {
      throw new TlsFileError(
        `teleport proxy mode needs the cluster name and ${identity.file} does not tell it; set teleport.cluster-name`,
      );
    }
    if (!o.refreshEnabled && identity.notAfter.getTime() - now() < 24 * 3600_000) {
      logger.warn(
        { file: identity.file, expires: identity.notAfter.toISOString() },
        'teleport identity expires within 24 h and refresh is off',
      );
    }
    const store = new StateStore(
      deps,
      logger,
      () => {
        if (!ac.signal.aborted) logger.info({}, 'spool closed: the teleport poller stops');
        ac.abort();
      },
      now,
    );
    stateStore = store;
    const startTime = await startTimeOf(store, o, now, ac.signal, logger);
    client = createAuditLogClient({
      addr: o.addr,
      identity,
      mode,
      serverName: o.serverName,
      clusterName: o.clusterName,
      apiVersion: o.apiVersion,
      timeoutMs: o.timeoutMs,
    });
    const c = client;
    const refreshMs = o.refreshEnabled ? o.refreshIntervalMs : undefined;
    ids.use(c, () =>
      expiredIdentity({ addr: o.addr, serverName: o.serverName, identity: ids.current!, now: now(), refreshMs }),
    );
    // a failed call explained with what we know: the address, the identity in use, a refused handshake
    const explain: Explain = (err, call) =>
      explainTeleportError(err, call, {
        addr: o.addr,
        serverName: o.serverName,
        identity: ids.current,
        now: now(),
        refreshMs,
        route: { mode, cluster: o.clusterName ?? ids.current?.clusterName },
      });
    locker = createLocker(
      { ...o.lock, dryRun },
      {
        upsert: (lock, signal) => c.upsertLock(lock, signal),
        logger,
        now,
        signal: ac.signal,
        retryBaseMs: o.retryBaseMs,
        explain,
      },
    );
    const ctx: PollerContext = { client: c, store, logger, now, signal: ac.signal, options: o, explain, streams };
    sessions = createSessions(ctx, (p) => foldSessionProgress(st, p));
    const s = sessions;
    const l = locker;
    const exporter = createExporter(
      ctx,
      { startTime, types: o.types, skipEventTypes: o.skipEventTypes, exitOnLastEvent: o.exitOnLastEvent },
      {
        opsFor: (kept) => s.opsFor(kept),
        committed(kept, claimed) {
          s.registerFrom(claimed);
          l.observe(kept);
        },
        release: (claimed) => s.release(claimed),
        progress: (p) => foldExportProgress(st, p, now()),
      },
    );
    // recordings saved in state resume once there is an identity to read them with
    if (!waiting) await s.load();
    ids.begin(o.identity, refreshMs);
    quiet = warnQuiet(streams, logger, o.streamIdleTimeoutMs);
    st.state = 'running';
    logger.info({ addr: o.addr, mode, startTime: startTime.toISOString(), dryRun }, 'teleport poller started');
    if (waiting) ids.sayExpiredAtStart();

    main = (async () => {
      if (waiting) {
        if (!(await ids.untilRenewed(o))) return;
        await s.load();
      }
      const choice = await exporter.chooseMode();
      if (!choice) return;
      st.mode = choice.mode;
      logger.info(
        { mode: choice.mode, reason: choice.reason },
        choice.mode === 'export'
          ? 'teleport audit log read with the cursor-v2 export'
          : 'teleport audit log read with the legacy event search',
      );
      if (choice.mode === 'export') await exporter.runExport();
      else await exporter.runLegacy();
      if (ac.signal.aborted) return;
      // exit-on-last-event: caught up; let the recordings that are due finish too
      await s.idle();
      await l.idle();
      if (ac.signal.aborted) return;
      finishOnLastEvent(s.leftBehind(), logger);
    })().then(
      () => resolveDone(),
      (err) => {
        if (isStop(err) || ac.signal.aborted) {
          resolveDone();
          return;
        }
        st.state = 'failed';
        st.lastError = describeError(err);
        logger.error({ err: describeError(err) }, 'teleport poller failed');
        rejectDone(err);
      },
    );
  }

  function stop(): Promise<void> {
    stopping ??= (async () => {
      ac.abort();
      ids.stop();
      quiet?.stop();
      await main;
      await sessions?.stop();
      await locker?.stop();
      client?.close();
      if (st.state !== 'failed') st.state = 'stopped';
      resolveDone();
    })();
    return stopping;
  }

  return {
    start,
    stop,
    done,
    reloadIdentity() {
      if (st.state === 'running') ids.refresh();
    },
    status: () =>
      statusView(st, {
        sessions: sessions?.stats(),
        locks: locker?.locks(),
        streamsOpen: streams.size,
        quiet: streams.quiet(quiet?.quietMs ?? QUIET_WARN_MS),
        held: stateStore?.spaceWait(),
      }),
  };
}

/** the start time: the stored one, else the configured one (stored now); logs what a change or a far start means */
async function startTimeOf(
  store: StateStore,
  o: Readonly<ResolvedOptions>,
  now: () => number,
  signal: AbortSignal,
  logger: Logger,
): Promise<Date> {
  const resolved = await resolveStartTime(store, o.startTime, now(), signal);
  const startTime = resolved.start;
  if (resolved.replaced !== undefined) {
    logger.info(
      { startTime: startTime.toISOString(), was: resolved.replaced },
      'teleport start-time changed before anything was exported: the new one is used',
    );
  }
  if (resolved.ignored !== undefined) {
    logger.info(
      { startTime: startTime.toISOString(), configured: resolved.ignored },
      'teleport start-time was moved by `cursor set`: the configured start-time is ignored',
    );
  }
  const backfillDays = (now() - startTime.getTime()) / 86_400_000;
  if (resolved.fresh && backfillDays > 1) {
    logger.warn(
      { startTime: startTime.toISOString(), days: Math.floor(backfillDays) },
      `the first export starts ${Math.floor(backfillDays)} ${Math.floor(backfillDays) === 1 ? 'day' : 'days'} back, at start-time, and ships every event since then` +
        (o.handlerMayHaveRun === false
          ? ''
          : "; teleport-event-handler's cursors are not read, so if it already shipped them, set start-time to when it stopped"),
    );
  }
  return startTime;
}

/**
 * exit-on-last-event caught up: logs the recordings it did not wait for (they stay in state and resume on the next
 * run), and fails the run if the auth service refused some (a role without session read): waiting will not help
 */
function finishOnLastEvent(left: LeftBehind[], logger: Logger): void {
  for (const x of left.slice(0, LEFT_BEHIND_LOGGED)) {
    logger.warn(
      { sid: x.sid, index: x.index, attempts: x.attempts, err: x.err },
      'teleport session recording left behind at exit; it resumes on the next run',
    );
  }
  if (left.length > LEFT_BEHIND_LOGGED) {
    logger.warn(
      { count: left.length, logged: LEFT_BEHIND_LOGGED },
      'more teleport session recordings left behind at exit; they resume on the next run',
    );
  }
  const refused = left.filter((x) => x.problem?.permanent);
  if (refused.length > 0) {
    const x = refused[0]!.problem!;
    throw new TeleportAccessError(
      `${refused.length} session recording${refused.length === 1 ? '' : 's'} could not be read: ${x.summary} (${x.err}): ${x.hint ?? 'see the logs'}`,
    );
  }
  logger.info({}, 'teleport poller caught up with the audit log; exiting as asked (exit-on-last-event)');
}
