// writes TOML whose every key carries its documentation from the config schema, so a generated config file
// explains itself and cannot drift from what the loader accepts. pure.
import { goDuration, sizeText } from '../format.js';
import { SETTINGS, MATCH_SETTINGS, envName, flagName, type Setting } from '../config/schema.js';

const WIDTH = 100; // comment lines wrap at this many characters

const BY_KEY = new Map(SETTINGS.map((s) => [s.key, s]));
const MATCH_BY_KEY = new Map(MATCH_SETTINGS.map((m) => [m.key, m]));

/** a TOML value: strings quoted, arrays inline */
export function tomlValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v); // json escapes are valid toml basic-string escapes
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  throw new Error(`bug: no toml form for ${typeof v}`);
}

/** text -> `# ...` lines wrapped at WIDTH, prefixed by indent */
export function commentLines(text: string, indent = ''): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + 2 + line.length + 1 + word.length > WIDTH) {
      out.push(`${indent}# ${line}`);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) out.push(`${indent}# ${line}`);
  return out;
}

/** a setting's value as it is written in a file (durations and sizes as text) */
function fileValue(s: Setting, v: unknown): unknown {
  if (s.type === 'duration' && typeof v === 'number') return goDuration(v);
  if (s.type === 'bytes' && typeof v === 'number') return sizeText(v);
  return v;
}

function hint(s: Setting): string {
  const parts: string[] = [];
  if (s.default !== undefined && !s.secret) parts.push(`default ${tomlValue(fileValue(s, s.default))}`);
  parts.push(`flag --${flagName(s.key)}`);
  parts.push(`env ${[envName(s.key), ...(s.env ?? [])].join(', ')}`);
  return parts.join('; ');
}

export function setting(key: string): Setting {
  const s = BY_KEY.get(key);
  if (!s) throw new Error(`bug: no setting "${key}" in the config schema`);
  return s;
}

/**
 * one `[table]` (or the top level when table is '') with the given settings, each preceded by its schema doc.
 * keys are full schema keys; a value of undefined writes the schema default. `note` adds a line of our own.
 * `commented` writes the key line as a comment: an example to uncomment, for a setting best left unset
 */
export function settingsTable(
  table: string,
  entries: Array<{ key: string; value?: unknown; note?: string; commented?: boolean }>,
  heading?: string,
): string {
  const lines: string[] = [];
  if (heading) lines.push(...commentLines(heading));
  if (table) lines.push(`[${table}]`);
  for (const e of entries) {
    const s = setting(e.key);
    if (table && !e.key.startsWith(table + '.')) throw new Error(`bug: setting "${e.key}" is not under [${table}]`);
    const name = table ? e.key.slice(table.length + 1) : e.key;
    const value = e.value === undefined ? s.default : e.value;
    if (value === undefined) throw new Error(`bug: setting "${e.key}" has no default, give a value`);
    if (lines.length > 0) lines.push('');
    lines.push(...commentLines(s.doc));
    if (e.note) lines.push(...commentLines(e.note));
    lines.push(`# (${hint(s)})`);
    lines.push(`${e.commented ? '# ' : ''}${name} = ${tomlValue(fileValue(s, value))}`);
  }
  return lines.join('\n') + '\n';
}

/** one `[[match]]` table, each key preceded by its doc */
export function matchTable(rule: Record<string, unknown>, heading?: string): string {
  const lines: string[] = [];
  if (heading) lines.push(...commentLines(heading));
  lines.push('[[match]]');
  for (const [key, value] of Object.entries(rule)) {
    const m = MATCH_BY_KEY.get(key);
    if (!m) throw new Error(`bug: no [[match]] key "${key}" in the config schema`);
    lines.push(...commentLines(m.doc));
    lines.push(`${key} = ${tomlValue(value)}`);
  }
  return lines.join('\n') + '\n';
}
