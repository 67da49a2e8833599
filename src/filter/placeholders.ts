// the ${…} placeholders of fluentd's record_transformer, compiled once per configured string. two dialects:
//   plain (enable_ruby false): a placeholder is one of the exact texts fluentd builds per record, `${tag}`,
//     `${tag_parts[N]}` (N from 0, or from -size), `${tag_prefix[N]}`, `${tag_suffix[N]}`, `${hostname}`,
//     `${time}`, `${record["key"]}` (top-level keys only); `__UPPER_CASE__` is a placeholder too (fluentd's
//     pattern keeps the old syntax). anything else is unknown and expands to nil ("" inside a string).
//   ruby (enable_ruby true): only expressions that read values, `record["a"]["b"]`, `record.dig("a", 0)`,
//     `tag_parts[-1]`, `tag`, `time`, `hostname`, are accepted; ruby is never evaluated. what ruby would raise
//     on (`record["missing"]["x"]`, a dig through a string) throws PlaceholderError: fluentd sends such a record
//     to its error stream, so it leaves the chain. any other expression is refused at compile time.
// with auto_typecast, a value that is one placeholder alone keeps the value's type (a number stays a number,
// nil is null); elsewhere values are interpolated with ruby's to_s. pure.
import { dig, DigError } from './accessor.js';
import { rubyClass, rubySplitDot, rubyTimeToS, rubyToS } from './ruby.js';

export interface PlaceholderValues {
  tag: string;
  /** event time, epoch ms */
  time: number;
  record: Record<string, unknown>;
  hostname: string;
}

/** a record the ruby dialect cannot expand (fluentd: "failed to expand", the record goes to the error stream) */
export class PlaceholderError extends Error {}

/** an expression the ruby dialect refuses at load: it would need ruby to be evaluated */
export class RubyExpressionError extends Error {
  constructor(
    readonly expression: string,
    why?: string,
  ) {
    super(
      why
        ? `${expression}: ${why}, which needs ruby to be evaluated; the forwarder never does: write the text without it`
        : `\${${expression}} needs ruby to be evaluated, which the forwarder never does: only record access (record["a"]["b"], record.dig("a", "b")), tag, tag_parts[N], tag_prefix[N], tag_suffix[N], hostname and time are carried over`,
    );
  }
}

/** tag-derived values, computed once per tag */
interface TagValues {
  parts: string[];
  prefix: string[];
  suffix: string[];
}

export class Expansion {
  private tagCache = new Map<string, TagValues>();
  tagValues(tag: string): TagValues {
    let v = this.tagCache.get(tag);
    if (v === undefined) {
      const parts = rubySplitDot(tag);
      const prefix: string[] = [];
      const suffix: string[] = new Array<string>(parts.length);
      parts.forEach((p, i) => prefix.push(i === 0 ? p : `${prefix[i - 1]}.${p}`));
      for (let i = parts.length - 1; i >= 0; i--)
        suffix[i] = i === parts.length - 1 ? parts[i]! : `${parts[i]}.${suffix[i + 1]}`;
      v = { parts, prefix, suffix };
      // tags come from clients: bound the cache
      if (this.tagCache.size >= 1000) this.tagCache.clear();
      this.tagCache.set(tag, v);
    }
    return v;
  }
}

type Getter = (p: PlaceholderValues, x: Expansion) => unknown;

export interface Template {
  /** the text as configured */
  readonly text: string;
  expand(p: PlaceholderValues, x: Expansion): unknown;
  /** placeholders that can never resolve (plain dialect), for a warning at load */
  readonly unknown: readonly string[];
}

const PLAIN_RE = /(\$\{[^}]+\}|__[A-Z_]+__)/g;
const PLAIN_SINGLE = /^(\$\{[^}]+\}|__[A-Z_]+__)$/;

/** compiles a configured string; `typecast` false for hash keys, which fluentd always stringifies */
export function compileTemplate(text: string, ruby: boolean, autoTypecast: boolean, typecast = true): Template {
  return ruby ? compileRuby(text, autoTypecast && typecast) : compilePlain(text, autoTypecast && typecast);
}

