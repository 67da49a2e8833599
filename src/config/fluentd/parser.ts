// fluentd's configuration syntax (the v1 format of lib/fluent/config/v1_parser.rb and literal_parser.rb), read
// into a tree of sections and params. pure: included files come from a reader the caller passes in.
//
//   <name arg> … </name>   nested sections; the arg runs to the `>` (`<match a.** b.*>`, `<transport tls>`)
//   key value              the value runs to the end of the line; ` # …` after a space is a comment, `a#b` is not
//   key "…"                double quotes: escapes \" \' \\ \n \r \t \f \b \0, a backslash before a newline joins
//                          the lines, newlines inside are kept, `#{…}` is embedded ruby (only ENV lookups here)
//   key '…'                single quotes: only \' and \\ are escapes, one line
//   key [ … ] / { … }      a json array or object, may span lines
//   key                    no value: the empty string
//   @include path          another file (or glob) inlined in place, relative to the including file
//
// as in fluentd, a value that starts with '#' is not a comment: `key # note` is "# note", `key #{x}` is "#{x}".
import { FluentConfigError } from '../../errors.js';

export interface FluentParam {
  key: string;
  /** the value with escapes and embedded ruby applied; unresolved `#{…}` stay as written */
  value: string;
  file: string;
  line: number;
  /** how the value was written: `"`, `'`, json (`[`/`{`), or null (bare) */
  quote: '"' | "'" | 'json' | null;
  /** embedded ruby in a double-quoted value, in order */
  embedded?: Embedded[];
  /** the whole value was one `#{ENV['NAME']}`: the variable's name (secrets can stay in the environment) */
  envVar?: string;
}

export interface Embedded {
  code: string;
  /** true when evaluated (an ENV lookup, a string literal, `||` of those); false: left as written */
  resolved: boolean;
  /** env vars it read */
  env: string[];
  /** env vars it read that were not set */
  unset: string[];
}

export interface FluentSection {
  /** `source`, `match`, `store`…; the root section is named '' */
  name: string;
  /** the text between the name and `>`, trimmed (a match pattern, `tls`, `@LABEL`) */
  arg: string;
  file: string;
  line: number;
  params: FluentParam[];
  sections: FluentSection[];
}

export interface FluentDiagnostic {
  level: 'warn' | 'info';
  file: string;
  line: number;
  message: string;
}

/** reads an `@include` target: the files it names, in order; null when it cannot be followed (a url) */
export type IncludeReader = (spec: string, fromFile: string) => Array<{ file: string; text: string }> | null;

export interface ParseOptions {
  /** shown in errors and kept on every section and param */
  file: string;
  /** for `#{ENV['NAME']}`; without it every lookup is unset */
  env?: Record<string, string | undefined>;
  /** without it `@include` is reported and skipped */
  include?: IncludeReader;
}

export interface ParseResult {
  root: FluentSection;
  diagnostics: FluentDiagnostic[];
}

const MAX_INCLUDE_DEPTH = 16;

export function parseFluentConf(text: string, options: ParseOptions): ParseResult {
  const diagnostics: FluentDiagnostic[] = [];
  const root: FluentSection = { name: '', arg: '', file: options.file, line: 1, params: [], sections: [] };
  const ctx: Ctx = { env: options.env ?? {}, include: options.include, diagnostics, stack: [options.file] };
  new Parser(text, options.file, ctx).parseBody(root, true);
  return { root, diagnostics };
}

/** true when a config file's text reads as fluentd syntax rather than TOML: its first statement is a <section> or @include */
export function looksLikeFluentConf(text: string): boolean {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    return line.startsWith('<') || /^@?include\s/.test(line);
  }
  return false;
}

/** the last value of a param (fluentd keeps the last of repeated keys) */
export function getParam(section: FluentSection, key: string): FluentParam | undefined {
  for (let i = section.params.length - 1; i >= 0; i--) if (section.params[i]!.key === key) return section.params[i];
  return undefined;
}

