// the commands of the command line, one function each: its flags (the yargs builder) and the call into its
// module. main.ts adds them to the command tree in the order --help lists them.
import type { Argv } from 'yargs';
import { withSettingOptions, givenFlags } from './options.js';
import type { SpoolAction } from './spool.js';
import type { BackfillAction } from './backfill.js';
import { parseTtlHours } from '../setup/ttl.js';

// each command's module is loaded when it runs: `start` must not carry the demo's fake Teleport, configure's
// certificate generator (node-forge) or grpc (when the poller is off) in its memory
type Run<M, K extends keyof M> = M[K] extends (...a: infer A) => infer R ? (...a: A) => R : never;
function lazy<M, K extends keyof M>(load: () => Promise<M>, name: K): Run<M, K> {
  return ((...a: unknown[]) => load().then((m) => (m[name] as (...a: unknown[]) => unknown)(...a))) as Run<M, K>;
}
const runStart = lazy(() => import('./start.js'), 'runStart');
const runDemo = lazy(() => import('./demo.js'), 'runDemo');
const runMigrate = lazy(() => import('./migrate.js'), 'runMigrate');
const runConfigure = lazy(() => import('./configure.js'), 'runConfigure');
const runCheck = lazy(() => import('./check.js'), 'runCheck');
const runStatus = lazy(() => import('./status.js'), 'runStatus');
const runSpool = lazy(() => import('./spool.js'), 'runSpool');
const runBackfill = lazy(() => import('./backfill.js'), 'runBackfill');

const omit = (flags: Record<string, unknown>, names: string[]) =>
  Object.fromEntries(Object.entries(flags).filter(([k]) => !names.includes(k)));

const CONFIG_DOC = 'config file [env: TDF_CONFIG, FDFWD_CONFIG]';

export interface CommandContext {
  /** runs the command, keeping its exit code */
  run(p: Promise<number>): Promise<void>;
  /** notes the flags of the command being parsed (its builder ran), for "did you mean" */
  flagsOf<T>(y: Argv<T>): Argv<T>;
}

/** adds one command to the tree */
export type AddCommand = (y: Argv, context: CommandContext) => Argv;

/** the commands, in the order --help lists them */
export const COMMANDS: readonly AddCommand[] = [
  startCommand,
  demoCommand,
  configureCommand,
  migrateCommand,
  checkCommand,
  statusCommand,
  spoolCommand,
  backfillCommand,
  cursorCommand,
];

function startCommand(y: Argv, { run, flagsOf }: CommandContext): Argv {
  return y.command(
    'start',
    'run the forwarder: Fluentd-compatible ingest and/or Teleport poller -> durable spool -> Datadog',
    (y) =>
      flagsOf(
        withSettingOptions(y, {
          configDoc:
            'TOML config file (ours, or a teleport-event-handler.toml, or a fluent.conf) [env: TDF_CONFIG, FDFWD_CONFIG]',
        }),
      ),
    (args) => run(runStart(args.config as string | undefined, givenFlags(args as Record<string, unknown>))),
  );
}

function demoCommand(y: Argv, { run, flagsOf }: CommandContext): Argv {
  return y.command(
    'demo',
    'see it work: a fake Teleport, a local Datadog-compatible intake and the forwarder, on embedded defaults',
    (y) =>
      flagsOf(
        y
          .option('dir', { type: 'string', describe: 'work directory (default: a new temp dir)' })
          .option('days', { type: 'number', default: 3, describe: 'days of audit events in the fake cluster' })
          .option('events-per-day', {
            type: 'number',
            default: 500,
            describe: 'audit events per day in the fake cluster',
          })
          .option('posts', {
            type: 'number',
            default: 200,
            describe: 'events a simulated teleport-event-handler posts to the ingest',
          })
          .option('follow', { type: 'boolean', default: false, describe: 'keep running until ctrl-c' }),
      ),
    (args) =>
      run(
        runDemo({
          dir: args.dir,
          days: args.days,
          eventsPerDay: args['events-per-day'],
          posts: args.posts,
          follow: args.follow,
          env: process.env,
          out: process.stdout,
        }),
      ),
  );
}

