// `start`: load the config once, start the app, and own the process lifecycle (signals, exit codes).
import { loadConfig, isLooseSecretFile } from '../config/load.js';
import { createLogger } from '../telemetry/logger.js';
import { startApp } from '../app.js';

export async function runStart(configFile: string | undefined, flags: Record<string, unknown>): Promise<number> {
  const config = loadConfig({ file: configFile, flags });
  const logger = createLogger({ level: config.logLevel });
  if (config.datadog.apiKeyOrigin && config.datadog.apiKeyOrigin.startsWith('/') && isLooseSecretFile(config.datadog.apiKeyOrigin)) {
    logger.warn({ file: config.datadog.apiKeyOrigin }, 'the Datadog API key file is readable by group or others; chmod 600 it');
  }
  for (const n of config.fluentNotes) logger[n.level]({ where: n.where }, `fluent.conf: ${n.message}`);
  logger.info({ config: config.file, ingest: config.ingest.enabled, teleport: config.teleport.enabled, dryRun: config.dryRun }, 'starting teleport-datadog-forwarder');
  const app = await startApp(config, { logger });
  const onSignal = (sig: NodeJS.Signals) => {
    app.stop(`received ${sig}`).catch((err: unknown) => logger.error({ err: (err as Error)?.message }, 'stopping failed'));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.on('SIGHUP', () => app.reload());
  await app.stopped;
  return app.exitCode;
}
