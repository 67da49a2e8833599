// the few ruby behaviours fluentd's filters rely on, reproduced so a record filters the same here as there:
// `to_s` (grep matches it; placeholders interpolate it), `to_f` (renew_time_key), Time#to_s (${time}), String#split
// on '.', and fluentd's :regexp parameter type (`/re/im` or a bare pattern) read into a JS RegExp. pure.

/** ruby's `value.to_s` for a JSON value: nil -> "", arrays and hashes as ruby 3.x inspects them */
export function rubyToS(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  return rubyInspect(v);
}

/** ruby's `inspect` (before ruby 3.4's `{"a" => 1}`: fluentd 1.15 runs on ruby 2.7 to 3.2) */
export function rubyInspect(v: unknown): string {
  if (v === undefined || v === null) return 'nil';
  switch (typeof v) {
    case 'string':
      return inspectString(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      return rubyNumber(v);
  }
  if (Array.isArray(v)) return `[${v.map(rubyInspect).join(', ')}]`;
  if (typeof v === 'object') {
    const parts = Object.entries(v as Record<string, unknown>).map(
      ([k, x]) => `${inspectString(k)}=>${rubyInspect(x)}`,
    );
    return `{${parts.join(', ')}}`;
  }
  return String(v);
}

// json gives no integer/float distinction: a whole number prints as a ruby Integer (1.0 in the json prints "1";
// ruby would print "1.0"), any other number as a ruby Float
function rubyNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(n)) return BigInt(n).toString();
  // ruby Float#to_s: plain notation for 1e-4 <= |n| < 1e16, else d.ddde+XX with two exponent digits at least
  const abs = Math.abs(n);
  if (abs >= 1e-4 && abs < 1e16) {
    const s = n.toString();
    if (!s.includes('e')) return s;
    return n.toFixed(20).replace(/0+$/, '').replace(/\.$/, '.0');
  }
  const [mant, exp] = n.toExponential().split('e');
  const m = mant!.includes('.') ? mant! : `${mant}.0`;
  const e = Number(exp);
  return `${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

const INSPECT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\t': '\\t',
  '\r': '\\r',
  '\f': '\\f',
  '\v': '\\v',
  '\b': '\\b',
  '\x07': '\\a',
  '\x1b': '\\e',
};

function inspectString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const esc = INSPECT_ESCAPES[c];
    if (esc) out += esc;
    else if (c === '#' && (s[i + 1] === '{' || s[i + 1] === '$' || s[i + 1] === '@')) out += '\\#';
    else if (c < ' ' || c === '\x7f') out += `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
    else out += c;
  }
  return out + '"';
}

/** ruby's `value.to_f`: numbers as they are, strings by their leading number (else 0.0), nil 0.0; else throws */
export function rubyToF(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const m = /^\s*([+-]?(?:\d[\d_]*)?(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(v);
    const n = m ? Number(m[1]!.replace(/_/g, '')) : NaN;
    return Number.isFinite(n) ? n : 0;
  }
  throw new TypeError(`undefined method \`to_f' for ${rubyClass(v)}`);
}

export function rubyClass(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return 'String';
  if (typeof v === 'number') return Number.isInteger(v) ? 'Integer' : 'Float';
  if (Array.isArray(v)) return 'Array';
  return 'Hash';
}

/** ruby's Time.at(t).to_s in this process's time zone: `2026-12-07 01:31:52 +0000` */
export function rubyTimeToS(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const off = -d.getTimezoneOffset();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const zone = `${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${zone}`;
}

/** ruby's `tag.split('.')`: trailing empty parts are dropped, an empty tag has none */
export function rubySplitDot(s: string): string[] {
  const parts = s.split('.');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * fluentd's :regexp parameter: `/re/` with `i` and `m` options after the closing slash, or the bare pattern.
 * ruby's syntax is read into a JS RegExp that matches the same strings: `^` and `$` match at line breaks (always,
 * in ruby), ruby's `m` is JS's `s`, `\A` `\z` `\Z` `\h` and POSIX classes are rewritten. what has no JS
 * equivalent (atomic groups, possessive quantifiers, inline options) throws with the construct named.
 */
export function fluentRegexp(value: string): RegExp {
  let source = value;
  let ignoreCase = false;
  let multiline = false;
  if (value.startsWith('/')) {
    const right = value.lastIndexOf('/');
    if (right < value.length - 3) throw new Error(`invalid regexp: missing right slash: ${value}`);
    const options = value.slice(right + 1);
    ignoreCase = options.includes('i');
    multiline = options.includes('m');
    source = right === 0 ? '' : value.slice(1, right);
  }
  return rubyRegexp(source, ignoreCase, multiline);
}

const POSIX: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\r\\n\\v\\f',
  xdigit: '0-9A-Fa-f',
  punct: '!-\\/:-@\\[-`{-~',
  word: '\\w',
  blank: ' \\t',
  cntrl: '\\x00-\\x1f\\x7f',
  print: '\\x20-\\x7e',
  graph: '\\x21-\\x7e',
};

