// the one place that wires components together and orders start and stop:
//   sources (http ingest, teleport poller) -> router -> spool (fsync) -> datadog sink
// start: spool, router, sink, then sources. stop: sources first (accept nothing new), then the sink (finish
// in-flight requests up to a deadline), then the spool (flush and close leveldb).
import { readFileSync, readdirSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import type { Logger } from './telemetry/logger.js';
import type { Config } from './config/load.js';
import type { SourceRecord } from './record.js';
import type { Spool, StateOp } from './spool/types.js';
import { DryRunState } from './spool/dry-run.js';
import { PREFIX as STATE_PREFIX } from './sources/teleport/state.js';
import { openSpool } from './spool/spool.js';
import { levelCode } from './spool/storage-errors.js';
import { applyHeapGrowingPercent } from './runtime.js';
import { createRouter, type Router } from './router/router.js';
import { createFilterChain } from './filter/chain.js';
import { createIngestServer, type IngestServer } from './sources/http/server.js';
import { createDatadogSink, type DatadogSink } from './sinks/datadog/sink.js';
import { createTeleportSource, type TeleportSource } from './sources/teleport/source.js';
import { DecodeError, DryRunNotKeptError, TlsFileError } from './errors.js';
import { createMetrics, type Metrics, type RecordSource } from './telemetry/metrics.js';
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
}

