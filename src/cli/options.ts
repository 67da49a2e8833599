// yargs options derived from the config schema, so every setting has its flag (and teleport-event-handler's
// spelling as an alias). flags carry no yargs defaults: the loader applies defaults, so it can tell which
// flags the user gave.
import type { Argv, Options } from 'yargs';
import { SETTINGS, envName, flagName } from '../config/schema.js';
import { defaultValueText } from '../config/docs.js';

export function settingOptions(): Record<string, Options> {
  const out: Record<string, Options> = {};
  for (const s of SETTINGS) {
    const env = [envName(s.key), ...(s.env ?? [])].join(', ');
    out[flagName(s.key)] = {
      type: s.type === 'bool' ? 'boolean' : 'string',
      describe: `${s.doc} [env: ${env}]${s.default !== undefined && !s.secret ? ` [default: ${defaultValueText(s.type, s.default)}]` : ''}`,
      alias: [...(s.aliases ?? []), ...(s.short ? [s.short] : [])],
      group: groupOf(s.key),
    };
  }
  return out;
}

/** teleport-event-handler's [forward.fluentd] keys: listed so a migrating user finds --fluentd-url, but last */
export const COMPAT_GROUP = 'teleport-event-handler compatibility:';

/**
 * adds the setting flags to a command. yargs lists groups in the order they are first named and adds its own
 * "Options:" (--config, --help, ...) at the end unless named before: naming it before the compatibility flags
 * keeps those last.
 */
export function withSettingOptions<T>(y: Argv<T>) {
  const main: Record<string, Options> = {};
  const compat: Record<string, Options> = {};
  for (const [name, o] of Object.entries(settingOptions())) (o.group === COMPAT_GROUP ? compat : main)[name] = o;
  return y.options(main).group([], 'Options:').options(compat);
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
    if (argv[name] !== undefined) out[name] = argv[name];
  }
  return out;
}
