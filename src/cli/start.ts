// `start`: load the config once, start the app, and own the process lifecycle (signals, exit codes).
import { loadConfig } from '../config/load.js';
import { createLogger } from '../telemetry/logger.js';
import { startApp, type App } from '../app.js';
import { TlsFileError } from '../errors.js';
import { startupChecks, startupFailure } from './check.js';

export async function runStart(configFile: string | undefined, flags: Record<string, unknown>): Promise<number> {
  const config = loadConfig({ file: configFile, flags });
  const logger = createLogger({ level: config.logLevel });
  // the files `check` looks at, before the spool or the admin server opens: a missing file or passphrase stops
  // start-up with check's message (where it was set, what was expected, what to do), and nothing left to undo
  const results = startupChecks(config, Date.now());
  const failure = startupFailure(results, config);
  if (failure) throw new TlsFileError(failure);
  // a group-readable secret is how the systemd unit and the helm chart share files with the service: only a file
  // open to other users is worth a line at every start (check still reports both)
  for (const r of results) {
    if (r.status === 'pass' || r.status === 'skip' || (r.name === 'secret-mode' && r.status === 'warn')) continue;
    logger.warn({ check: r.name }, r.detail);
  }
  for (const n of config.fluentNotes) logger[n.level]({ where: n.where }, `fluent.conf: ${n.message}`);
  for (const n of config.notes) logger[n.level]({ where: n.where }, n.message);
  logger.info(
    { config: config.file, ingest: config.ingest.enabled, teleport: config.teleport.enabled, dryRun: config.dryRun },
    'starting teleport-datadog-forwarder',
  );
  // signals are handled from before start-up: one that arrives while the app starts (the ingest may already be
  // listening) stops it cleanly once it is up, instead of killing the process half-started
  let app: App | undefined;
  let stopReason: string | undefined;
  const stop = (reason: string) => {
    app!.stop(reason).catch((err: unknown) => logger.error({ err: (err as Error)?.message }, 'stopping failed'));
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (app) stop(`received ${sig}`);
    else stopReason ??= `received ${sig} while starting`;
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.on('SIGHUP', () => app?.reload());
  app = await startApp(config, { logger });
  if (stopReason) stop(stopReason);
  await app.stopped;
  return app.exitCode;
}