function compilePlain(text: string, single: boolean): Template {
  const unknown: string[] = [];
  const getter = (ph: string): Getter => {
    const g = plainGetter(ph);
    if (g === null) {
      unknown.push(ph);
      return () => undefined;
    }
    return g;
  };
  if (single && PLAIN_SINGLE.test(text)) {
    const g = getter(text);
    return { text, unknown, expand: g };
  }
  const parts: Array<string | Getter> = [];
  let last = 0;
  for (const m of text.matchAll(PLAIN_RE)) {
    if (m.index! > last) parts.push(text.slice(last, m.index));
    parts.push(getter(m[0]));
    last = m.index! + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  if (parts.length === 1 && typeof parts[0] === 'string') return { text, unknown, expand: () => text };
  return {
    text,
    unknown,
    expand(p, x) {
      let s = '';
      for (const part of parts) s += typeof part === 'string' ? part : rubyToS(part(p, x));
      return s;
    },
  };
}

const TAG_INDEX = /^\$\{(tag_parts|tag_prefix|tag_suffix)\[(0|[1-9]\d*|-[1-9]\d*)\]\}$/;
const RECORD_KEY = /^\$\{record\["([\s\S]*)"\]\}$/;

// null: a text no record can give (fluentd builds `${record["k"]}` for each top-level key k)
function plainGetter(ph: string): Getter | null {
  if (ph === '${tag}') return (p) => p.tag;
  if (ph === '${hostname}') return (p) => p.hostname;
  if (ph === '${time}') return (p) => rubyTimeToS(p.time);
  const t = TAG_INDEX.exec(ph);
  if (t) {
    const which = t[1] === 'tag_parts' ? 'parts' : t[1] === 'tag_prefix' ? 'prefix' : 'suffix';
    const n = Number(t[2]);
    return (p, x) => {
      const arr = x.tagValues(p.tag)[which];
      // fluentd stores idx and idx - size: N from -size to size - 1
      if (n >= arr.length || n < -arr.length) return undefined;
      return arr.at(n);
    };
  }
  const r = RECORD_KEY.exec(ph);
  if (r) {
    const key = r[1]!;
    return (p) => (Object.hasOwn(p.record, key) ? p.record[key] : undefined);
  }
  return null;
}

// ---- the ruby dialect: record access only

type Step = { kind: 'index'; key: string | number } | { kind: 'dig'; keys: Array<string | number> };
interface Expr {
  root: 'record' | 'tag' | 'tag_parts' | 'tag_prefix' | 'tag_suffix' | 'hostname' | 'time';
  steps: Step[];
}

const ROOTS = new Set(['record', 'tag', 'tag_parts', 'tag_prefix', 'tag_suffix', 'hostname', 'time']);

/** reads `record["a"].dig("b", 0)` and the like; null when the text is anything else */
export function parseRubyAccess(code: string): Expr | null {
  let i = 0;
  const ws = () => {
    while (i < code.length && /\s/.test(code[i]!)) i++;
  };
  const literal = (): string | number | null => {
    ws();
    const q = code[i];
    if (q === '"' || q === "'") {
      let s = '';
      i++;
      while (i < code.length && code[i] !== q) {
        if (code[i] === '\\') {
          const n = code[i + 1];
          if (n === undefined) return null;
          if (q === "'" && n !== "'" && n !== '\\') s += '\\';
          else if (q === '"' && !['"', '\\'].includes(n)) return null; // other escapes would need ruby's rules
          s += n;
          i += 2;
          continue;
        }
        // "#{…}" in a double-quoted literal is interpolation
        if (q === '"' && code[i] === '#' && ['{', '$', '@'].includes(code[i + 1] ?? '')) return null;
        s += code[i];
        i++;
      }
      if (code[i] !== q) return null;
      i++;
      return s;
    }
    const m = /^-?\d+/.exec(code.slice(i));
    if (!m) return null;
    i += m[0].length;
    return Number(m[0]);
  };
  ws();
  const rm = /^[a-z_]+/.exec(code.slice(i));
  if (!rm || !ROOTS.has(rm[0])) return null;
  i += rm[0].length;
  const expr: Expr = { root: rm[0] as Expr['root'], steps: [] };
  for (;;) {
    ws();
    if (i >= code.length) return expr;
    if (code[i] === '[') {
      i++;
      const k = literal();
      ws();
      if (k === null || code[i] !== ']') return null;
      i++;
      expr.steps.push({ kind: 'index', key: k });
    } else if (code.startsWith('.dig', i)) {
      i += 4;
      ws();
      if (code[i] !== '(') return null;
      i++;
      const keys: Array<string | number> = [];
      for (;;) {
        const k = literal();
        if (k === null) return null;
        keys.push(k);
        ws();
        if (code[i] === ',') {
          i++;
          continue;
        }
        if (code[i] === ')') {
          i++;
          break;
        }
        return null;
      }
      expr.steps.push({ kind: 'dig', keys });
    } else return null;
  }
}

function rootValue(e: Expr, p: PlaceholderValues, x: Expansion): unknown {
  switch (e.root) {
    case 'record':
      return p.record;
    case 'tag':
      return p.tag;
    case 'hostname':
      return p.hostname;
    case 'time':
      return new RubyTime(p.time);
    case 'tag_parts':
      return x.tagValues(p.tag).parts;
    case 'tag_prefix':
      return x.tagValues(p.tag).prefix;
    case 'tag_suffix':
      return x.tagValues(p.tag).suffix;
  }
}

/** ruby's Time in an expression: prints as Time#to_s */
class RubyTime {
  constructor(readonly ms: number) {}
  toJSON(): string {
    return rubyTimeToS(this.ms);
  }
}

function undefinedMethod(m: string, v: unknown): PlaceholderError {
  return new PlaceholderError(`undefined method \`${m}' for ${v instanceof RubyTime ? 'Time' : rubyClass(v)}`);
}

// ruby's `v[key]` on the values json gives
function index(v: unknown, key: string | number): unknown {
  if (v === undefined || v === null || v instanceof RubyTime) throw undefinedMethod('[]', v);
  if (Array.isArray(v)) {
    if (typeof key !== 'number') throw new PlaceholderError('no implicit conversion of String into Integer');
    return v.at(key);
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return typeof key === 'string' && Object.hasOwn(o, key) ? o[key] : undefined;
  }
  if (typeof v === 'string') {
    if (typeof key === 'string') return v.includes(key) ? key : undefined;
    const chars = [...v];
    return key >= chars.length || key < -chars.length ? undefined : chars.at(key);
  }
  if (typeof v === 'number' && Number.isInteger(v) && typeof key === 'number')
    return key < 0 ? 0 : Number((BigInt(v) >> BigInt(key)) & 1n);
  throw undefinedMethod('[]', v);
}

function evalExpr(e: Expr, p: PlaceholderValues, x: Expansion): unknown {
  let v = rootValue(e, p, x);
  for (const s of e.steps) {
    if (s.kind === 'index') v = index(v, s.key);
    else {
      if (typeof v !== 'object' || v === null || v instanceof RubyTime) throw undefinedMethod('dig', v);
      try {
        v = dig(v, s.keys);
      } catch (err) {
        if (err instanceof DigError) throw new PlaceholderError(err.message);
        throw err;
      }
    }
  }
  return v;
}

function toS(v: unknown): string {
  if (v instanceof RubyTime) return rubyTimeToS(v.ms);
  return rubyToS(v);
}

function compileRuby(text: string, single: boolean): Template {
  const compile = (code: string): Getter => {
    const e = parseRubyAccess(code);
    if (e === null) throw new RubyExpressionError(code);
    return (p, x) => {
      const v = evalExpr(e, p, x);
      return v instanceof RubyTime ? rubyTimeToS(v.ms) : v;
    };
  };
  // fluentd: one `${` that opens the text and a `}` that ends it is evaluated alone
  if (single && text.startsWith('${') && text.endsWith('}') && text.split('${').length === 2) {
    return { text, unknown: [], expand: compile(text.slice(2, -1)) };
  }
  const parts: Array<string | Getter> = [];
  let i = 0;
  let lit = '';
  while (i < text.length) {
    // fluentd turns the text into ruby's %Q[…]: `#{…}` interpolates there too, and a backslash is an escape
    if (text.startsWith('${', i) || text.startsWith('#{', i)) {
      const end = closingBrace(text, i + 2);
      if (end < 0) throw new RubyExpressionError(text.slice(i + 2));
      if (lit) parts.push(lit);
      lit = '';
      parts.push(compile(text.slice(i + 2, end)));
      i = end + 1;
    } else if (text[i] === '\\') {
      throw new RubyExpressionError(`%Q[${text}]`, 'a backslash outside ${…} is a ruby escape');
    } else lit += text[i++];
  }
  if (lit) parts.push(lit);
  return {
    text,
    unknown: [],
    expand(p, x) {
      let s = '';
      for (const part of parts) s += typeof part === 'string' ? part : toS(part(p, x));
      return s;
    },
  };
}

// the `}` that closes an interpolation, skipping quoted strings in it
function closingBrace(text: string, from: number): number {
  let q: string | null = null;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '\\') i++;
      else if (c === q) q = null;
    } else if (c === '"' || c === "'") q = c;
    else if (c === '}') return i;
  }
  return -1;
}
