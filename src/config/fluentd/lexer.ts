// the scanner under the fluent.conf parser: position and line, blanks and comments, and the values of params
// (bare, quoted, json) with their escapes and embedded ruby. the parser builds sections on it. pure.
import { FluentConfigError } from '../../errors.js';
import { ESCAPES, evalRuby } from './ruby.js';
import type { Embedded, FluentParam } from './tree.js';

export class Lexer {
  protected pos = 0;
  protected line = 1;

  constructor(
    protected readonly text: string,
    protected readonly file: string,
    private readonly env: Record<string, string | undefined>,
  ) {}

  protected fail(message: string, line = this.line): never {
    throw new FluentConfigError(this.file, line, message);
  }

  protected at(): string | undefined {
    return this.text[this.pos];
  }

  protected advance(): string {
    const c = this.text[this.pos++]!;
    if (c === '\n') this.line++;
    return c;
  }

  protected skipBlanks(): void {
    while (this.at() === ' ' || this.at() === '\t') this.pos++;
  }

  /** whitespace, newlines and comments */
  protected skipSpacing(): void {
    for (;;) {
      const c = this.at();
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') this.advance();
      else if (c === '#') this.skipToEol();
      else return;
    }
  }

  protected skipToEol(): void {
    while (this.at() !== undefined && this.at() !== '\n') this.pos++;
  }

  /** blanks, an optional comment, then a newline or the end; false when something else follows */
  protected lineEnd(): boolean {
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

  protected parseLiteral(key: string): Pick<FluentParam, 'value' | 'quote' | 'embedded' | 'envVar'> {
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
        const r = evalRuby(code, this.env);
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
}
