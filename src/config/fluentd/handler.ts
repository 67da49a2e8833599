// teleport-event-handler.toml: its keys are kept (our loader reads them) with paths made absolute, and the tags it
// posts under are checked against the rules (coverage). pure: the caller reads the file.
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { ConfigError } from '../../errors.js';
import { flatten } from '../flatten.js';
import { SETTINGS, obsoleteKey, type Setting } from '../schema.js';
import { tomlErrorMessage } from '../values.js';
import type { MigrationContext, MigrationNote, Rule, TomlValue } from './context.js';
import { handlerTags, uncoveredTags } from './handler-tags.js';
import { entryLine, tomlString } from './toml.js';

const BY_KEY = new Map<string, Setting>();
for (const s of SETTINGS) {
  BY_KEY.set(s.key, s);
  for (const a of [...(s.aliases ?? []), ...(s.tomlAliases ?? [])]) if (!BY_KEY.has(a)) BY_KEY.set(a, s);
}

/** returns true when it configures the poller (identity, or ca/cert/key) */
export function handler(ctx: MigrationContext): boolean {
  const text = ctx.input.handlerToml;
  if (text === undefined) return false;
  const file = ctx.input.handlerTomlPath ?? 'teleport-event-handler.toml';
  const dir = dirname(resolve(file));
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(tomlErrorMessage(file, text, err), { cause: err });
  }
  const lineOf = (key: string): number => {
    const last = key.split('.').pop()!;
    const lines = text.split('\n');
    const i = lines.findIndex((l) => new RegExp(`^\\s*(?:[\\w.-]+\\.)?${last.replace(/[-.]/g, '\\$&')}\\s*=`).test(l));
    return i >= 0 ? i + 1 : 1;
  };
  const noteAt = (level: MigrationNote['level'], key: string, message: string) =>
    ctx.notes.push({ level, where: `${basename(file)}:${lineOf(key)}`, message });
  const set = new Set<string>();
  for (const [key, value] of flatten(doc)) {
    const s = BY_KEY.get(key);
    const obsolete = s ? undefined : obsoleteKey(key);
    if (obsolete) {
      noteAt('warn', key, `"${key}" is an obsolete teleport-event-handler key: not carried over (${obsolete})`);
      continue;
    }
    if (!s) {
      noteAt('warn', key, `"${key}" is not a teleport-event-handler setting the forwarder knows: not carried over`);
      continue;
    }
    if (s.key === 'storage') {
      noteAt(
        'info',
        key,
        'its "storage" is not carried over: the handler keeps its cursors there in its own format, which the forwarder does not read; the forwarder uses its own directory (storage, beside this file)',
      );
      continue;
    }
    if (
      s.key.startsWith('ingest.') ||
      s.key.startsWith('datadog.') ||
      ctx.tables.get(tableOf(s.key))?.entries.some((e) => `${tableOf(s.key)}.${e.key}` === s.key)
    ) {
      noteAt('warn', key, `"${key}" is already set from fluent.conf: the fluent.conf value is kept`);
      continue;
    }
    let v = value as TomlValue;
    if (s.type === 'path' && typeof v === 'string' && v !== '' && !isAbsolute(v)) v = resolve(dir, v);
    // the handler's fluentd client files are not used, so whether they are here does not matter
    if (s.type === 'path' && typeof v === 'string' && v !== '' && s.key.startsWith('teleport.')) {
      const missing = ctx.missingFile(`${key} ${v}`, v, 'teleport-event-handler', s.key);
      if (missing) noteAt('warn', key, missing);
    }
    if (v instanceof Date) v = v.toISOString();
    set.add(s.key);
    const table = tableOf(s.key);
    const entry = { key: table ? s.key.slice(table.length + 1) : s.key, value: v };
    if (table) ctx.table(table, [tableComment(table, basename(file))]).entries.push(entry);
    else ctx.topFromHandler.push(entry);
  }
  const poller =
    set.has('teleport.identity') || (set.has('teleport.ca') && set.has('teleport.cert') && set.has('teleport.key'));
  const at = `${basename(file)}:1`;
  if (poller) {
    ctx.notes.push({
      level: 'warn',
      where: at,
      message:
        'the built-in Teleport poller replaces teleport-event-handler: stop the handler once the forwarder runs (with both, every event is shipped twice), or set teleport.enabled = false to keep the handler posting to the ingest',
    });
    if (!set.has('start-time')) {
      ctx.notes.push({
        level: 'info',
        where: at,
        message:
          'no "start-time": the poller starts at the time of its first run; set start-time to where the handler stopped to leave no gap',
      });
    }
  } else {
    ctx.notes.push({
      level: 'warn',
      where: at,
      message: 'no [teleport] identity (or ca, cert and key): the poller stays off',
    });
  }
  if (set.has('forward.fluentd.ca') || set.has('forward.fluentd.cert') || set.has('forward.fluentd.key')) {
    ctx.notes.push({
      level: 'info',
      where: at,
      message:
        '[forward.fluentd] ca, cert and key are kept for compatibility but not used: the poller posts nowhere; url and session-url give the tags of polled events',
    });
  }
  return poller;
}

