// the values as given, before they are checked: defaults < TOML file (or fluent.conf) < env vars < flags, each
// with where it came from. a bad value in the file is refused here even when an env var or flag overrides it.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { ConfigError } from '../errors.js';
import { SETTINGS, obsoleteKey, envName, flagName, type Setting } from './schema.js';
import { closest, tomlErrorMessage } from './values.js';
import { looksLikeFluentConf } from './fluentd/parser.js';
import { readFluentConf } from './fluentd/file.js';
import type { MigrationNote } from './fluentd/migrate.js';
import { flatten } from './flatten.js';
import type { FilterSpec } from '../filter/chain.js';
import { parseFilterTables } from './filters.js';
import { parseSetting, type Origin } from './parse.js';

/** something the loader accepted but the user should hear about: an ignored key, a setting that has no effect */
export interface ConfigNote {
  level: 'warn' | 'info';
  /** where it came from: `<file>: key "x"`, `environment variable X`, `flag --x` */
  where: string;
  message: string;
}

export interface RawInput {
  filePath: string | null;
  env: NodeJS.ProcessEnv;
  flags: Record<string, unknown>;
  cwd: string;
}

export interface Raw {
  values: Map<string, { value: unknown; origin: Origin }>;
  matchTables?: unknown[];
  filters: FilterSpec[];
  fluentNotes: MigrationNote[];
  fromFluentConf: boolean;
  notes: ConfigNote[];
}

const BY_KEY = new Map<string, Setting>();
const BY_ALIAS = new Map<string, Setting>();
for (const s of SETTINGS) {
  BY_KEY.set(s.key, s);
  for (const a of s.aliases ?? []) BY_ALIAS.set(a, s);
  for (const a of s.tomlAliases ?? []) BY_ALIAS.set(a, s);
}

export function readRaw({ filePath, env, flags, cwd }: RawInput): Raw {
  const raw: Raw = { values: new Map(), filters: [], fluentNotes: [], fromFluentConf: false, notes: [] };
  if (filePath) readFile(filePath, env, raw);

  for (const s of SETTINGS) {
    for (const name of [envName(s.key), ...(s.env ?? [])]) {
      const v = env[name];
      if (v !== undefined && v !== '') {
        raw.values.set(s.key, { value: v, origin: { where: `environment variable ${name}`, base: cwd } });
        break;
      }
    }
  }

  for (const [name, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    const setting = BY_KEY.get(name.replace(/-/g, '.')) ?? settingByFlag(name) ?? BY_ALIAS.get(name);
    if (!setting) continue; // not a setting (e.g. --config): the cli handles it
    raw.values.set(setting.key, { value, origin: { where: `flag --${name}`, base: cwd } });
  }
  return raw;
}

function readFile(filePath: string, env: NodeJS.ProcessEnv, raw: Raw): void {
  const { values, notes } = raw;
  const fluent = isFluentConf(filePath) ? readFluentConf(filePath, env) : undefined;
  const doc = fluent ? (parseToml(fluent.toml) as Record<string, unknown>) : readToml(filePath);
  raw.fluentNotes = fluent?.notes ?? [];
  raw.fromFluentConf = fluent !== undefined;
  const base = dirname(filePath);
  if (fluent?.apiKey)
    values.set('datadog.api-key', { value: fluent.apiKey, origin: { where: `${filePath}: api_key`, base } });
  if (fluent?.keyPassphrase)
    values.set('ingest.key-passphrase', {
      value: fluent.keyPassphrase,
      origin: { where: `${filePath}: private_key_passphrase`, base },
    });
  for (const [key, value] of flatten(doc)) {
    if (key === 'match') {
      if (!Array.isArray(value)) throw new ConfigError(`${filePath}: key "match": expected [[match]] tables`);
      raw.matchTables = value;
      continue;
    }
    if (key === 'filter') {
      if (!Array.isArray(value)) throw new ConfigError(`${filePath}: key "filter": expected [[filter]] tables`);
      const unknown: Array<{ where: string; message: string }> = [];
      raw.filters = parseFilterTables(value, filePath, base, unknown);
      for (const n of unknown) notes.push({ level: 'warn', ...n });
      continue;
    }
    const setting = BY_KEY.get(key) ?? BY_ALIAS.get(key);
    const obsolete = setting ? undefined : obsoleteKey(key);
    if (obsolete) {
      // older teleport-event-handler files: refusing them would stop a migration over a key with no effect
      notes.push({
        level: 'warn',
        where: `${filePath}: key "${key}"`,
        message: `an obsolete teleport-event-handler key, ignored: ${obsolete}`,
      });
      continue;
    }
    if (!setting) {
      const hint = closest(key, [...BY_KEY.keys(), 'match', 'filter']);
      throw new ConfigError(`${filePath}: unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
    }
    const o = { where: `${filePath}: key "${setting.key}"`, base };
    parseSetting(setting, value, o); // a bad value in the file is an error even when an env var or flag overrides it
    values.set(setting.key, { value, origin: o });
  }
}

/** the checked values of a raw read, and where each came from, for messages */
export interface Values {
  /** the checked value, or the default when the setting was not given */
  get(key: string): unknown;
  /** a path setting resolved against where it was given (the config file's folder, or the cwd); "" is unset */
  path(key: string): string | undefined;
  origin(key: string): Origin | undefined;
  has(key: string): boolean;
  /** `<file>: key "x"`, `environment variable X`, `flag --x`, or `key "x"` when not given */
  whereOf(key: string): string;
  /** keys with where each was given, for messages */
  setKeys(keys: string[]): string;
}

export function valuesOf(raw: Raw, cwd: string): Values {
  const get = (key: string): unknown => {
    const s = BY_KEY.get(key);
    if (!s) throw new Error(`bug: no setting ${key}`);
    const r = raw.values.get(key);
    if (!r) return s.default;
    return parseSetting(s, r.value, r.origin);
  };
  const origin = (key: string) => raw.values.get(key)?.origin;
  const whereOf = (key: string): string => origin(key)?.where ?? `key "${key}"`;
  return {
    get,
    origin,
    has: (key) => raw.values.has(key),
    path(key) {
      const v = get(key) as string | undefined;
      if (v === undefined || v === '') return undefined;
      return resolve(origin(key)?.base ?? cwd, v);
    },
    whereOf,
    setKeys: (keys) => keys.map((k) => (origin(k) ? `${k} (${whereOf(k)})` : k)).join(', '),
  };
}

function settingByFlag(name: string): Setting | undefined {
  for (const s of SETTINGS) if (flagName(s.key) === name) return s;
  return undefined;
}

/** a fluent.conf is read as fluentd config: by its name, or by its content when the name says nothing */
function isFluentConf(filePath: string): boolean {
  if (filePath.endsWith('.conf')) return true;
  if (filePath.endsWith('.toml')) return false;
  try {
    return looksLikeFluentConf(readFileSync(filePath, 'utf8'));
  } catch {
    return false;
  }
}

function readToml(filePath: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(
      `config file ${filePath} cannot be read: ${e.code === 'ENOENT' ? 'no such file' : e.message}`,
      { cause: err },
    );
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(tomlErrorMessage(filePath, text, err), { cause: err });
  }
}
