// the one place that wires components together and orders start and stop:
//   sources (http ingest, teleport poller) -> router -> spool (fsync) -> datadog sink
// start: spool, router, sink, then sources. stop: sources first (accept nothing new), then the sink (finish
// in-flight requests up to a deadline), then the spool (flush and close leveldb).
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import type { Logger } from './log.js';
import type { Config } from './config/load.js';
import type { Spool } from './spool/types.js';
import { createPipeline, openStorage } from './pipeline.js';
import { applyHeapGrowingPercent } from './runtime.js';
import { sleep } from './sleep.js';
import { createRouter, type Router } from './router/router.js';
import { createFilterChain } from './filter/chain.js';
import { createIngestServer, type IngestServer } from './sources/http/server.js';
import { createDatadogSink, type DatadogSink } from './sinks/datadog/sink.js';
import type { TeleportSourceOptions } from './sources/teleport/options.js';
import type { PollerDeps, TeleportSource } from './sources/teleport/source.js';
import type { BackfillManager, JobView } from './backfill/manager.js';
import { backfillApi } from './backfill/api.js';
import { ConfigError, TlsFileError } from './errors.js';
import { PREFIX as STATE_PREFIX } from './sources/teleport/state.js';
import { createMetrics, type Metrics } from './telemetry/metrics.js';
import { createAdminServer, type AdminServer } from './telemetry/admin.js';
import { healthReport, readVersion, statusDoc, type StatusSources } from './telemetry/status.js';

export interface App {
  config: Readonly<Config>;
  spool: Spool;
  router: Router;
  /** where the ingest listens, when enabled */
  ingest?: { host: string; port: number };
  sink?: DatadogSink;
  teleport?: TeleportSource;
  /** backfill jobs, with the teleport poller configured (not in a dry run) */
  backfill?: BackfillManager;
  metrics: Metrics;
  /** where the admin server listens, when enabled */
  admin?: { host: string; port: number };
  /** resolves when the app has stopped (by stop() or, with exit-on-last-event, once caught up) */
  stopped: Promise<void>;
  stop(reason?: string): Promise<void>;
  /** reload TLS files (SIGHUP) */
  reload(): void;
  /** the process exit code once stopped: 0, or 1 when a source failed for good */
  exitCode: number;
}

export interface AppDeps {
  logger: Logger;
  /** how long stop() lets in-flight deliveries finish */
  drainDeadlineMs?: number;
  /** false where no teleport-event-handler ever read the cluster (the demo): no advice about its cursors */
  handlerMayHaveRun?: boolean;
  /** the backfill command with the service stopped: spool, sink and backfill jobs; no ingest, no live poller */
  backfillOnly?: boolean;
}

