// loads the configuration once at start: defaults < TOML file < env vars < flags. every value is validated
// against the schema; an error names where the bad value came from (file and key, env var, or flag) and what
// was expected. the result is frozen. its sections follow from the schema (sections.ts): only the values computed
// from several settings (which sources run, resolved files, the api key, tags from fluentd urls) are set here.
import { resolve } from 'node:path';
import { hostname as osHostname } from 'node:os';
import { ConfigError } from '../errors.js';
import { SETTINGS, DEFAULT_MATCH } from './schema.js';
import { fieldOf, sectionOf, type Section, type SectionName } from './sections.js';
import type { MatchRule } from '../router/router.js';
import type { MigrationNote } from './fluentd/migrate.js';
import type { FilterSpec } from '../filter/chain.js';
import { readRaw, valuesOf, type ConfigNote, type Values } from './raw.js';
import { parseMatchTables, tagFromUrl } from './parse.js';
import { checkIntake, checkSources, settingNotes } from './checks.js';
import { readApiKey, readSecretFile } from './secrets.js';

export type { ConfigNote } from './raw.js';
export { readSecretFile } from './secrets.js';

export type Config = Section<'top'> & {
  /** absolute path of the config file, if any */
  file: string | null;
  /** when the file is a fluent.conf: what of it was not carried over */
  fluentNotes: MigrationNote[];
  /** warnings about the config itself (ignored obsolete keys, settings without effect); start logs them */
  notes: ConfigNote[];
  /** where each setting that was given came from: `<file>: key "x"`, `environment variable X`, `flag --x` */
  origins: Readonly<Record<string, string>>;
  /** the setting, or this machine's host name */
  hostname: string;
  /** ingest.ca, cert and key are absolute paths; keyPassphraseFile is unset when the passphrase was given inline */
  ingest: Section<'ingest'>;
  datadog: Section<'datadog'> & {
    /** where the key came from, for messages (never the key itself) */
    apiKeyOrigin?: string;
  };
  spool: Section<'spool'>;
  runtime: Section<'runtime'>;
  admin: Section<'admin'>;
  routing: Section<'routing'> & { rules: MatchRule[] };
  /** `[[filter]]` tables (or fluent.conf's <filter> sections), in order: applied before the match rules */
  filters: FilterSpec[];
  teleport: Section<'teleport'>;
  /** teleport-event-handler's fluentd client: only its urls are used, for the tags */
  forward: Section<'forward'>;
};

export interface LoadInput {
  /** config file path (TOML); also taken from TDF_CONFIG / FDFWD_CONFIG when absent */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** flags given on the command line, by flag name (only those the user gave) */
  flags?: Record<string, unknown>;
  /** skip checks that need a full runtime config (api key, sources), for commands like `check` and `docs` */
  partial?: boolean;
  cwd?: string;
}

