// a setting's value, or a [[match]] table, checked against the schema; errors name where the value came from
import { ConfigError } from '../errors.js';
import { MATCH_SETTINGS, matchDefault, type Setting } from './schema.js';
import { parseBool, parseBytes, parseDuration, parseInt10, parseList, parseTime, closest } from './values.js';
import type { MatchRule } from '../router/router.js';
import { TRUNCATED_KEY } from '../router/truncate.js';

export type Origin = { where: string; base: string };

export function parseSetting(s: Setting, value: unknown, origin: Origin): unknown {
  try {
    switch (s.type) {
      case 'string':
      case 'path':
        if (typeof value !== 'string') throw new Error(`expected a string, got ${describe(value)}`);
        return value;
      case 'int': {
        const n = parseInt10(value);
        if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max))
          throw new Error(`expected a whole number from ${s.min ?? '-∞'} to ${s.max ?? '∞'}, got ${n}`);
        return n;
      }
      case 'bytes': {
        const n = parseBytes(value);
        if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max))
          throw new Error(`expected a size from ${s.min ?? 0} to ${s.max ?? '∞'} bytes, got ${n}`);
        return n;
      }
      case 'bool':
        return parseBool(value);
      case 'duration': {
        const ms = parseDuration(value);
        if ((s.min !== undefined && ms < s.min) || (s.max !== undefined && ms > s.max))
          throw new Error(`expected a duration from ${s.min ?? 0} ms to ${s.max ?? '∞'} ms, got ${ms} ms`);
        return ms;
      }
      case 'list':
        return parseList(value);
      case 'time':
        return parseTime(value);
      case 'enum':
        if (typeof value !== 'string' || !s.values!.includes(value))
          throw new Error(
            `expected one of ${s.values!.map((v) => `"${v}"`).join(', ')}, got ${s.secret ? 'a hidden value' : describe(value)}`,
          );
        return value;
    }
  } catch (err) {
    const msg = s.secret ? 'expected a string' : (err as Error).message;
    throw new ConfigError(`${origin.where}: ${msg}`);
  }
}

function describe(v: unknown): string {
  if (v instanceof Date) return 'a date';
  return JSON.stringify(v) ?? String(v);
}

export function parseMatchTables(tables: unknown[], filePath: string): MatchRule[] {
  const known = MATCH_SETTINGS.map((m) => m.key);
  return tables.map((t, i) => {
    const at = `${filePath}: [[match]] #${i + 1}`;
    if (t === null || typeof t !== 'object' || Array.isArray(t)) throw new ConfigError(`${at}: expected a table`);
    const table = t as Record<string, unknown>;
    for (const k of Object.keys(table)) {
      if (!known.includes(k)) {
        const hint = closest(k, known);
        throw new ConfigError(`${at}: unknown key "${k}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
      }
    }
    const str = (k: string): string | undefined => {
      const v = table[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'string') throw new ConfigError(`${at}: key "${k}": expected a string, got ${describe(v)}`);
      return v;
    };
    const pattern = str('pattern');
    if (!pattern || pattern.trim() === '')
      throw new ConfigError(
        `${at}: key "pattern" is required (a Fluentd tag pattern like "test.log" or "session.*.log")`,
      );
    const type = str('type') ?? matchDefault('type');
    if (type !== 'datadog' && type !== 'null')
      throw new ConfigError(`${at}: key "type": expected "datadog" or "null", got "${type}"`);
    let tags: string[] | undefined;
    if (table.tags !== undefined) {
      try {
        tags = parseList(table.tags);
      } catch (err) {
        throw new ConfigError(`${at}: key "tags": ${(err as Error).message}`);
      }
    }
    let includeTagKey: boolean | undefined;
    if (table['include-tag-key'] !== undefined) {
      if (typeof table['include-tag-key'] !== 'boolean')
        throw new ConfigError(`${at}: key "include-tag-key": expected true or false`);
      includeTagKey = table['include-tag-key'];
    }
    const rule: MatchRule = { pattern, type };
    const set = <K extends keyof MatchRule>(k: K, v: MatchRule[K] | undefined) => {
      if (v !== undefined) rule[k] = v;
    };
    set('source', str('source'));
    set('sourceCategory', str('source-category'));
    set('service', str('service'));
    set('tags', tags);
    set('hostname', str('hostname'));
    set('includeTagKey', includeTagKey);
    set('tagKey', recordKey(str('tag-key'), `${at}: key "tag-key"`, false));
    set('timestampKey', recordKey(str('timestamp-key'), `${at}: key "timestamp-key"`, true));
    return rule;
  });
}

// a key that would hit Object.prototype (`constructor`, `__proto__`) reads as present on every record
function recordKey(k: string | undefined, at: string, emptyOk: boolean): string | undefined {
  if (k === undefined) return undefined;
  if (k === '' && !emptyOk) throw new ConfigError(`${at}: must not be empty (leave it out for the default)`);
  if (k in Object.prototype)
    throw new ConfigError(`${at}: ${JSON.stringify(k)} is a JavaScript built-in: pick another`);
  if (k === TRUNCATED_KEY)
    throw new ConfigError(`${at}: ${JSON.stringify(k)} is the forwarder's own key: pick another`);
  return k;
}

export function tagFromUrl(url: string, origin: Origin): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    throw new ConfigError(
      `${origin.where}: expected a URL like "https://forwarder:8888/events.log", got ${JSON.stringify(url)}`,
    );
  }
  const tag = path.replace(/^\/+/, '').split('/').filter(Boolean).join('.');
  if (!tag)
    throw new ConfigError(
      `${origin.where}: the URL has no path, so it gives no tag; expected something like "https://forwarder:8888/events.log"`,
    );
  return tag;
}
