// parsing of setting values from strings (env vars, flags) and TOML values. pure; each function returns the value
// or throws an Error whose message says what was expected (the caller adds where the value came from).
import { unquotedValues, unquotedValuesHint } from './toml-hints.js';

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3600_000 };

/** go-style duration ("10s", "1h30m", "250ms", "0") to milliseconds */
export function parseDuration(input: unknown): number {
  if (typeof input !== 'string') throw new Error('expected a duration string like "10s", "2m" or "24h"');
  const s = input.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw new Error(`expected a duration like "10s", "2m" or "24h", got "${input}"`);
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (s.length === 0) throw new Error('expected a duration like "10s", got an empty string');
  return Math.round(total);
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
};

/** a size: an integer of bytes or a string like "32MiB", "5MB", "1g" */
export function parseBytes(input: unknown): number {
  if (typeof input === 'number' || typeof input === 'bigint') {
    const n = Number(input);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`expected a whole number of bytes, got ${input}`);
    return n;
  }
  if (typeof input !== 'string') throw new Error('expected a size like "32MiB" or a number of bytes');
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  const unit = m ? BYTE_UNITS[(m[2] || 'b').toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new Error(`expected a size like "32MiB", "5MB" or a number of bytes, got "${input}"`);
  return Math.round(Number(m[1]) * unit);
}

export function parseInt10(input: unknown): number {
  if (typeof input === 'number' || typeof input === 'bigint') {
    const n = Number(input);
    if (!Number.isSafeInteger(n)) throw new Error(`expected a whole number, got ${input}`);
    return n;
  }
  if (typeof input === 'string' && /^\s*-?\d+\s*$/.test(input)) return Number(input);
  throw new Error(`expected a whole number, got ${JSON.stringify(input)}`);
}

export function parseBool(input: unknown): boolean {
  if (typeof input === 'boolean') return input;
  if (typeof input === 'string') {
    const s = input.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(s)) return true;
    if (['false', '0', 'no', 'off', ''].includes(s)) return false;
  }
  throw new Error(`expected true or false, got ${JSON.stringify(input)}`);
}

/**
 * a list: a TOML array of strings or a comma-separated string ("a,b"); empty parts are dropped. the string "[]"
 * (or "[ ]") is the empty list: an empty env var counts as unset, so this is how an env var clears a list
 */
export function parseList(input: unknown): string[] {
  if (Array.isArray(input)) {
    return input
      .map((v) => {
        if (typeof v !== 'string') throw new Error(`expected a list of strings, found ${JSON.stringify(v)}`);
        return v.trim();
      })
      .filter((v) => v !== '');
  }
  if (typeof input === 'string') {
    if (/^\s*\[\s*\]\s*$/.test(input)) return [];
    return input
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  }
  throw new Error('expected a list of strings like ["a", "b"] or "a,b"');
}

/** an RFC 3339 time (a string, or a TOML date-time) */
export function parseTime(input: unknown): Date {
  if (input instanceof Date) {
    if (Number.isNaN(input.getTime())) throw new Error('expected an RFC 3339 time like "2024-05-01T00:00:00Z"');
    return new Date(input.getTime());
  }
  if (
    typeof input === 'string' &&
    /^\d{4}-\d\d-\d\d([Tt ]\d\d:\d\d(:\d\d(\.\d+)?)?([Zz]|[+-]\d\d:\d\d)?)?$/.test(input.trim())
  ) {
    const d = new Date(input.trim());
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new Error(`expected an RFC 3339 time like "2024-05-01T00:00:00Z", got ${JSON.stringify(input)}`);
}

/** closest candidate by edit distance, for "did you mean" hints */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** longest source line quoted under a toml syntax error */
const EXCERPT_MAX = 120;

/**
 * a toml parse error as `<file>:<line>:<col>: invalid TOML: <reason>`, then the offending line with a caret when it
 * is short. smol-toml's TomlError has line and column (1-based) and a code block of the lines around; only the one
 * line is quoted, and not when it may hold a secret (an api key or passphrase written on it). values left unquoted
 * anywhere in the file follow, each with its fix
 */
export function tomlErrorMessage(file: string, text: string, err: unknown): string {
  const hint = unquotedValuesHint(unquotedValues(text));
  const msg = tomlErrorHead(file, text, err);
  return hint ? `${msg}\n${hint}` : msg;
}

function tomlErrorHead(file: string, text: string, err: unknown): string {
  const e = err as { message?: unknown; line?: unknown; column?: unknown };
  const reason = String(e?.message ?? err)
    .split('\n')[0]!
    .replace(/^Invalid TOML document: /, '');
  if (typeof e?.line !== 'number' || typeof e.column !== 'number') return `${file}: invalid TOML: ${reason}`;
  const head = `${file}:${e.line}:${e.column}: invalid TOML: ${reason}`;
  // tabs shown as one space keep the caret under the column
  const lines = text.split(/\r?\n/);
  const src = (lines[e.line - 1] ?? '').replace(/\t/g, ' ');
  if (src.trim() === '' || src.length > EXCERPT_MAX || /api[-_]?key|passphrase|password|secret|token/i.test(src))
    return head;
  // a line inside a multi-line string is a value with its key lines above (a passphrase, maybe): only a line
  // that starts a statement (`key = ...`, `[table]`) outside such a string is quoted
  const before = lines.slice(0, e.line - 1).join('\n');
  const open = ((before.match(/"""/g)?.length ?? 0) % 2) + ((before.match(/'''/g)?.length ?? 0) % 2);
  if (open !== 0 || !/^\s*(\[|[A-Za-z0-9_"'-][^=]*=)/.test(src) || /"""|'''/.test(src)) return head;
  const num = String(e.line);
  return `${head}\n  ${num} | ${src}\n  ${' '.repeat(num.length)} | ${' '.repeat(Math.max(0, e.column - 1))}^`;
}
