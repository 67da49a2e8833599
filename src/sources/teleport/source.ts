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
import type { StuckChunk } from './failures.js';
import { IdentityExpiredError, loadIdentity, type IdentitySource, type TlsIdentity } from './identity.js';
import { resolveOptions, type ResolvedOptions, type TeleportSourceOptions } from './options.js';
import { createLocker } from './lock.js';
import { sleep } from '../../sleep.js';
import { describeError, isStop } from './retry.js';
import {
  PermanentFailures,
  expiredIdentity,
  explainTeleportError,
  explainedText,
  type Explain,
  type ExplainedError,
} from './explain.js';
import { FIRST_MESSAGE_IDLE_FACTOR } from './batches.js';
import { QUIET_WARN_MS, StreamWatch, type QuietStream } from './streams.js';
import type { LeftBehind } from './recordings.js';
import { createSessions } from './sessions.js';
import { StateStore, resolveStartTime } from './state.js';

/** quiet streams listed in status; how often they are looked for */
const QUIET_LISTED = 10;
const QUIET_CHECK_MS = 5_000;

const quietOf = (q: QuietStream[]) => ({ quietStreams: q.slice(0, QUIET_LISTED), streamsQuiet: q.length });

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

export interface TeleportSourceStatus {
  state: 'created' | 'running' | 'stopped' | 'failed';
  /** 'export' (cursor v2) or 'legacy' once probed */
  mode: 'export' | 'legacy' | null;
  /** UTC date (export) or window start date (legacy) being read */
  date: string | null;
  caughtUp: boolean;
  eventsEmitted: number;
  sessionEventsEmitted: number;
  sessionsActive: number;
  sessionsPending: number;
  sessionsFinished: number;
  sessionsGivenUp: number;
  locksUpserted: number;
  /** epoch ms of the newest shipped audit event */
  lastEventTime: number | null;
  lastError: string | null;
  /** epoch ms of the last call to the auth service that answered (a listing, a page, a chunk streamed) */
  lastSuccessAt: number | null;
  /** epoch ms of the first failure since the last success: the poller reads nothing new while it is set */
  failingSince: number | null;
  /** export chunks that keep failing (each holds its date back until it succeeds) */
  stuckChunks: StuckChunk[];
  /** server streams open now (export chunks, recordings) */
  streamsOpen: number;
  /** open streams that have sent nothing for a minute or more (a fifth of stream-idle-timeout if less; 4x before a first message), quietest first (at most QUIET_LISTED) */
  quietStreams: QuietStream[];
  /** how many streams are that quiet, listed or not */
  streamsQuiet: number;
  /** batches (export chunks, recordings) held back now because the spool is full: a wait, not a failure */
  spoolWaiting: number;
  /** epoch ms since when one has been held back; null when none is */
  spoolWaitingSince: number | null;
  identity: { file: string; user: string | undefined; notAfter: string } | null;
  identityRefreshedAt: number | null;
}