export async function startApp(config: Readonly<Config>, deps: AppDeps): Promise<App> {
  const { logger } = deps;
  const heapGrowth = applyHeapGrowingPercent(config.runtime.heapGrowingPercent);
  logger.debug({ heapGrowingPercent: heapGrowth ?? 'set by node flags' }, 'v8 heap growth');
  const { spool, dryRunFrom } = await openStorage({
    storage: config.storage,
    maxBytes: config.spool.maxBytes,
    syncIntervalMs: config.ingest.syncIntervalMs,
    dryRun: config.dryRun,
    startTimeGiven: /^(flag|env) /.test(config.origins['start-time'] ?? ''),
    logger,
  });
  if (!config.dryRun) {
    const stats = spool.stats();
    logger.info(
      { storage: config.storage, records: stats.records, bytes: stats.bytes, deadLetters: stats.deadLetters },
      'spool opened',
    );
  }

  // telemetry reads the components through these closures; they are assigned below as the components start
  let spoolOpen = true;
  let shuttingDown = false;
  let sink: DatadogSink | undefined;
  let ingest: IngestServer | undefined;
  let ingestAddress: { host: string; port: number } | undefined;
  let teleport: TeleportSource | undefined;
  let backfill: BackfillManager | undefined;

  const router = createRouter({ ...config.routing, hostname: config.hostname, logger });

  // fluentd's <filter>s: ${hostname} is the machine's name, as fluentd's Socket.gethostname
  const filters = createFilterChain(config.filters, { hostname: osHostname(), logger });

  const sources: StatusSources = {
    config,
    version: readVersion(),
    startedAt: Date.now(),
    spool: () => (spoolOpen ? spool.stats() : undefined),
    router: () => router.stats(),
    filters: filters.size > 0 ? () => filters.stats() : undefined,
    sink: config.dryRun ? undefined : () => sink?.status(),
    ingest: config.ingest.enabled ? () => ingest?.stats() : undefined,
    ingestAddress: () => (shuttingDown ? undefined : ingestAddress),
    teleport: config.teleport.enabled ? () => teleport?.status() : undefined,
    stopping: () => shuttingDown,
  };
  const metrics = createMetrics(sources, { sessionTagPrefix: config.teleport.sessionTagPrefix });
  const { admin, address: adminAddress } = await startAdmin({
    config,
    logger,
    metrics,
    sources,
    spool,
    backfill: () => (backfill && spoolOpen ? backfill.list() : Promise.resolve([])),
    jobs: () => jobs(),
    moveCursor: (to, apply) => moveCursor(to, apply),
  });
  const closeEarly = async (): Promise<void> => {
    await admin?.close();
    spoolOpen = false;
    await spool.close();
  };

  // sources call down into the pipeline (filter, route, policy, spool append, dry run)
  const pipeline = createPipeline({
    router,
    spool,
    dryRun: config.dryRun,
    logger,
    filters: filters.size > 0 ? [(_source, records) => filters.apply(records)] : [],
    observeRecords: metrics.observeRecords,
    observeSpooled: metrics.observeSpooled,
  });

  const readIngestTls = () => ({
    ca: readTlsFile(config.ingest.ca!, 'ingest.ca'),
    cert: readTlsFile(config.ingest.cert!, 'ingest.cert'),
    key: readTlsFile(config.ingest.key!, 'ingest.key'),
    passphrase: config.ingest.keyPassphrase,
  });
  // read before anything starts, so an unreadable file stops start-up with nothing left running
  let ingestTls: ReturnType<typeof readIngestTls> | undefined;
  try {
    ingestTls = config.ingest.enabled && !deps.backfillOnly ? readIngestTls() : undefined;
  } catch (err) {
    await closeEarly();
    throw err;
  }

  if (!config.dryRun) {
    sink = createDatadogSink(config.datadog, { spool, logger, onResponse: metrics.observeDatadog });
    sink.start();
    await sink.ready();
  }

  if (config.ingest.enabled && !deps.backfillOnly) {
    ingest = createIngestServer(
      { ...config.ingest, tls: ingestTls! },
      { logger, accept: pipeline.http, onResponse: metrics.observeIngest },
    );
    try {
      ingestAddress = await ingest.start();
    } catch (err) {
      await sink?.stop(0);
      await closeEarly();
      throw err;
    }
    if (config.dryRun) {
      logger.warn(
        {},
        'dry run: the ingest logs what it would ship and answers 503, since it keeps nothing: clients keep their records and send them again',
      );
    }
  }

  const t = config.teleport;
  // a dry run beside a running forwarder reads from now, unless a start-time was given for it
  const teleportOptions = teleportOptionsOf(config, deps, dryRunFrom === 'now');
  const pollerDeps: PollerDeps = { ...pipeline.teleport, logger };
  // the poller and backfill jobs are loaded only when the poller is on: grpc-js and the proto loader are ~20 MiB
  // of rss an ingest-only run would carry for nothing
  const poller = t.enabled ? await import('./sources/teleport/source.js') : undefined;
  if (poller && !deps.backfillOnly) {
    teleport = poller.createTeleportSource(teleportOptions, pollerDeps);
    try {
      await teleport.start();
    } catch (err) {
      await ingest?.close();
      await sink?.stop(0);
      await closeEarly();
      throw err;
    }
  }
  if (poller && !config.dryRun) {
    // after the live poller, which stores its start time: a job's range is checked against it
    const { createBackfillManager } = await import('./backfill/manager.js');
    backfill = createBackfillManager({ teleport: teleportOptions, giveUp: !!deps.backfillOnly }, pollerDeps);
    await backfill.resume();
  }
  function jobs(): BackfillManager {
    if (!backfill) throw new ConfigError('the forwarder is still starting: submit the backfill again in a moment');
    return backfill;
  }

  /** `cursor set` through the admin api: the live poller stops, its cursor moves, a new one starts from it */
  async function moveCursor(to: number, apply: boolean): Promise<Record<string, unknown>> {
    const { planCursorMove } = await import('./backfill/cursor.js');
    const move = planCursorMove(await spool.listState(STATE_PREFIX), to, Date.now());
    if (!apply || shuttingDown) return { move: { ...move, ops: undefined }, applied: false };
    await teleport?.stop();
    await spool.putState(move.ops);
    logger.warn({ startTime: new Date(to).toISOString(), effect: move.effect }, 'teleport cursor moved (admin api)');
    if (poller && !deps.backfillOnly) {
      teleport = poller.createTeleportSource(teleportOptions, pollerDeps);
      await teleport.start();
      app.teleport = teleport;
    }
    return { move: { ...move, ops: undefined }, applied: true };
  }

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  const stop = (reason = 'stop requested'): Promise<void> => {
    stopping ??= (async () => {
      shuttingDown = true; // /readyz answers 503 from now on; /metrics and /status stay up while draining
      logger.info({ reason }, 'stopping: no new records are accepted');
      await ingest?.close();
      await backfill?.stop();
      await teleport?.stop();
      router.flush(); // nothing is routed from now on: log the old-timestamp count not logged yet
      await sink?.stop(deps.drainDeadlineMs ?? 10_000);
      const left = spool.stats();
      spoolOpen = false;
      await spool.close();
      await admin?.close();
      logger.info(
        { undelivered: left.records, deadLetters: left.deadLetters },
        'stopped; undelivered records stay in the spool for the next start',
      );
      resolveStopped();
    })();
    return stopping;
  };

  // --exit-on-last-event: once the poller caught up and everything spooled was delivered, stop
  if (teleport && config.exitOnLastEvent) {
    teleport.done
      .then(
        async () => {
          while (!stopping && !config.dryRun && spool.stats().records > 0) await sleep(100);
          await stop('caught up with the audit log and delivered everything (exit-on-last-event)');
        },
        async (err: unknown) => {
          // nothing more will come: stop (what is spooled stays for the next start) and exit non-zero
          app.exitCode = 1;
          logger.error({ err: (err as Error)?.message }, 'the teleport poller failed');
          await stop('the teleport poller failed (exit-on-last-event)');
        },
      )
      .catch((err: unknown) =>
        logger.error({ err: (err as Error)?.message }, 'stopping after the poller finished failed'),
      );
  }

  const app: App = {
    exitCode: 0,
    config,
    spool,
    router,
    ingest: ingestAddress,
    sink,
    teleport,
    backfill,
    metrics,
    admin: adminAddress,
    stopped,
    stop,
    reload() {
      teleport?.reloadIdentity();
      if (ingest) {
        try {
          ingest.reloadTls(readIngestTls());
        } catch (err) {
          logger.error(
            { err: (err as Error).message },
            'ingest TLS reload failed; the previous certificates stay in use',
          );
        }
      }
    },
  };
  return app;
}

