// `[[filter]]` tables of the TOML file read into filter specs, validated once at load by compiling them: an error
// names the file, the filter's place (`[[filter]] #2`), the key and what to write instead. configs fluentd itself
// refuses at start are refused with fluentd's reason.
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { compileFilter, type FilterSpec } from '../filter/chain.js';
import { GrepConfigError, type GrepCondition, type GrepGroup } from '../filter/grep.js';
import { compileTransform, TransformConfigError } from '../filter/transform.js';
import { FILTER_SETTINGS } from './schema.js';
import { closest, parseList } from './values.js';
import type { RedactSpec } from '../filter/redact.js';
import { readFileSync } from 'node:fs';

/** the shortest HMAC key accepted: 128 bits */
export const MIN_HMAC_KEY_BYTES = 16;

/** a placeholder no record can resolve (fluentd warns about it per record): said once, at load */
export interface FilterNote {
  where: string;
  message: string;
}

export function parseFilterTables(
  tables: unknown[],
  filePath: string,
  base: string,
  notes: FilterNote[] = [],
): FilterSpec[] {
  return tables.map((t, i) => {
    const at = `${filePath}: [[filter]] #${i + 1}`;
    const spec = parseFilter(t, at, base);
    if (spec.type === 'record_transformer') {
      for (const ph of new Set(compileTransform(spec.transform, 'localhost').unknownPlaceholders))
        notes.push({
          where: at,
          message: `unknown placeholder \`${ph}\`: no record gives it, so it expands to nothing (null when it is the whole value); record values are \${record["key"]}`,
        });
    }
    return spec;
  });
}