export function rubyRegexp(source: string, ignoreCase = false, multiline = false): RegExp {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const n = source[i + 1];
      if (n === undefined) throw new Error(`invalid regexp /${source}/: it ends with a lone backslash`);
      i++;
      if (!inClass && n === 'A') out += '(?<![\\s\\S])';
      else if (!inClass && n === 'z') out += '(?![\\s\\S])';
      else if (!inClass && n === 'Z') out += '(?=\\n?(?![\\s\\S]))';
      else if (n === 'h') out += inClass ? '0-9a-fA-F' : '[0-9a-fA-F]';
      else if (n === 'H' && !inClass) out += '[^0-9a-fA-F]';
      else if (!inClass && (n === 'G' || n === 'K' || n === 'R' || n === 'X'))
        throw new Error(`regexp /${source}/: \\${n} has no equivalent here; rewrite the pattern without it`);
      else out += '\\' + n;
      continue;
    }
    if (inClass) {
      if (c === '[' && source[i + 1] === ':') {
        const end = source.indexOf(':]', i + 2);
        const name = end > 0 ? source.slice(i + 2, end) : '';
        const negated = name.startsWith('^');
        const cls = POSIX[negated ? name.slice(1) : name];
        if (!cls || negated) throw new Error(`regexp /${source}/: the POSIX class [:${name}:] is not supported`);
        out += cls;
        i = end + 1;
        continue;
      }
      if (c === '[') throw new Error(`regexp /${source}/: nested character classes are not supported`);
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (source[i + 1] === '^') out += source[++i];
      if (source[i + 1] === ']') out += '\\' + source[++i];
      continue;
    }
    if (c === '(' && source[i + 1] === '?') {
      const n = source[i + 2];
      if (n === '>') throw new Error(`regexp /${source}/: atomic groups (?>…) are not supported`);
      if (n === '#') {
        const end = source.indexOf(')', i);
        if (end < 0) throw new Error(`invalid regexp /${source}/: an unterminated comment`);
        i = end;
        continue;
      }
      if (n !== ':' && n !== '=' && n !== '!' && n !== '<')
        throw new Error(`regexp /${source}/: inline options (?${n}…) are not supported; use /…/i or /…/m`);
      if (n === '<' && source[i + 3] !== '=' && source[i + 3] !== '!') {
        // a named group: (?<name>…) reads the same in JS
      }
    }
    if ((c === '+' || c === '?' || c === '*' || c === '}') && source[i + 1] === '+')
      throw new Error(`regexp /${source}/: possessive quantifiers (${c}+) are not supported`);
    out += c;
  }
  const flags = `m${ignoreCase ? 'i' : ''}${multiline ? 's' : ''}`;
  try {
    return new RegExp(out, flags);
  } catch (err) {
    throw new Error(
      `invalid regexp /${source}/: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`,
    );
  }
}
