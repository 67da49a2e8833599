// the embedded ruby of a double-quoted fluent.conf value (`#{…}`): the ENV lookups fluentd users write are
// evaluated, anything else is left for the caller to note. pure.

/** the escapes of a double-quoted string, in fluent.conf as in ruby */
export const ESCAPES: Record<string, string> = {
  '"': '"',
  "'": "'",
  '\\': '\\',
  r: '\r',
  n: '\n',
  t: '\t',
  f: '\f',
  b: '\b',
  '0': '\0',
};

type RubyResult =
  { ok: true; value: string; env: string[]; unset: string[] } | { ok: false; env: string[]; unset: string[] };

/**
 * the embedded ruby we evaluate: `ENV['X']`, `ENV["X"]`, `ENV.fetch('X')`, `ENV.fetch('X', 'default')`, string
 * literals and `a || b` of those (nil is false, "" is true, as in ruby). anything else is left unresolved.
 */
export function evalRuby(code: string, env: Record<string, string | undefined>): RubyResult {
  const used: string[] = [];
  const unset: string[] = [];
  const tokens = tokenizeRuby(code);
  if (!tokens) return { ok: false, env: used, unset };
  let i = 0;
  const peek = () => tokens[i];
  const take = (t: string) => {
    if (tokens[i] === t) {
      i++;
      return true;
    }
    return false;
  };
  const str = (): string | null => {
    const t = tokens[i];
    if (t !== undefined && t.startsWith('s:')) {
      i++;
      return t.slice(2);
    }
    return null;
  };
  // lookups right of a `||` whose left side was set are not made, as in ruby
  let record = true;
  const lookup = (name: string): string | undefined => {
    if (!record) return undefined;
    used.push(name);
    const v = env[name];
    if (v === undefined) unset.push(name);
    return v;
  };
  // one operand: a string, nil, or an env lookup; 'fail' when it is not one of those
  const operand = (): string | undefined | 'fail' => {
    const s = str();
    if (s !== null) return s;
    if (take('nil')) return undefined;
    if (!take('ENV')) return 'fail';
    if (take('[')) {
      const name = str();
      if (name === null || !take(']')) return 'fail';
      return lookup(name);
    }
    if (take('.') && take('fetch') && take('(')) {
      const name = str();
      if (name === null) return 'fail';
      let fallback: string | null = null;
      if (take(',')) {
        fallback = str();
        if (fallback === null) return 'fail';
      }
      if (!take(')')) return 'fail';
      if (!record) return undefined;
      const v = lookup(name);
      // ENV.fetch without a default raises when the variable is unset: fluentd would not start
      if (v === undefined) return fallback ?? 'fail';
      return v;
    }
    return 'fail';
  };
  let value: string | undefined;
  let first = true;
  do {
    record = first || value === undefined;
    const v = operand();
    if (v === 'fail') return { ok: false, env: used, unset };
    if (record) value = v;
    first = false;
  } while (take('||'));
  if (peek() !== undefined) return { ok: false, env: used, unset };
  return { ok: true, value: value ?? '', env: used, unset };
}

/** tokens: `s:<string>`, identifiers, punctuation; null on anything we do not evaluate */
function tokenizeRuby(code: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < code.length) {
    const c = code[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      let s = '';
      i++;
      for (;;) {
        const d = code[i];
        if (d === undefined) return null;
        if (d === c) break;
        if (d === '\\') {
          const n = code[i + 1];
          if (n === undefined) return null;
          s += c === '"' ? (ESCAPES[n] ?? n) : n === "'" || n === '\\' ? n : '\\' + n;
          i += 2;
          continue;
        }
        // ruby interpolation inside the ruby string: not evaluated
        if (c === '"' && d === '#' && code[i + 1] === '{') return null;
        s += d;
        i++;
      }
      i++;
      out.push('s:' + s);
    } else if (code.startsWith('||', i)) {
      out.push('||');
      i += 2;
    } else if ('[](),.'.includes(c)) {
      out.push(c);
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(code.slice(i))!;
      out.push(m[0]);
      i += m[0].length;
    } else {
      return null;
    }
  }
  return out;
}
