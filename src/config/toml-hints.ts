// the likely fix for toml a person wrote by hand: values left unquoted (`ca = /home/bob/ca.crt`, as in the
// teleport guide's own teleport-event-handler.toml). pure: the whole text is scanned, so every such line is
// named in one run, not one per attempt.
import { parse as parseToml } from 'smol-toml';

export interface UnquotedValue {
  /** 1-based */
  line: number;
  key: string;
  /** the line as it should read, or undefined when the value may be a secret or is not printable */
  fixed?: string;
}

/** keys whose values are never repeated in a message */
const SECRET_KEY = /api[-_]?key|passphrase|password|secret|token/i;
/** longest value repeated in a fix */
const VALUE_MAX = 200;

/** `key = value` lines whose value is not a TOML value but a bare word that quotes would make a string */
export function unquotedValues(text: string): UnquotedValue[] {
  const out: UnquotedValue[] = [];
  let inBasic = false; // inside """...""": its lines are a value, not statements
  let inLiteral = false; // inside '''...'''
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const src = lines[i]!;
    const wasInside = inBasic || inLiteral;
    inBasic = inBasic !== ((src.match(/"""/g)?.length ?? 0) % 2 === 1);
    inLiteral = inLiteral !== ((src.match(/'''/g)?.length ?? 0) % 2 === 1);
    if (wasInside) continue;
    const m = /^(\s*)([A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*$/.exec(src);
    if (!m) continue;
    const [, indent, key, rest] = m as unknown as [string, string, string, string];
    // a trailing comment after whitespace stays a comment
    const c = /\s#/.exec(rest);
    const value = (c ? rest.slice(0, c.index) : rest).trimEnd();
    const comment = c ? rest.slice(c.index) : '';
    // only a bare word: a value that starts like a string, array, table or another `=` is a different mistake
    if (!/^[A-Za-z0-9_/~.:@$%+*,-]/.test(value) || /["'=]/.test(value)) continue;
    if (isTomlValue(value)) continue;
    const hidden = SECRET_KEY.test(key) || value.length > VALUE_MAX || !/^[\x20-\x7e]*$/.test(value);
    const u: UnquotedValue = { line: i + 1, key };
    if (!hidden) u.fixed = `${indent}${key} = ${JSON.stringify(value)}${comment}`.trim();
    out.push(u);
  }
  return out;
}

function isTomlValue(value: string): boolean {
  try {
    parseToml(`x = ${value}`);
    return true;
  } catch {
    return false;
  }
}

/** the lines of a message naming each unquoted value and its fix; empty when there is none */
export function unquotedValuesHint(found: readonly UnquotedValue[]): string {
  if (found.length === 0) return '';
  const n = found.length;
  const head = `${n === 1 ? 'a value is' : `${n} values are`} not quoted (a TOML string needs quotes):`;
  const lines = found.map(
    (u) => `  line ${u.line}: quote the string: ${u.fixed ?? `key "${u.key}" (value not shown: put it in quotes)`}`,
  );
  return [head, ...lines].join('\n');
}