/** the handler's tags (its urls, else teleport's defaults) that no rule ships: said, with the rule that would */
export function coverage(ctx: MigrationContext): void {
  const fluentd = ctx.tables.get('forward.fluentd')?.entries ?? [];
  const url = (key: string) => {
    const v = fluentd.find((e) => e.key === key)?.value;
    return typeof v === 'string' ? v : undefined;
  };
  const tags = handlerTags({ url: url('url'), sessionUrl: url('session-url') });
  const missing = uncoveredTags(
    tags,
    ctx.rules.map((r) => r.pattern),
  );
  if (missing.length === 0) return;
  // the suggestion ships like the first datadog rule does (its source, service, tags)
  const like = ctx.rules.find((r) => r.type === 'datadog');
  const handlerFile = ctx.input.handlerTomlPath ? basename(ctx.input.handlerTomlPath) : undefined;
  for (const t of missing) {
    const fields = like?.fields ?? [{ key: 'source', value: 'teleport' }];
    const rule: Rule = {
      pattern: t.pattern,
      type: 'datadog',
      fields,
      origin: `no rule matches ${t.shown}, the tag of the handler's ${t.what}: uncomment this rule to ship them`,
    };
    ctx.suggested.push(rule);
    const shown = [`pattern = ${tomlString(t.pattern)}`, ...fields.map(entryLine)].join(', ');
    const urlKey = t.what === 'audit events' ? 'url' : 'session-url';
    const where =
      handlerFile !== undefined && url(urlKey) !== undefined
        ? `${handlerFile}:${handlerLine(ctx, urlKey)}`
        : `${basename(ctx.confPath)}:1`;
    ctx.notes.push({
      level: 'warn',
      where,
      message: `teleport-event-handler posts its ${t.what} under ${t.shown} (the poller tags them the same), which no rule matches: the ingest answers 200 and drops them (routing.unmatched = "drop"). To ship them, add [[match]] ${shown} (written commented out at the end of the config)`,
    });
  }
}

/** the line of a key in the handler's toml (1 when not found) */
export function handlerLine(ctx: MigrationContext, key: string): number {
  const lines = (ctx.input.handlerToml ?? '').split('\n');
  const i = lines.findIndex((l) => new RegExp(`^\\s*${key.replace(/[-.]/g, '\\$&')}\\s*=`).test(l));
  return i >= 0 ? i + 1 : 1;
}

const TABLES = ['forward.fluentd', 'ingest', 'datadog', 'spool', 'routing', 'teleport', 'lock'];

function tableOf(key: string): string {
  return TABLES.find((t) => key.startsWith(t + '.')) ?? '';
}

function tableComment(table: string, file: string): string {
  if (table === 'teleport') return `the Teleport Auth Service the poller reads, from ${file}`;
  if (table === 'lock') return `locking users after failed logins, from ${file}`;
  if (table === 'forward.fluentd')
    return `teleport-event-handler's fluentd client, from ${file}: its url paths give the tags of polled events`;
  return `from ${file}`;
}