function parseFilter(t: unknown, at: string, base: string): FilterSpec {
  if (t === null || typeof t !== 'object' || Array.isArray(t)) throw new ConfigError(`${at}: expected a table`);
  const table = t as Record<string, unknown>;
  const type = table.type;
  const types = FILTER_SETTINGS.find((s) => s.key === 'type')!.values!;
  if (typeof type !== 'string' || !types.includes(type))
    throw new ConfigError(
      `${at}: key "type" is required: one of ${types.map((v) => `"${v}"`).join(', ')}${type === undefined ? '' : `, got ${JSON.stringify(type)}`}`,
    );
  const known = FILTER_SETTINGS.filter((s) => s.types.includes(type as never)).map((s) => s.key);
  for (const k of Object.keys(table)) {
    if (known.includes(k)) continue;
    const other = FILTER_SETTINGS.find((s) => s.key === k);
    if (other)
      throw new ConfigError(`${at}: key "${k}" is for ${other.types.join(' or ')} filters, not ${type}: remove it`);
    const hint = closest(k, known);
    throw new ConfigError(`${at}: unknown key "${k}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
  }
  const str = (k: string): string | undefined => {
    const v = table[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new ConfigError(`${at}: key "${k}": expected a string, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (k: string): boolean | undefined => {
    const v = table[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw new ConfigError(`${at}: key "${k}": expected true or false`);
    return v;
  };
  const list = (k: string): string[] | undefined => {
    if (table[k] === undefined) return undefined;
    try {
      return parseList(table[k]);
    } catch (err) {
      throw new ConfigError(`${at}: key "${k}": ${(err as Error).message}`);
    }
  };
  const pattern = str('pattern') ?? '**';
  if (pattern.trim() === '')
    throw new ConfigError(`${at}: key "pattern" is empty: write a tag pattern ("**" for every tag)`);

  const unless = str('unless-pattern');
  let spec: FilterSpec;
  if (type === 'grep') {
    spec = {
      type,
      pattern,
      grep: compact({
        regexp: conditions(table.regexp, `${at}: key "regexp"`),
        exclude: conditions(table.exclude, `${at}: key "exclude"`),
        and: groups(table.and, `${at}: key "and"`),
        or: groups(table.or, `${at}: key "or"`),
      }),
    };
  } else if (type === 'record_transformer') {
    const record = table.record;
    if (record !== undefined && (record === null || typeof record !== 'object' || Array.isArray(record)))
      throw new ConfigError(`${at}: key "record": expected a table ([filter.record] with key = "value" lines)`);
    spec = {
      type,
      pattern,
      transform: compact({
        record: record === undefined ? undefined : { ...(record as Record<string, unknown>) },
        removeKeys: list('remove-keys'),
        keepKeys: list('keep-keys'),
        renewRecord: bool('renew-record'),
        renewTimeKey: str('renew-time-key'),
        enableRuby: bool('enable-ruby'),
        autoTypecast: bool('auto-typecast'),
      }),
    };
  } else {
    const keys = list('keys');
    if (!keys || keys.length === 0)
      throw new ConfigError(`${at}: key "keys" is required: the fields to redact, e.g. ["user", "$.addr.remote"]`);
    const mode = str('mode') ?? 'replace';
    if (mode !== 'replace' && mode !== 'hmac')
      throw new ConfigError(`${at}: key "mode": expected "replace" or "hmac", got ${JSON.stringify(mode)}`);
    const keyFile = str('key-file');
    let hmacKey: string | undefined;
    if (mode === 'hmac') {
      if (!keyFile)
        throw new ConfigError(
          `${at}: mode "hmac" needs key "key-file": a file holding a secret of at least ${MIN_HMAC_KEY_BYTES} bytes (e.g. from \`openssl rand -hex 32\`)`,
        );
      const file = resolve(base, keyFile);
      hmacKey = readSecretFile(file, `${at}: key "key-file"`);
      if (Buffer.byteLength(hmacKey) < MIN_HMAC_KEY_BYTES)
        throw new ConfigError(
          `${at}: key "key-file": ${file} holds fewer than ${MIN_HMAC_KEY_BYTES} bytes: use a longer secret (e.g. \`openssl rand -hex 32\`)`,
        );
    } else if (keyFile)
      throw new ConfigError(`${at}: key "key-file" is for mode "hmac": remove it or set mode = "hmac"`);
    const redact: RedactSpec = { keys, mode, replacement: str('replacement') };
    if (redact.replacement === undefined) delete redact.replacement;
    // the key must never reach a log or a dump of the config: not enumerable, so JSON and inspect skip it
    if (hmacKey !== undefined) Object.defineProperty(redact, 'hmacKey', { value: hmacKey, enumerable: false });
    spec = { type: 'redact', pattern, redact };
  }
  if (unless !== undefined) spec.unless = unless;
  validate(spec, at);
  return spec;
}

function conditions(v: unknown, at: string): GrepCondition[] | undefined {
  if (v === undefined) return undefined;
  const hint = `write [[filter.${at.replace(/.*key "([^"]+)"$/, '$1')}]] tables with key = "field" and pattern = "regexp"`;
  if (!Array.isArray(v)) throw new ConfigError(`${at}: expected tables: ${hint}`);
  return v.map((c, i) => {
    if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new ConfigError(`${at} #${i + 1}: ${hint}`);
    const o = c as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (k !== 'key' && k !== 'pattern') throw new ConfigError(`${at} #${i + 1}: unknown key "${k}": ${hint}`);
    if (typeof o.key !== 'string' || o.key === '')
      throw new ConfigError(`${at} #${i + 1}: key "key" is required: the field (or $.path) to match`);
    if (typeof o.pattern !== 'string')
      throw new ConfigError(`${at} #${i + 1}: key "pattern" is required: a regexp, e.g. "^user\\\\.login$"`);
    return { key: o.key, pattern: o.pattern };
  });
}

function groups(v: unknown, at: string): GrepGroup[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new ConfigError(`${at}: expected tables ([[filter.and]] / [[filter.or]])`);
  return v.map((g, i) => {
    if (g === null || typeof g !== 'object' || Array.isArray(g))
      throw new ConfigError(`${at} #${i + 1}: expected a table`);
    const o = g as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (k !== 'regexp' && k !== 'exclude')
        throw new ConfigError(`${at} #${i + 1}: unknown key "${k}": it holds regexp or exclude tables`);
    return compact({
      regexp: conditions(o.regexp, `${at} #${i + 1} regexp`),
      exclude: conditions(o.exclude, `${at} #${i + 1} exclude`),
    });
  });
}

function validate(spec: FilterSpec, at: string): void {
  try {
    compileFilter(spec, 'localhost');
  } catch (err) {
    if (err instanceof GrepConfigError)
      throw new ConfigError(`${at}: ${err.where}: ${err.message} (Fluentd refuses this config too)`, { cause: err });
    if (err instanceof TransformConfigError)
      throw new ConfigError(`${at}: key "${err.key}": ${err.message}`, { cause: err });
    throw new ConfigError(`${at}: ${(err as Error).message}`, { cause: err });
  }
}

// the key's content never appears in a message
function readSecretFile(file: string, where: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${where}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  const value = text.trim();
  if (!value) throw new ConfigError(`${where}: ${file} is empty`);
  return value;
}

/** the object without its undefined values: specs compare and print as they were written */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}