function configureCommand(y: Argv, { run, flagsOf }: CommandContext): Argv {
  return y.command(
    'configure <dir> [teleport-addr]',
    'write mTLS material, a Teleport role, our config and a sample teleport-event-handler.toml',
    (y) =>
      flagsOf(
        y
          .positional('dir', { type: 'string', demandOption: true, describe: 'directory to write into' })
          .positional('teleport-addr', {
            type: 'string',
            describe: 'Teleport Auth Service or Proxy address (host:port): turns the poller on',
          })
          .option('dns-names', {
            type: 'array',
            string: true,
            default: ['localhost'],
            describe: 'DNS names of the ingest server certificate',
          })
          .option('ip', {
            type: 'array',
            string: true,
            default: [] as string[],
            describe: 'IP addresses of the ingest server certificate',
          })
          .option('ttl', {
            type: 'string',
            default: '87600h',
            coerce: parseTtlHours,
            describe: 'certificate lifetime (Go duration)',
          })
          .option('length', {
            type: 'number',
            choices: [1024, 2048, 4096],
            default: 4096,
            describe: 'RSA key length',
          })
          .option('encrypt-key', {
            type: 'boolean',
            default: true,
            describe: 'encrypt server.key with a passphrase (like teleport-event-handler configure)',
          })
          .option('lock', {
            type: 'boolean',
            default: false,
            describe: 'grant the role the lock permissions (for lock.enabled)',
          })
          .option('force', { type: 'boolean', default: false, describe: 'overwrite existing files' }),
      ),
    (a) =>
      run(
        runConfigure({
          dir: a.dir as string,
          teleportAddr: a['teleport-addr'] as string | undefined,
          dnsNames: a['dns-names'] as string[],
          ips: a.ip as string[],
          ttlHours: a.ttl as number,
          bits: a.length as 1024 | 2048 | 4096,
          encryptServerKey: a['encrypt-key'] as boolean,
          lock: a.lock as boolean,
          force: a.force as boolean,
          out: process.stdout,
        }),
      ),
  );
}

function migrateCommand(y: Argv, { run, flagsOf }: CommandContext): Argv {
  return y.command(
    'migrate <fluent-conf>',
    'turn a fluent.conf (and a teleport-event-handler.toml) into our config, reporting what was not carried over',
    (y) =>
      flagsOf(
        y
          .positional('fluent-conf', { type: 'string', demandOption: true })
          .option('handler-config', {
            type: 'string',
            describe: 'teleport-event-handler.toml to carry over (turns the poller on)',
          })
          .option('out', { alias: 'o', type: 'string', default: 'forwarder.toml', describe: 'config file to write' })
          .option('force', { type: 'boolean', default: false, describe: 'overwrite existing files' }),
      ),
    (a) =>
      run(
        runMigrate({
          fluentConf: a['fluent-conf'] as string,
          handlerConfig: a['handler-config'] as string | undefined,
          out: a.out as string,
          force: a.force as boolean,
        }),
      ),
  );
}

function checkCommand(y: Argv, { run, flagsOf }: CommandContext): Argv {
  return y.command(
    'check',
    'validate config, files, permissions and certificates; check the Datadog key and dial Teleport',
    (y) =>
      flagsOf(
        withSettingOptions(
          y.option('offline', {
            type: 'boolean',
            default: false,
            describe: 'skip the Datadog and Teleport network checks',
          }),
          { configDoc: CONFIG_DOC, shown: ['storage', 'teleport.addr', 'teleport.identity', 'datadog.site'] },
        ),
      ),
    (a) =>
      run(
        runCheck({
          configFile: a.config as string | undefined,
          flags: givenFlags(a as Record<string, unknown>),
          env: process.env,
          out: process.stdout,
          offline: a.offline as boolean,
        }),
      ),
  );
}

function statusCommand(y: Argv, { run, flagsOf }: CommandContext): Argv {
  return y.command(
    'status',
    'what the forwarder is doing: cursor, spool depth, oldest record age, dead letters, last errors',
    (y) =>
      flagsOf(
        withSettingOptions(
          y
            .option('url', {
              type: 'string',
              describe: 'admin server URL (default: from the config, http://127.0.0.1:8889)',
            })
            .option('json', { type: 'boolean', default: false, describe: 'print the raw status document' }),
          { configDoc: CONFIG_DOC, shown: ['storage', 'admin.host', 'admin.port'] },
        ),
      ),
    (a) =>
      run(
        runStatus({
          configFile: a.config as string | undefined,
          flags: givenFlags(a as Record<string, unknown>),
          env: process.env,
          url: a.url as string | undefined,
          out: process.stdout,
          json: a.json as boolean,
        }),
      ),
  );
}

