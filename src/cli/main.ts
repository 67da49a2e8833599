#!/usr/bin/env node
// the command line: parses flags and calls into the app. errors a user can act on are printed as one line
// on stderr with exit code 2; anything unexpected exits 1.
// first, before anything else loads (runtime.ts)
import './prime.js';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError, ForwarderError } from '../errors.js';
import { unknownArgumentMessage } from './options.js';
import { COMMANDS, type CommandContext } from './commands.js';

async function main(argv: string[]): Promise<number> {
  let code = 0;
  /** the flags of the command being parsed (its builder ran), for "did you mean" */
  let commandFlags = ['help', 'version'];
  const context: CommandContext = {
    run: (p) =>
      p.then((c) => {
        code = c;
      }),
    flagsOf(y) {
      commandFlags = Object.keys((y as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key);
      return y;
    },
  };
  const tree = COMMANDS.reduce(
    (y, add) => add(y, context),
    yargs(argv).scriptName('teleport-datadog-forwarder').usage('$0 <command> [options]'),
  );
  await tree
    .demandCommand(1, 'name a command: start, demo, configure, migrate, check, status, spool, backfill, cursor')
    .strict()
    .help()
    .wrap(Math.min(120, process.stdout.columns || 120))
    // throwing (not printing) stops yargs from still running the command after it refused an argument
    .fail((msg, err) => {
      if (err) throw err;
      throw new ConfigError(`${unknownArgumentMessage(msg, commandFlags) ?? msg}\nrun with --help for usage`);
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
