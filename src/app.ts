// the one place that wires components together and orders start and stop:
//   sources (http ingest, teleport poller) -> router -> spool (fsync) -> datadog sink
// start: spool, router, sink, then sources. stop: sources first (accept nothing new), then the sink (finish
// in-flight requests up to a deadline), then the spool (flush and close leveldb).
import { readFileSync } from 'node:fs';
import type { Logger } from './telemetry/logger.js';
import type { Config } from './config/load.js';
import type { SourceRecord } from './record.js';
import type { Spool, StateOp } from './spool/types.js';
import { openSpool } from './spool/spool.js';
import { createRouter, type Router } from './router/router.js';
import { createIngestServer, type IngestServer } from './sources/http/server.js';
import { createDatadogSink, type DatadogSink } from './sinks/datadog/sink.js';
import { DecodeError, TlsFileError } from './errors.js';

export interface App {
  config: Readonly<Config>;
  spool: Spool;
  router: Router;
  /** where the ingest listens, when enabled */
  ingest?: { host: string; port: number };
  /** resolves when the app has stopped (by stop() or, with exit-on-last-event, once caught up) */
  stopped: Promise<void>;
  stop(reason?: string): Promise<void>;
  /** reload TLS files (SIGHUP) */
  reload(): void;
}

export interface AppDeps {
  logger: Logger;
  /** how long stop() lets in-flight deliveries finish */
  drainDeadlineMs?: number;
}

export async function startApp(config: Readonly<Config>, deps: AppDeps): Promise<App> {
  const { logger } = deps;
  const spool = await openSpool({ path: config.storage, maxBytes: config.spool.maxBytes, logger });
  const stats = spool.stats();
  logger.info({ storage: config.storage, records: stats.records, bytes: stats.bytes, deadLetters: stats.deadLetters }, 'spool opened');

  const router = createRouter({
    rules: config.routing.rules,
    unmatched: config.routing.unmatched,
    hostname: config.hostname,
    oldTimestamps: config.routing.oldTimestamps,
    maxAgeMs: config.routing.maxAgeMs,
    logger,
  });

  // route a source's records and append the survivors, with the source's state, in one synced batch
  const emit = async (records: SourceRecord[], state: StateOp[] = []): Promise<void> => {
    const values: string[] = [];
    for (const rec of records) {
      const r = router.route(rec);
      if (r.kind === 'send') values.push(r.value);
      else if (r.kind === 'reject') throw new DecodeError(r.reason, 400);
    }
    if (config.dryRun) {
      if (values.length > 0) logger.info({ records: values.length, sample: JSON.parse(values[0]!) }, 'dry run: would ship records');
      return;
    }
    if (values.length === 0 && state.length === 0) return;
    await spool.append(values, state);
  };

  let sink: DatadogSink | undefined;
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
      },
      { spool, logger },
    );
    sink.start();
  }

  let ingest: IngestServer | undefined;
  let ingestAddress: { host: string; port: number } | undefined;
  const readIngestTls = () => ({
    ca: readTlsFile(config.ingest.ca!, 'ingest.ca'),
    cert: readTlsFile(config.ingest.cert!, 'ingest.cert'),
    key: readTlsFile(config.ingest.key!, 'ingest.key'),
    passphrase: config.ingest.keyPassphrase,
  });
  if (config.ingest.enabled) {
    ingest = createIngestServer(
      {
        host: config.ingest.host,
        port: config.ingest.port,
        tls: readIngestTls(),
        bodyLimit: config.ingest.bodyLimit,
        maxDecompressedBytes: config.ingest.maxDecompressed,
        retryAfterSeconds: Math.max(1, Math.ceil(config.ingest.retryAfterMs / 1000)),
      },
      { logger, accept: (records) => emit(records) },
    );
    try {
      ingestAddress = await ingest.start();
    } catch (err) {
      await sink?.stop(0);
      await spool.close();
      throw err;
    }
  }

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  const stop = (reason = 'stop requested'): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'stopping: no new records are accepted');
      await ingest?.close();
      await sink?.stop(deps.drainDeadlineMs ?? 10_000);
      const left = spool.stats();
      await spool.close();
      logger.info({ undelivered: left.records, deadLetters: left.deadLetters }, 'stopped; undelivered records stay in the spool for the next start');
      resolveStopped();
    })();
    return stopping;
  };

  return {
    config,
    spool,
    router,
    ingest: ingestAddress,
    stopped,
    stop,
    reload() {
      if (ingest) {
        try {
          ingest.reloadTls(readIngestTls());
        } catch (err) {
          logger.error({ err: (err as Error).message }, 'ingest TLS reload failed; the previous certificates stay in use');
        }
      }
    },
  };
}

function readTlsFile(file: string, key: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new TlsFileError(`key "${key}": cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}