function spoolCommand(y: Argv, { run, flagsOf }: CommandContext): Argv {
  return y.command(
    'spool <action>',
    'inspect the spool and its dead letters: stats, ls --dead, replay --dead [--id K], purge --dead --before T; ' +
      'repair a damaged storage (copied aside first)',
    (y) =>
      flagsOf(
        withSettingOptions(
          y
            .positional('action', {
              choices: ['stats', 'ls', 'replay', 'purge', 'repair'] as const,
              demandOption: true,
            })
            .option('dead', {
              type: 'boolean',
              default: false,
              describe: 'act on dead letters (records Datadog refused for good)',
            })
            .option('id', { type: 'array', string: true, describe: 'dead letter keys (replay)' })
            .option('before', {
              type: 'string',
              describe: 'purge dead letters older than this: RFC 3339 time or an age like "7d", "24h"',
            })
            .option('limit', { type: 'number', describe: 'how many to list' })
            .option('url', { type: 'string', describe: 'admin server URL, used when the forwarder is running' }),
          { configDoc: CONFIG_DOC, shown: ['storage', 'admin.host', 'admin.port'] },
        ),
      ),
    (a) =>
      run(
        runSpool({
          action: a.action as SpoolAction,
          dead: a.dead as boolean,
          id: a.id as string[] | undefined,
          before: a.before as string | undefined,
          limit: a.limit as number | undefined,
          configFile: a.config as string | undefined,
          flags: givenFlags(a as Record<string, unknown>),
          env: process.env,
          url: a.url as string | undefined,
          out: process.stdout,
        }),
      ),
  );
}

function backfillCommand(y: Argv, { run }: CommandContext): Argv {
  return y.command(
    'backfill [action] [id]',
    'ship a past time range again or for the first time, as a job beside the live poller: ' +
      'backfill --from T1 --to T2 [--sessions]; backfill ls; backfill cancel ID',
    (y) =>
      // the job's own --types and --skip-event-types replace the live poller's settings of those names
      withSettingOptions(y, {
        configDoc: CONFIG_DOC,
        shown: ['storage', 'teleport.addr', 'teleport.identity', 'datadog.site', 'admin.host', 'admin.port'],
      })
        .positional('action', {
          choices: ['run', 'ls', 'cancel'] as const,
          default: 'run',
          describe: 'run (the default: start or resume a job), ls (list jobs), cancel ID',
        })
        .positional('id', { type: 'string', describe: 'the job id (cancel)' })
        .option('from', {
          type: 'string',
          describe: 'range start, inclusive: RFC 3339 time or an age like "7d", "36h"',
        })
        .option('to', { type: 'string', describe: 'range end, exclusive: RFC 3339 time or an age (default: now)' })
        .option('types', {
          type: 'array',
          string: true,
          describe: 'event types to ship (default: the types setting, as for the live poller)',
        })
        .option('skip-event-types', {
          type: 'array',
          string: true,
          describe: 'event types not to ship (default: the skip-event-types setting)',
        })
        .option('sessions', {
          type: 'boolean',
          default: false,
          describe: 'also ship the recordings of the sessions uploaded in the range',
        })
        .option('allow-duplicates', {
          type: 'boolean',
          default: false,
          describe: 'send again what the live poller shipped (else the range is clipped at its start time)',
        })
        .option('detach', {
          type: 'boolean',
          default: false,
          describe: 'with the forwarder running: submit the job and return without following it',
        })
        .option('url', { type: 'string', describe: 'admin server URL of the running forwarder' }),
    (a) =>
      run(
        runBackfill({
          action: a.action as BackfillAction,
          id: a.id as string | undefined,
          from: a.from as string | undefined,
          to: a.to as string | undefined,
          types: a.types as string[] | undefined,
          skipEventTypes: a['skip-event-types'] as string[] | undefined,
          sessions: a.sessions as boolean,
          allowDuplicates: a['allow-duplicates'] as boolean,
          detach: a.detach as boolean,
          configFile: a.config as string | undefined,
          flags: omit(givenFlags(a as Record<string, unknown>), ['types', 'skip-event-types']),
          env: process.env,
          url: a.url as string | undefined,
          out: process.stdout,
        }),
      ),
  );
}

function cursorCommand(y: Argv, { run }: CommandContext): Argv {
  return y.command(
    'cursor <action>',
    "the live poller's cursor: cursor show; cursor set --start-time T (says what is skipped or sent again, asks first)",
    (y) =>
      // --start-time here is where the cursor goes, not the start-time setting
      withSettingOptions(y, { configDoc: CONFIG_DOC, shown: ['storage', 'admin.host', 'admin.port'] })
        .positional('action', { choices: ['show', 'set'] as const, demandOption: true })
        .option('start-time', {
          type: 'string',
          describe: 'set: where the live poller starts now: RFC 3339 time or an age like "2d"',
        })
        .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'set: do not ask (scripts)' })
        .option('url', { type: 'string', describe: 'admin server URL of the running forwarder' }),
    (a) =>
      run(
        import('./cursor.js').then(({ runCursor, terminalConfirm }) =>
          runCursor({
            action: a.action as 'show' | 'set',
            startTime: a['start-time'] as string | undefined,
            yes: a.yes as boolean,
            configFile: a.config as string | undefined,
            flags: omit(givenFlags(a as Record<string, unknown>), ['start-time']),
            env: process.env,
            url: a.url as string | undefined,
            out: process.stdout,
            confirm: terminalConfirm(),
          }),
        ),
      ),
  );
}
