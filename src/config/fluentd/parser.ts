// fluentd's configuration syntax (the v1 format of lib/fluent/config/v1_parser.rb and literal_parser.rb), read
// into a tree of sections and params (tree.ts). pure: included files come from a reader the caller passes in.
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
import { Lexer } from './lexer.js';
import type { FluentDiagnostic, FluentParam, FluentSection, IncludeReader } from './tree.js';

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

interface Ctx {
  env: Record<string, string | undefined>;
  include?: IncludeReader;
  diagnostics: FluentDiagnostic[];
  /** files being parsed, outermost first: include cycles */
  stack: string[];
}

const NAME = /[A-Za-z0-9_]/;

// the sections and @include; the lexer under it reads blanks, comments and values
class Parser extends Lexer {
  constructor(
    text: string,
    file: string,
    private readonly ctx: Ctx,
  ) {
    super(text, file, ctx.env);
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
