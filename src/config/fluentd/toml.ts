// the one TOML writer of the migration: the config document (header, tables, filters, rules, the suggested rules
// commented out, the notes) and the value syntax. pure.
import { basename, resolve } from 'node:path';
import { stringify as stringifyToml } from 'smol-toml';
import type { Entry, MigrationContext, TomlValue } from './context.js';

/** the migrated config as TOML text: what ctx gathered, in a fixed order, then the notes as comments */
export function emit(ctx: MigrationContext): string {
  const out: string[] = [];
  out.push('# teleport-datadog-forwarder configuration, migrated by `teleport-datadog-forwarder migrate` from');
  out.push(`#   ${resolve(ctx.confPath)}`);
  if (ctx.input.handlerToml !== undefined)
    out.push(`#   ${resolve(ctx.input.handlerTomlPath ?? 'teleport-event-handler.toml')}`);
  out.push('# paths from those files were made absolute; relative paths here are relative to this file.');
  out.push('# secrets are not in this file: they are in the files it names (mode 0600) or in the environment.');
  out.push('');
  out.push('# the durable spool (records wait here until Datadog accepted them) and the Teleport cursors');
  for (const e of ctx.top) out.push(entryLine(e));
  if (ctx.topFromHandler.length > 0) {
    out.push('');
    out.push(`# the Teleport poller, from ${basename(ctx.input.handlerTomlPath ?? 'teleport-event-handler.toml')}`);
    for (const e of ctx.topFromHandler) out.push(entryLine(e));
  }
  const order = ['ingest', 'datadog', 'teleport', 'lock', 'forward.fluentd'];
  const names = [...ctx.tables.keys()].sort((a, b) => rank(order, a) - rank(order, b));
  for (const name of names) {
    const t = ctx.tables.get(name)!;
    out.push('');
    for (const c of t.comment) out.push(`# ${c}`);
    out.push(`[${name}]`);
    for (const e of t.entries) out.push(entryLine(e));
  }
  for (const f of ctx.filters) {
    out.push('');
    out.push(`# ${f.origin}`);
    out.push(stringifyToml({ filter: [f.table] }).trim());
  }
  for (const r of ctx.rules) {
    out.push('');
    out.push(`# ${r.origin}`);
    out.push('[[match]]');
    out.push(entryLine({ key: 'pattern', value: r.pattern }));
    if (r.type === 'null') out.push(entryLine({ key: 'type', value: 'null' }));
    for (const e of r.fields) out.push(entryLine(e));
  }
  for (const r of ctx.suggested) {
    out.push('');
    out.push(`# ${r.origin}`);
    out.push('# [[match]]');
    out.push(`# ${entryLine({ key: 'pattern', value: r.pattern })}`);
    for (const e of r.fields) out.push(`# ${entryLine(e)}`);
  }
  if (ctx.notes.length > 0) {
    out.push('');
    out.push('# not carried over, or changed (also printed by migrate):');
    for (const n of ctx.notes) out.push(`#   ${n.level.padEnd(4)} ${n.where}: ${n.message}`);
  }
  return out.join('\n') + '\n';
}

function rank(order: string[], name: string): number {
  const i = order.indexOf(name);
  return i < 0 ? order.length : i;
}

/** `key = value` */
export function entryLine(e: Entry): string {
  return `${e.key} = ${tomlValue(e.value)}`;
}

/** a value in toml syntax: strings quoted, dates as rfc 3339 strings, arrays inline */
export function tomlValue(v: TomlValue): string {
  if (typeof v === 'string') return tomlString(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return String(v);
  if (v instanceof Date) return tomlString(v.toISOString());
  return `[${v.map((x) => (typeof x === 'string' ? tomlString(x) : tomlValue(x as TomlValue))).join(', ')}]`;
}

/** a toml basic string: json's escapes are toml's, plus DEL; lone surrogates become U+FFFD */
export function tomlString(s: string): string {
  const wellFormed = s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  return JSON.stringify(wellFormed).replace(/\x7f/g, '\\u007F');
}