/** the status of a source that has not started */
export function initialStatus(): TeleportSourceStatus {
  return {
    state: 'created',
    mode: null,
    date: null,
    caughtUp: false,
    eventsEmitted: 0,
    sessionEventsEmitted: 0,
    sessionsActive: 0,
    sessionsPending: 0,
    sessionsFinished: 0,
    sessionsGivenUp: 0,
    locksUpserted: 0,
    lastEventTime: null,
    lastError: null,
    lastSuccessAt: null,
    failingSince: null,
    stuckChunks: [],
    streamsOpen: 0,
    quietStreams: [],
    streamsQuiet: 0,
    spoolWaiting: 0,
    spoolWaitingSince: null,
    identity: null,
    identityRefreshedAt: null,
  };
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
  let refreshTimer: NodeJS.Timeout | undefined;
  let quietTimer: NodeJS.Timeout | undefined;
  // the first message may take FIRST_MESSAGE_IDLE_FACTOR times as long (the auth service prepares it): so may its silence
  const streams = new StreamWatch(now, FIRST_MESSAGE_IDLE_FACTOR);
  let quietMs = QUIET_WARN_MS;
  let stopping: Promise<void> | undefined;

  let current: TlsIdentity | undefined;
  const showIdentity = (id: TlsIdentity) => {
    current = id;
    st.identity = { file: id.file, user: id.user, notAfter: id.notAfter.toISOString() };
  };

  async function start(): Promise<void> {
    if (st.state !== 'created') throw new Error('teleport source already started');
    const o = resolveOptions(options);
    // with refresh on, an expired identity (a host off for days, tbot starting beside us) is waited out: an
    // error here exits 2, which systemd does not restart once tbot has renewed the file
    let identity: TlsIdentity;
    let waiting = false;
    try {
      identity = loadIdentity(o.identity, now());
    } catch (err) {
      if (!(o.refreshEnabled && err instanceof IdentityExpiredError)) throw err;
      identity = err.identity;
      waiting = true;
    }
    showIdentity(identity);
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
    const resolved = await resolveStartTime(store, o.startTime, now(), ac.signal);
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
    expiredText = () =>
      expiredIdentity({ addr: o.addr, serverName: o.serverName, identity: current!, now: now(), refreshMs });
    // a failed call explained with what we know: the address, the identity in use, a refused handshake
    const explain: Explain = (err, call) =>
      explainTeleportError(err, call, {
        addr: o.addr,
        serverName: o.serverName,
        identity: current,
        now: now(),
        refreshMs,
        route: { mode, cluster: o.clusterName ?? current?.clusterName },
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
    sessions = createSessions(ctx, (p) => {
      st.sessionEventsEmitted += p.emitted ?? 0;
      st.sessionsFinished += p.finished ?? 0;
      st.sessionsGivenUp += p.gaveUp ?? 0;
      if (p.error) st.lastError = p.error;
    });
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
        progress(p) {
          if (p.mode) st.mode = p.mode;
          if (p.date) st.date = p.date;
          if (p.caughtUp !== undefined) st.caughtUp = p.caughtUp;
          st.eventsEmitted += p.emitted ?? 0;
          if (p.lastEventTime !== undefined) st.lastEventTime = Math.max(st.lastEventTime ?? 0, p.lastEventTime);
          if ('error' in p) {
            st.lastError = p.error ?? null;
            if (p.error === undefined) {
              st.lastSuccessAt = now();
              st.failingSince = null;
            } else {
              // a failed round or page: not caught up until one succeeds again
              st.caughtUp = false;
              st.failingSince ??= now();
            }
          }
          if (p.emitted) st.lastSuccessAt = now();
          if (p.stuck) st.stuckChunks = p.stuck;
        },
      },
    );
    // recordings saved in state resume once there is an identity to read them with
    if (!waiting) await s.load();
    lastFingerprint = identity.fingerprint;
    identitySource = o.identity;
    if (o.refreshEnabled) {
      refreshTimer = setInterval(() => refresh(o.identity), o.refreshIntervalMs);
      refreshTimer.unref?.();
    }
    // a fifth of the idle timeout, at most a minute: with the default 5 min, a minute
    quietMs = Math.min(QUIET_WARN_MS, o.streamIdleMs / 5);
    quietTimer = setInterval(
      () => {
        for (const q of streams.newlyQuiet(quietMs)) {
          const cancelAfter = q.started ? o.streamIdleMs : o.streamIdleMs * FIRST_MESSAGE_IDLE_FACTOR;
          logger.warn(
            {
              stream: q.what,
              quietSeconds: Math.round(q.quietForMs / 1000),
              cancelAfterSeconds: Math.round(cancelAfter / 1000),
            },
            `a teleport stream has sent nothing for ${Math.round(q.quietForMs / 1000)} s with its connection up; it is cancelled and retried from its cursor at stream-idle-timeout`,
          );
        }
      },
      Math.min(QUIET_CHECK_MS, quietMs / 2),
    );
    quietTimer.unref?.();
    st.state = 'running';
    logger.info({ addr: o.addr, mode, startTime: startTime.toISOString(), dryRun }, 'teleport poller started');
    if (waiting) {
      const x = expiredText();
      expirySaid = identity.fingerprint;
      logger.error(
        { file: identity.file, expiredAt: identity.notAfter.toISOString(), hint: x.hint },
        `${x.summary}: the poller waits for the file to be renewed (tbot) and reads nothing from teleport until then`,
      );
    }

    main = (async () => {
      if (waiting) {
        if (!(await untilRenewed(o))) return;
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
      const left = s.leftBehind();
      logLeftBehind(left);
      // recordings the auth service refuses (a role without session read) will not come by waiting: the run failed
      const refused = left.filter((x) => x.problem?.permanent);
      if (refused.length > 0) {
        const x = refused[0]!.problem!;
        throw new TeleportAccessError(
          `${refused.length} session recording${refused.length === 1 ? '' : 's'} could not be read: ${x.summary} (${x.err}): ${x.hint ?? 'see the logs'}`,
        );
      }
      logger.info({}, 'teleport poller caught up with the audit log; exiting as asked (exit-on-last-event)');
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

  /** recordings exit-on-last-event did not wait for: they stay in state and resume on the next run */
  function logLeftBehind(left: LeftBehind[]): void {
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
  }

  /** the identity in use, explained as expired (set in start) */
  let expiredText: () => ExplainedError = () => {
    throw new Error('teleport source not started');
  };
  /** wakes untilRenewed when refresh applied a new identity */
  let renewed: (() => void) | undefined;

  /**
   * waits, without calling the auth service, until the identity in use is valid again (refresh read a renewed
   * file); false when stopped. status shows the poller failing with the expiry meanwhile. exit-on-last-event
   * counts each refresh interval as a failed cycle and gives up like on any other permanent problem
   */
  async function untilRenewed(o: Readonly<ResolvedOptions>): Promise<boolean> {
    const permanent = new PermanentFailures(o.exitOnLastEvent, o.retryMaxMs, now);
    while (!ac.signal.aborted && current !== undefined && now() >= current.notAfter.getTime()) {
      const x = expiredText();
      st.lastError = explainedText(x);
      st.failingSince ??= now();
      st.caughtUp = false;
      permanent.failed(x);
      await Promise.race([new Promise<void>((r) => (renewed = r)), sleep(o.refreshIntervalMs, ac.signal)]);
      renewed = undefined;
    }
    return !ac.signal.aborted;
  }

  let lastFingerprint: string | undefined;
  let identitySource: IdentitySource | undefined;
  /** the fingerprint of the expired identity in use that was already logged as such */
  let expirySaid: string | undefined;
  function refresh(source: IdentitySource): void {
    let id: TlsIdentity;
    try {
      id = loadIdentity(source, now());
    } catch (err) {
      if (err instanceof IdentityExpiredError && err.identity.fingerprint === lastFingerprint) {
        // the file in use, read again past its expiry: said once. an open connection outlives the certificate
        // (it is checked at the handshake), so calls fail only once the auth service is dialled again
        if (expirySaid !== lastFingerprint) {
          expirySaid = lastFingerprint;
          const x = expiredText();
          logger.error(
            { file: err.identity.file, expiredAt: err.identity.notAfter.toISOString(), hint: x.hint },
            `${x.summary} and was not renewed: calls fail once the auth service is dialled again; waiting for the file to be renewed (tbot)`,
          );
        }
        return;
      }
      // a half-written file or an expired replacement: keep the identity we have and say why
      logger.warn({ err: (err as Error).message }, 'teleport identity refresh failed; keeping the current identity');
      return;
    }
    if (id.fingerprint === lastFingerprint) return;
    try {
      client?.setIdentity(id);
    } catch (err) {
      // e.g. proxy mode without a cluster name and a rotated identity that does not tell it. not recorded as
      // applied: each refresh reports it again until the file is replaced (the current identity will expire)
      logger.error(
        { file: id.file, err: (err as Error).message },
        'teleport identity refresh failed: the new identity cannot be used; keeping the current identity',
      );
      return;
    }
    lastFingerprint = id.fingerprint;
    showIdentity(id);
    st.identityRefreshedAt = now();
    logger.info({ file: id.file, expires: id.notAfter.toISOString() }, 'teleport identity reloaded');
    renewed?.();
  }

  function stop(): Promise<void> {
    stopping ??= (async () => {
      ac.abort();
      if (refreshTimer) clearInterval(refreshTimer);
      if (quietTimer) clearInterval(quietTimer);
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
      if (st.state === 'running' && identitySource) refresh(identitySource);
    },
    status() {
      const ss = sessions?.stats();
      const held = stateStore?.spaceWait();
      return {
        ...st,
        sessionsActive: ss?.active ?? 0,
        sessionsPending: ss?.pending ?? 0,
        locksUpserted: locker?.locks() ?? 0,
        streamsOpen: streams.size,
        ...quietOf(streams.quiet(quietMs)),
        spoolWaiting: held?.batches ?? 0,
        spoolWaitingSince: held?.since ?? null,
        identity: st.identity ? { ...st.identity } : null,
      };
    },
  };
}