/** `@type`, or the v0 spelling `type` */
export function sectionType(section: FluentSection): string | undefined {
  return (getParam(section, '@type') ?? getParam(section, 'type'))?.value;
}

interface Ctx {
  env: Record<string, string | undefined>;
  include?: IncludeReader;
  diagnostics: FluentDiagnostic[];
  /** files being parsed, outermost first: include cycles */
  stack: string[];
}

const NAME = /[A-Za-z0-9_]/;

class Parser {
  private pos = 0;
  private line = 1;

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly ctx: Ctx,
  ) {}

  private fail(message: string, line = this.line): never {
    throw new FluentConfigError(this.file, line, message);
  }

  private at(): string | undefined {
    return this.text[this.pos];
  }

  private advance(): string {
    const c = this.text[this.pos++]!;
    if (c === '\n') this.line++;
    return c;
  }

  private skipBlanks(): void {
    while (this.at() === ' ' || this.at() === '\t') this.pos++;
  }

  /** whitespace, newlines and comments */
  private skipSpacing(): void {
    for (;;) {
      const c = this.at();
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') this.advance();
      else if (c === '#') this.skipToEol();
      else return;
    }
  }

  private skipToEol(): void {
    while (this.at() !== undefined && this.at() !== '\n') this.pos++;
  }

  /** blanks, an optional comment, then a newline or the end; false when something else follows */
  private lineEnd(): boolean {
    this.skipBlanks();
    if (this.at() === '#') this.skipToEol();
    if (this.at() === '\r') this.pos++;
    if (this.at() === undefined) return true;
    if (this.at() === '\n') {
      this.advance();
      return true;
    }
    return false;
  }

  parseBody(section: FluentSection, isRoot: boolean): void {
    for (;;) {
      this.skipSpacing();
      if (this.at() === undefined) {
        if (isRoot) return;
        this.fail(
          `<${section.name}${section.arg ? ' ' + section.arg : ''}> is never closed: expected </${section.name}> before the end of the file`,
          section.line,
        );
      }
      if (this.text.startsWith('</', this.pos)) {
        const line = this.line;
        this.pos += 2;
        const name = this.scanName();
        this.skipBlanks();
        if (this.at() !== '>') this.fail(`expected '>' to end the tag </${name}`);
        this.pos++;
        if (!this.lineEnd()) this.fail(`expected the end of the line after </${name}>`);
        if (isRoot) this.fail(`</${name}> closes nothing: there is no open <${name}>`, line);
        if (name !== section.name)
          this.fail(`</${name}> does not close <${section.name}> (opened at line ${section.line})`, line);
        return;
      }
      if (this.at() === '<') {
        const line = this.line;
        this.pos++;
        const name = this.scanName();
        if (!name) this.fail("expected a section name after '<'");
        const start = this.pos;
        while (this.at() !== undefined && this.at() !== '>' && this.at() !== '\n') this.pos++;
        if (this.at() !== '>') this.fail(`expected '>' to end the tag <${name}`);
        const arg = this.text.slice(start, this.pos).trim();
        this.pos++;
        if (!this.lineEnd()) this.fail(`expected the end of the line after <${name}${arg ? ' ' + arg : ''}>`);
        const child: FluentSection = { name, arg, file: this.file, line, params: [], sections: [] };
        this.parseBody(child, false);
        section.sections.push(child);
        continue;
      }
      this.parseParam(section, isRoot);
    }
  }

  private scanName(): string {
    const start = this.pos;
    while (NAME.test(this.at() ?? '')) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private parseParam(section: FluentSection, isRoot: boolean): void {
    const line = this.line;
    const start = this.pos;
    while (/\S/.test(this.at() ?? ' ')) this.pos++;
    const key = this.text.slice(start, this.pos);
    this.skipBlanks();
    let param: FluentParam;
    if (this.at() === undefined || this.at() === '\n' || this.at() === '\r') {
      this.lineEnd();
      param = { key, value: '', file: this.file, line, quote: null };
    } else {
      param = { key, file: this.file, line, ...this.parseLiteral(key) };
    }
    if (key === '@include' || (key === 'include' && isRoot)) {
      if (key === 'include')
        this.ctx.diagnostics.push({
          level: 'info',
          file: this.file,
          line,
          message: "'include' is the old spelling of '@include'",
        });
      this.doInclude(section, param);
      return;
    }
    section.params.push(param);
  }

  private parseLiteral(key: string): Pick<FluentParam, 'value' | 'quote' | 'embedded' | 'envVar'> {
    const line = this.line;
    const c = this.at();
    if (c === '"' || c === "'" || c === '[' || c === '{') {
      const r =
        c === '"'
          ? this.doubleQuoted()
          : c === "'"
            ? { value: this.singleQuoted(), quote: "'" as const }
            : { value: this.json(key), quote: 'json' as const };
      if (!this.lineEnd()) this.fail(`unexpected text after the value of "${key}" (quote the whole value)`, line);
      return r;
    }
    const start = this.pos;
    this.skipToEol();
    let raw = this.text.slice(start, this.pos);
    // a comment starts at a '#' that follows a blank
    const comment = /[ \t]#/.exec(raw);
    if (comment) raw = raw.slice(0, comment.index);
    this.lineEnd();
    return { value: raw.replace(/[ \t\r]+$/, ''), quote: null };
  }

  private doubleQuoted(): Pick<FluentParam, 'value' | 'quote' | 'embedded' | 'envVar'> {
    const startLine = this.line;
    this.pos++;
    let out = '';
    const embedded: Embedded[] = [];
    let pieces = 0;
    for (;;) {
      const c = this.at();
      if (c === undefined) this.fail('a double-quoted value is never closed', startLine);
      if (c === '"') {
        this.pos++;
        break;
      }
      if (c === '\\') {
        const n = this.text[this.pos + 1];
        if (n === undefined) this.fail('a double-quoted value is never closed', startLine);
        if (n === '\n' || (n === '\r' && this.text[this.pos + 2] === '\n')) {
          // a backslash at the end of a line joins it with the next
          this.pos++;
          if (this.at() === '\r') this.pos++;
          this.advance();
          continue;
        }
        this.pos += 2;
        const mapped = ESCAPES[n];
        if (mapped !== undefined) out += mapped;
        else if (/[A-Za-z0-9]/.test(n))
          this.fail('unknown escape sequence in a double-quoted value (a backslash before a letter or digit)');
        else out += n;
        pieces++;
        continue;
      }
      if (c === '#' && this.text[this.pos + 1] === '{') {
        const codeLine = this.line;
        this.pos += 2;
        const code = this.embeddedCode(codeLine);
        const r = evalRuby(code, this.ctx.env);
        embedded.push({ code, resolved: r.ok, env: r.env, unset: r.unset });
        out += r.ok ? r.value : `#{${code}}`;
        pieces++;
        continue;
      }
      out += this.advance();
      pieces++;
    }
    const result: Pick<FluentParam, 'value' | 'quote' | 'embedded' | 'envVar'> = { value: out, quote: '"' };
    if (embedded.length > 0) {
      result.embedded = embedded;
      const only = embedded[0]!;
      const m = /^\s*ENV\s*(?:\[\s*(["'])([^"']+)\1\s*\]|\.fetch\(\s*(["'])([^"']+)\3\s*\))\s*$/.exec(only.code);
      if (pieces === 1 && embedded.length === 1 && m) result.envVar = m[2] ?? m[4];
    }
    return result;
  }

  /** the ruby code of `#{…}` up to its closing brace (braces inside ruby strings do not count) */
  private embeddedCode(startLine: number): string {
    const start = this.pos;
    let depth = 0;
    let quote: string | null = null;
    for (;;) {
      const c = this.at();
      if (c === undefined || c === '\n') this.fail('an embedded #{…} is never closed', startLine);
      if (quote) {
        if (c === '\\') this.pos++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === "'") {
        quote = c;
      } else if (c === '{') {
        depth++;
      } else if (c === '}') {
        if (depth === 0) {
          const code = this.text.slice(start, this.pos);
          this.pos++;
          return code;
        }
        depth--;
      }
      this.pos++;
    }
  }

  private singleQuoted(): string {
    const startLine = this.line;
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.at();
      if (c === undefined || c === '\n')
        this.fail('a single-quoted value is never closed (single quotes cannot span lines)', startLine);
      if (c === "'") {
        this.pos++;
        return out;
      }
      if (c === '\\' && (this.text[this.pos + 1] === "'" || this.text[this.pos + 1] === '\\')) {
        out += this.text[this.pos + 1];
        this.pos += 2;
        continue;
      }
      out += c;
      this.pos++;
    }
  }

  /** a json array or object, possibly over several lines; `#` outside strings starts a comment */
  private json(key: string): string {
    const startLine = this.line;
    let text = '';
    let depth = 0;
    let inString = false;
    for (;;) {
      const c = this.at();
      if (c === undefined) this.fail(`the JSON value of "${key}" is never closed`, startLine);
      if (inString) {
        if (c === '\\') {
          text += c;
          this.pos++;
          if (this.at() === undefined) continue;
        } else if (c === '"') {
          inString = false;
        }
        text += this.advance();
        continue;
      }
      if (c === '#') {
        this.skipToEol();
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '[' || c === '{') depth++;
      else if (c === ']' || c === '}') depth--;
      text += this.advance();
      if (depth === 0) break;
    }
    try {
      return JSON.stringify(JSON.parse(text));
    } catch {
      this.fail(
        `the value of "${key}" starts like JSON but is not valid JSON (quote it if it is a plain string)`,
        startLine,
      );
    }
  }

  private doInclude(section: FluentSection, param: FluentParam): void {
    const spec = param.value.trim();
    const diag = (level: 'warn' | 'info', message: string) =>
      this.ctx.diagnostics.push({ level, file: this.file, line: param.line, message });
    if (!spec) this.fail('@include needs a path', param.line);
    if (!this.ctx.include) {
      diag('warn', `@include ${spec} was not followed: migrate the included file too, or inline it`);
      return;
    }
    if (this.ctx.stack.length > MAX_INCLUDE_DEPTH)
      this.fail(`@include ${spec}: includes nest deeper than ${MAX_INCLUDE_DEPTH} levels`, param.line);
    let files: Array<{ file: string; text: string }> | null;
    try {
      files = this.ctx.include(spec, this.file);
    } catch (err) {
      this.fail(`@include ${spec}: ${(err as Error).message}`, param.line);
    }
    if (files === null) {
      diag('warn', `@include ${spec} was not followed: only local files are read (no urls)`);
      return;
    }
    if (files.length === 0) diag('info', `@include ${spec} matched no file`);
    for (const f of files) {
      if (this.ctx.stack.includes(f.file))
        this.fail(`@include ${spec}: ${f.file} includes itself (an include cycle)`, param.line);
      const sub = new Parser(f.text, f.file, { ...this.ctx, stack: [...this.ctx.stack, f.file] });
      // the included file's params and sections land in the including section, as fluentd does
      sub.parseBody(section, true);
    }
  }
}

const ESCAPES: Record<string, string> = {
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

// fluentd's value types, for params the migration carries over

/** fluentd's bool: true/yes, false/no, and a key with no value is true; undefined when it is none of those */
export function fluentBool(value: string): boolean | undefined {
  const v = value.trim();
  if (v === '' || v === 'true' || v === 'yes') return true;
  if (v === 'false' || v === 'no') return false;
  return undefined;
}

/** fluentd's size: bytes, or k/m/g/t (powers of 1024); undefined when it does not parse */
export function fluentSize(value: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[bB]?\s*$/.exec(value);
  if (!m) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()]!;
  return Math.round(Number(m[1]) * mult);
}

/** a whole number; undefined when it is not one */
export function fluentInt(value: string): number | undefined {
  const v = value.trim();
  return /^-?\d+$/.test(v) ? Number(v) : undefined;
}