export async function startApp(config: Readonly<Config>, deps: AppDeps): Promise<App> {
  const { logger } = deps;
  const heapGrowth = applyHeapGrowingPercent(config.runtime.heapGrowingPercent);
  logger.debug({ heapGrowingPercent: heapGrowth ?? 'set by node flags' }, 'v8 heap growth');
  const { spool, dryRunFrom } = await openStorage(config, logger);
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

  const router = createRouter({
    rules: config.routing.rules,
    unmatched: config.routing.unmatched,
    hostname: config.hostname,
    oldTimestamps: config.routing.oldTimestamps,
    maxAgeMs: config.routing.maxAgeMs,
    logger,
  });

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
  let admin: AdminServer | undefined;
  let adminAddress: { host: string; port: number } | undefined;
  if (config.admin.enabled) {
    admin = createAdminServer(config.admin, {
      metrics,
      health: () => healthReport(sources),
      status: () => statusDoc(sources),
      // the dead-letter endpoints work on the storage, which a dry run does not hold
      spool: config.dryRun ? undefined : spool,
      logger,
    });
    try {
      adminAddress = await admin.start();
    } catch (err) {
      // a dry run beside the running forwarder, with its config: the admin API is not what the dry run is for
      if (config.dryRun && ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE') {
        logger.warn(
          { port: config.admin.port },
          `the admin port is in use (the running forwarder?): the dry run goes on without the admin API`,
        );
        admin = undefined;
      } else {
        await spool.close();
        throw err;
      }
    }
  }
  const closeEarly = async (): Promise<void> => {
    await admin?.close();
    spoolOpen = false;
    await spool.close();
  };

  // route a source's records and append the survivors, with the source's state, in one synced batch.
  // dry run routes the same way and writes nothing (neither records nor state): one line per batch says what
  // would be shipped, dropped or rejected, with the first routed log as a sample. it keeps nothing, so it
  // acknowledges nothing an http client would lose: the ingest answers 503 and the client keeps its records
  const emit = async (source: RecordSource, received: SourceRecord[], state: StateOp[] = []): Promise<void> => {
    metrics.observeRecords(source, received);
    const records = filters.apply(received);
    const values: string[] = [];
    let dropped = 0;
    let rejected = 0;
    let rejectReason: string | undefined;
    // the poller has no client to refuse: a record no rule matches is dropped and counted, whatever routing.unmatched
    const unmatched = source === 'teleport' ? 'drop' : undefined;
    for (const rec of records) {
      const r = router.route(rec, unmatched);
      if (r.kind === 'send') values.push(r.value);
      else if (r.kind === 'drop') dropped++;
      else if (source === 'teleport') {
        // a poller record the router cannot write as JSON: refusing its batch would stall the export for good
        dropped++;
        logger.error({ tag: rec.tag, reason: r.reason }, 'a teleport record could not be routed and was dropped');
      } else if (!config.dryRun) throw new DecodeError(r.reason, 400);
      else {
        rejected++;
        rejectReason ??= r.reason;
      }
    }
    if (config.dryRun) {
      if (records.length === 0) return;
      if (rejectReason === undefined) {
        const sample = values.length > 0 ? JSON.parse(values[0]!) : undefined;
        logger.info({ source, records: values.length, dropped, sample }, 'dry run: would ship records');
        if (source === 'http' && values.length > 0) throw new DryRunNotKeptError();
        return;
      }
      // a real run refuses the whole batch (the ingest answers 400): so does the dry run, once it said so
      logger.info(
        { source, records: 0, dropped, rejected, reason: rejectReason },
        'dry run: the rules would reject this batch; nothing of it would be shipped',
      );
      throw new DecodeError(rejectReason, 400);
    }
    if (values.length === 0 && state.length === 0) return;
    await spool.append(values, state);
    metrics.observeSpooled(values.length);
  };

  const readIngestTls = () => ({
    ca: readTlsFile(config.ingest.ca!, 'ingest.ca'),
    cert: readTlsFile(config.ingest.cert!, 'ingest.cert'),
    key: readTlsFile(config.ingest.key!, 'ingest.key'),
    passphrase: config.ingest.keyPassphrase,
  });
  // read before anything starts, so an unreadable file stops start-up with nothing left running
  let ingestTls: ReturnType<typeof readIngestTls> | undefined;
  try {
    ingestTls = config.ingest.enabled ? readIngestTls() : undefined;
  } catch (err) {
    await closeEarly();
    throw err;
  }

  if (!config.dryRun) {
    sink = createDatadogSink(
      {
        apiKey: config.datadog.apiKey!,
        site: config.datadog.site,
        url: config.datadog.url,
        concurrency: config.datadog.concurrency,
        batchMaxEntries: config.datadog.batchMaxEntries,
        batchMaxBytes: config.datadog.batchMaxBytes,
        timeoutMs: config.datadog.timeoutMs,
        compression: config.datadog.compression,
        compressionLevel: config.datadog.compressionLevel,
        extraCaFile: config.datadog.caFile,
        retryBaseMs: config.datadog.retryInitialMs,
        retryCapMs: config.datadog.retryMaxMs,
        authRetryMs: config.datadog.authRetryMs,
        batchWaitMs: config.datadog.batchWaitMs,
      },
      { spool, logger, onResponse: metrics.observeDatadog },
    );
    sink.start();
    await sink.ready();
  }

  if (config.ingest.enabled) {
    ingest = createIngestServer(
      {
        host: config.ingest.host,
        port: config.ingest.port,
        tls: ingestTls!,
        bodyLimit: config.ingest.bodyLimit,
        maxDecompressedBytes: config.ingest.maxDecompressed,
        retryAfterSeconds: Math.max(1, Math.ceil(config.ingest.retryAfterMs / 1000)),
        requestTimeoutMs: config.ingest.requestTimeoutMs,
        maxRecords: config.ingest.maxRecords,
      },
      { logger, accept: (records) => emit('http', records), onResponse: metrics.observeIngest },
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
        'dry run: the ingest logs what it would ship and answers 503, since it keeps nothing: clients keep their records and send them again',
      );
    }
  }

  if (config.teleport.enabled) {
    const t = config.teleport;
    teleport = createTeleportSource(
      {
        addr: t.addr,
        identityFile: t.identity,
        certFile: t.cert,
        keyFile: t.key,
        caFile: t.ca,
        refreshEnabled: t.refreshEnabled,
        refreshIntervalMs: t.refreshIntervalMs,
        timeoutMs: t.timeoutMs,
        batch: t.batch,
        windowSizeMs: t.windowSizeMs,
        types: [...t.types],
        skipEventTypes: [...t.skipEventTypes],
        skipSessionTypes: [...t.skipSessionTypes],
        // a dry run beside a running forwarder reads from now, unless a start-time was given for it
        startTime: dryRunFrom === 'now' ? undefined : t.startTime,
        concurrency: t.concurrency,
        dryRun: config.dryRun,
        exitOnLastEvent: config.exitOnLastEvent,
        eventsTag: t.eventsTag,
        sessionTagPrefix: t.sessionTagPrefix,
        pollIntervalMs: t.pollIntervalMs,
        streamIdleMs: t.streamIdleMs,
        lock: { ...t.lock },
        serverName: t.serverName,
        mode: t.mode,
        clusterName: t.clusterName,
      },
      {
        emit: (records, state) => emit('teleport', records, state),
        waitForSpace: (signal) => spool.waitForSpace(signal),
        getState: (k) => spool.getState(k),
        listState: (p) => spool.listState(p),
        putState: (ops) => spool.putState(ops),
        logger,
      },
    );
    try {
      await teleport.start();
    } catch (err) {
      await ingest?.close();
      await sink?.stop(0);
      await closeEarly();
      throw err;
    }
  }

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  const stop = (reason = 'stop requested'): Promise<void> => {
    stopping ??= (async () => {
      shuttingDown = true; // /readyz answers 503 from now on; /metrics and /status stay up while draining
      logger.info({ reason }, 'stopping: no new records are accepted');
      await ingest?.close();
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
          while (!stopping && !config.dryRun && spool.stats().records > 0) await new Promise((r) => setTimeout(r, 100));
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

/**
 * the spool. a dry run never holds the storage: it reads the poller's cursors from it (open, read, close at
 * once, so a real start is not locked out while it runs) into an in-memory stand-in. with no storage yet it
 * starts as a first run would; beside a running forwarder, whose cursors it cannot read, from now (or a
 * start-time given for this run) rather than re-reading the whole history from the configured start-time.
 */
async function openStorage(config: Readonly<Config>, logger: Logger): Promise<{ spool: Spool; dryRunFrom?: 'now' }> {
  if (!config.dryRun)
    return { spool: await openSpool({ path: config.storage, maxBytes: config.spool.maxBytes, logger }) };
  const nothing = 'the dry run writes nothing';
  if (!holdsFiles(config.storage)) {
    // no spool yet: nothing to read, and a dry run should not create one (maybe as the wrong user)
    logger.info(
      { storage: config.storage },
      `storage ${config.storage} holds no spool yet; the dry run starts from start-time as a first run would, and ${nothing}`,
    );
    return { spool: new DryRunState(config.spool.maxBytes) };
  }
  let real: Spool;
  try {
    real = await openSpool({ path: config.storage, maxBytes: config.spool.maxBytes, logger });
  } catch (err) {
    if (levelCode(err) !== 'LEVEL_LOCKED') throw err;
    const given = /^(flag|env) /.test(config.origins['start-time'] ?? '');
    logger.warn(
      { storage: config.storage },
      `storage ${config.storage} is in use by a running forwarder, so its cursors cannot be read: the dry run reads Teleport from ${given ? 'the start-time given' : 'now (give --start-time to look further back)'}, and ${nothing}`,
    );
    return { spool: new DryRunState(config.spool.maxBytes), dryRunFrom: given ? undefined : 'now' };
  }
  try {
    const state = await real.listState(STATE_PREFIX);
    const queued = real.stats().records;
    logger.info(
      { storage: config.storage, cursors: state.length, queued },
      `dry run: read the poller's cursors from ${config.storage} and closed it; ${nothing}`,
    );
    return { spool: new DryRunState(config.spool.maxBytes, state) };
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
