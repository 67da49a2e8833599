// yargs options derived from the config schema, so every setting has its flag (and teleport-event-handler's
// spelling as an alias). flags carry no yargs defaults: the loader applies defaults, so it can tell which
// flags the user gave.
import type { Argv, Options } from 'yargs';
import { SETTINGS, envName, flagName } from '../config/schema.js';
import { defaultValueText } from '../config/docs.js';
import { closest } from '../config/values.js';
import { ConfigError } from '../errors.js';

/** the settings a first run sets, listed first under --config in --help */
export const COMMON_KEYS: readonly string[] = [
  'storage',
  'ingest.port',
  'teleport.addr',
  'teleport.identity',
  'datadog.site',
  'datadog.api-key-file',
  'dry-run',
  'log-level',
  'debug',
];
export const COMMON_GROUP = 'Common:';

export function settingOptions(): Record<string, Options> {
  const out: Record<string, Options> = {};
  for (const s of SETTINGS) {
    const env = [envName(s.key), ...(s.env ?? [])].join(', ');
    out[flagName(s.key)] = {
      // whole numbers parse as numbers; sizes ("32MiB") and durations ("10s") stay strings for the loader
      type: s.type === 'bool' ? 'boolean' : s.type === 'int' ? 'number' : 'string',
      describe: `${s.doc} [env: ${env}]${s.default !== undefined && !s.secret ? ` [default: ${defaultValueText(s.type, s.default)}]` : ''}`,
      alias: [...(s.aliases ?? []), ...(s.short ? [s.short] : [])],
      group: COMMON_KEYS.includes(s.key) ? COMMON_GROUP : groupOf(s.key),
    };
  }
  return out;
}

/** teleport-event-handler's [forward.fluentd] keys: listed so a migrating user finds --fluentd-url, but last */
export const COMPAT_GROUP = 'teleport-event-handler compatibility:';

/**
 * adds --config and the setting flags to a command. yargs lists groups in the order they are first named and
 * adds its own "Options:" (--help, --version) at the end unless named before: --config and the common flags
 * lead, "Options:" is named before the compatibility flags to keep those last. `shown`: the setting keys this
 * command lists (the command's own flags go in "Options:"); the others are accepted, hidden, with a note.
 */
export function withSettingOptions<T>(y: Argv<T>, o: { configDoc: string; shown?: readonly string[] }) {
  const main: Record<string, Options> = {};
  const compat: Record<string, Options> = {};
  const all = settingOptions();
  const shown = o.shown && new Set(o.shown.map(flagName));
  for (const [name, opt] of Object.entries(all)) {
    const hidden = shown !== undefined && !shown.has(name);
    const entry = hidden ? { ...opt, hidden: true, group: undefined } : opt;
    (opt.group === COMPAT_GROUP && !hidden ? compat : main)[name] = entry;
  }
  const rank = (name: string) => {
    const i = COMMON_KEYS.map(flagName).indexOf(name);
    return i < 0 ? COMMON_KEYS.length : i;
  };
  const ordered = Object.fromEntries(Object.entries(main).sort(([a], [b]) => rank(a) - rank(b)));
  const withConfig = y.option('config', { alias: 'c', type: 'string', describe: o.configDoc, group: COMMON_GROUP });
  const out = withConfig.options(ordered).group([], 'Options:').options(compat);
  return shown
    ? out.epilogue(
        'Every setting flag of `start` (see start --help) is accepted too, so this command reads the config start would.',
      )
    : out;
}

function groupOf(key: string): string {
  const head = key.split('.')[0]!;
  switch (head) {
    case 'ingest':
      return 'Ingest (Fluentd in_http over mTLS):';
    case 'datadog':
      return 'Datadog:';
    case 'spool':
      return 'Spool:';
    case 'routing':
      return 'Routing:';
    case 'forward':
      return COMPAT_GROUP;
    case 'teleport':
    case 'lock':
      return 'Teleport poller:';
    default:
      return [
        'batch',
        'window-size',
        'types',
        'skip-event-types',
        'skip-session-types',
        'concurrency',
        'timeout',
        'start-time',
        'poll-interval',
        'events-tag',
        'session-tag-prefix',
      ].includes(key)
        ? 'Teleport poller:'
        : 'General:';
  }
}

/** the flags the user actually gave, by flag name */
export function givenFlags(argv: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const name = flagName(s.key);
    const v = argv[name];
    if (v === undefined) continue;
    // yargs makes a number flag that is not one NaN, and the text is gone: say what was expected
    if (typeof v === 'number' && Number.isNaN(v))
      throw new ConfigError(`flag --${name}: expected a whole number${s.min !== undefined ? ` from ${s.min}` : ''}`);
    out[name] = v;
  }
  return out;
}

/**
 * yargs' "Unknown argument(s): a, aB" as one line per flag with the nearest known flag: `Unknown argument:
 * --ingest-prot. Did you mean --ingest-port?`. undefined when msg is not about unknown arguments
 */
export function unknownArgumentMessage(msg: string, known: readonly string[]): string | undefined {
  const m = /^Unknown arguments?: (.+)$/.exec(msg.trim());
  if (!m) return undefined;
  const given = m[1]!.split(', ').map((a) => a.trim());
  // yargs also names the camel-case spelling of each dashed one (ingest-prot, ingestProt): keep the dashed
  const dashed = new Set(given.filter((a) => a.includes('-')).map(camel));
  const names = given.filter((a) => !dashed.has(a));
  return names
    .map((a) => {
      const flag = a.length === 1 ? `-${a}` : `--${a}`;
      const near =
        a.length > 1
          ? closest(
              a,
              known.filter((k) => k.length > 1 && !/[A-Z]/.test(k)),
            )
          : undefined;
      return `Unknown argument: ${flag}.${near ? ` Did you mean --${near}?` : ''}`;
    })
    .join('\n');
}

function camel(s: string): string {
  return s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
