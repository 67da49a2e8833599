#!/usr/bin/env node
// the command line: parses flags and calls into the app. errors a user can act on are printed as one line
// on stderr with exit code 2; anything unexpected exits 1.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ForwarderError } from '../errors.js';
import { settingOptions, givenFlags } from './options.js';
import { runStart } from './start.js';

async function main(argv: string[]): Promise<number> {
  let code = 0;
  const run = (p: Promise<number>) => p.then((c) => { code = c; });
  await yargs(argv)
    .scriptName('teleport-datadog-forwarder')
    .usage('$0 <command> [options]')
    .command(
      'start',
      'run the forwarder: Fluentd-compatible ingest and/or Teleport poller -> durable spool -> Datadog',
      (y) => y.option('config', { alias: 'c', type: 'string', describe: 'TOML config file (ours, or a teleport-event-handler.toml) [env: TDF_CONFIG, FDFWD_CONFIG]' }).options(settingOptions()),
      (args) => run(runStart(args.config as string | undefined, givenFlags(args as Record<string, unknown>))),
    )
    .demandCommand(1, 'name a command: start')
    .strict()
    .help()
    .wrap(Math.min(120, process.stdout.columns || 120))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`error: ${msg}\nrun with --help for usage\n`);
      code = 2;
    })
    .parseAsync();
  return code;
}

main(hideBin(process.argv)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof ForwarderError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`fatal: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