function readTlsFile(file: string, key: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new TlsFileError(
      `key "${key}": cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { cause: err },
    );
  }
}

/** the poller's options: its config section as it is */
function teleportOptionsOf(config: Readonly<Config>, deps: AppDeps, fromNow: boolean): TeleportSourceOptions {
  return {
    ...config.teleport,
    exitOnLastEvent: config.exitOnLastEvent,
    handlerMayHaveRun: deps.handlerMayHaveRun,
    startTime: fromNow ? undefined : config.teleport.startTime,
  };
}

interface AdminWiring {
  config: Readonly<Config>;
  logger: Logger;
  metrics: Metrics;
  sources: StatusSources;
  spool: Spool;
  /** the backfill jobs for /status, [] while there are none */
  backfill(): Promise<JobView[]>;
  /** the backfill manager; throws while the forwarder is still starting */
  jobs(): BackfillManager;
  moveCursor(to: number, apply: boolean): Promise<Record<string, unknown>>;
}

/** the admin server, when enabled; a dry run goes on without it when the running forwarder holds its port */
async function startAdmin(w: AdminWiring): Promise<{ admin?: AdminServer; address?: { host: string; port: number } }> {
  const { config, logger, metrics, sources, spool } = w;
  if (!config.admin.enabled) return {};
  const admin = createAdminServer(config.admin, {
    metrics,
    health: () => healthReport(sources),
    status: async () => ({ ...statusDoc(sources), backfill: await w.backfill() }),
    // the dead-letter endpoints work on the storage, which a dry run does not hold
    spool: config.dryRun ? undefined : spool,
    backfill:
      config.dryRun || !config.teleport.enabled
        ? undefined
        : {
            ...backfillApi({
              plan: (r) => w.jobs().plan(r),
              submit: (r) => w.jobs().submit(r),
              resume: () => w.jobs().resume(),
              list: () => w.jobs().list(),
              cancel: (id) => w.jobs().cancel(id),
              active: () => w.jobs().active(),
              idle: () => w.jobs().idle(),
              stop: () => w.jobs().stop(),
            }),
            cursor: async () => {
              const { liveCursor } = await import('./backfill/cursor.js');
              return liveCursor(await spool.listState(STATE_PREFIX));
            },
            moveCursor: w.moveCursor,
          },
    logger,
  });
  try {
    return { admin, address: await admin.start() };
  } catch (err) {
    // a dry run beside the running forwarder, with its config: the admin API is not what the dry run is for
    if (config.dryRun && ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE') {
      logger.warn(
        { port: config.admin.port },
        `the admin port is in use (the running forwarder?): the dry run goes on without the admin API`,
      );
      return {};
    }
    await spool.close();
    throw err;
  }
}