export function loadConfig(input: LoadInput = {}): Readonly<Config> {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const file = input.file ?? env.TDF_CONFIG ?? env.FDFWD_CONFIG;
  const filePath = file ? resolve(cwd, file) : null;
  const raw = readRaw({ filePath, env, flags: input.flags ?? {}, cwd });
  const { notes } = raw;
  const v = valuesOf(raw, cwd);

  const logLevel = v.get('debug') ? 'debug' : (v.get('log-level') as Config['logLevel']);
  const rules = raw.matchTables
    ? parseMatchTables(raw.matchTables, filePath!)
    : (DEFAULT_MATCH.map((m) => ({ ...m })) as MatchRule[]);
  const tags = fluentdTags(v);

  const files = {
    ingest: { ca: v.path('ingest.ca'), cert: v.path('ingest.cert'), key: v.path('ingest.key') },
    teleport: {
      identity: v.path('teleport.identity'),
      ca: v.path('teleport.ca'),
      cert: v.path('teleport.cert'),
      key: v.path('teleport.key'),
    },
  };
  const { ingestEnabled, teleportEnabled } = checkSources(v, files, filePath, input.partial);
  settingNotes(v, [...raw.values.keys()], filePath, teleportEnabled, notes);
  if (!input.partial) checkIntake(v);

  const dryRun = v.get('dry-run') as boolean;
  const { apiKey, apiKeyOrigin, apiKeyFile } = readApiKey(
    v.get('datadog.api-key') as string | undefined,
    v.origin('datadog.api-key'),
    v.path('datadog.api-key-file'),
    v.whereOf('datadog.api-key-file'),
  );
  if (!apiKey && !dryRun && !input.partial) {
    throw new ConfigError(
      'no Datadog API key: set the DD_API_KEY environment variable or datadog.api-key-file (or run with --dry-run)',
    );
  }

  // an inline passphrase wins over the file, which is then not read
  const passphraseFile = v.path('ingest.key-passphrase-file');
  let keyPassphrase = v.get('ingest.key-passphrase') as string | undefined;
  const keyPassphraseFile = keyPassphrase ? undefined : passphraseFile;
  if (keyPassphraseFile) keyPassphrase = readSecretFile(keyPassphraseFile, v.whereOf('ingest.key-passphrase-file'));

  // fluent.conf has no place for our spool: by default it lands beside the file (/etc/fluent/storage, say)
  // (the conversion writes storage = "./storage" itself; a flag or environment variable may set it elsewhere)
  if (raw.fromFluentConf && (v.origin('storage')?.where.startsWith(`${filePath}:`) ?? true)) {
    notes.push({
      level: 'info',
      where: filePath!,
      message: `the spool is kept in ${v.path('storage')}, beside this fluent.conf (storage defaults to ./storage next to the config file): set storage (flag --storage, env TDF_STORAGE) to keep it elsewhere, e.g. /var/lib/teleport-datadog-forwarder`,
    });
  }

  const s = readSections(v);
  const config: Config = {
    ...s.top,
    file: filePath,
    fluentNotes: raw.fluentNotes,
    notes,
    origins: Object.fromEntries([...raw.values].map(([key, r]) => [key, r.origin.where])),
    hostname: s.top.hostname ?? osHostname(),
    logLevel,
    ingest: { ...s.ingest, enabled: ingestEnabled, ...files.ingest, keyPassphrase, keyPassphraseFile },
    datadog: { ...s.datadog, apiKey, apiKeyOrigin, apiKeyFile },
    spool: s.spool,
    runtime: s.runtime,
    admin: s.admin,
    routing: { ...s.routing, rules },
    filters: raw.filters,
    teleport: {
      ...s.teleport,
      enabled: teleportEnabled,
      ...files.teleport,
      // empty is unset: the identity's cluster name is used
      clusterName: s.teleport.clusterName || undefined,
      ...tags,
    },
    forward: s.forward,
  };
  return deepFreeze(config);
}

type Sections = { top: Section<'top'> } & { [S in SectionName]: Section<S> };

/** every setting, checked, in its section under its field (paths resolved): the table read generically */
export function readSections(v: Values): Sections {
  const out: Record<string, Record<string, unknown>> = { top: {} };
  for (const s of SETTINGS) {
    const section = (out[sectionOf(s)] ??= {});
    section[fieldOf(s)] = s.type === 'path' ? v.path(s.key) : v.get(s.key);
  }
  return out as unknown as Sections;
}

/** teleport-event-handler's fluentd urls carry the tags its requests would have had */
function fluentdTags(v: Values): { eventsTag: string; sessionTagPrefix: string } {
  let eventsTag = v.get('events-tag') as string;
  let sessionTagPrefix = v.get('session-tag-prefix') as string;
  const fluentdUrl = v.get('forward.fluentd.url') as string | undefined;
  if (fluentdUrl && !v.has('events-tag')) eventsTag = tagFromUrl(fluentdUrl, v.origin('forward.fluentd.url')!);
  const sessionUrl = v.get('forward.fluentd.session-url') as string | undefined;
  if (sessionUrl && !v.has('session-tag-prefix'))
    sessionTagPrefix = tagFromUrl(sessionUrl, v.origin('forward.fluentd.session-url')!);
  return { eventsTag, sessionTagPrefix };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !(o instanceof Date)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
