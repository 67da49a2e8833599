// what the migration of one fluent.conf carries from section to section: the input, the notes, the tables and
// rules found so far, and the secrets. the section modules (source, routing, match, datadog, handler) take it and
// add to it; toml.ts writes it out. pure.
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import type { TagMatcher } from '../../router/pattern.js';
import type { FilterTable } from './filter.js';
import type { FluentParam, IncludeReader } from './tree.js';

export interface MigrationNote {
  level: 'warn' | 'info';
  /** `fluent.conf:12`, `teleport-event-handler.toml:3` */
  where: string;
  message: string;
}

export interface MigrateInput {
  fluentConf: string;
  fluentConfPath: string;
  handlerToml?: string;
  handlerTomlPath?: string;
  /** for `#{ENV['NAME']}` in fluent.conf */
  env?: Record<string, string | undefined>;
  /** follows `@include`; without it includes are noted and skipped */
  readInclude?: IncludeReader;
  /** true (default): the toml names the secret files in `secretFiles` (the caller writes them); false: none */
  secretFiles?: boolean;
  /** whether a file exists on this host (the caller's fs check); without it, referenced files are not checked */
  fileExists?: (path: string) => boolean;
}

export interface SecretFile {
  /** file name relative to the toml */
  name: string;
  value: string;
  /** what it holds, for messages */
  what: string;
}

export interface MigrateResult {
  toml: string;
  notes: MigrationNote[];
  /** the datadog api key found in fluent.conf (literal, or resolved from the environment) */
  apiKey?: string;
  /** the api key was `#{ENV['NAME']}`: NAME (such a key is left in the environment, not written to a file) */
  apiKeyEnv?: string;
  /** passphrase of the ingest's tls key */
  keyPassphrase?: string;
  keyPassphraseEnv?: string;
  /** files the toml refers to, to write with mode 0600 beside it */
  secretFiles: SecretFile[];
  /** false when neither a complete ingest nor a teleport poller came out: the toml would not start */
  usable: boolean;
}

export const API_KEY_FILE = 'datadog-api-key';

export const PASSPHRASE_FILE = 'ingest-key-passphrase';

export type TomlValue = string | number | boolean | string[] | Date;

export interface Entry {
  key: string;
  value: TomlValue;
}

export interface Rule {
  pattern: string;
  type: 'datadog' | 'null';
  fields: Entry[];
  /** the comment above the rule */
  origin: string;
}

export interface Destination {
  where: string;
  site?: string;
  url?: string;
  apiKey?: string;
  apiKeyEnv?: string;
  compression?: 'gzip' | 'none';
  compressionLevel?: number;
}

/** a <match> read: a rule, or the reason it was dropped (then it may have taken events from later rules) */
export interface Candidate {
  where: string;
  pattern: string;
  matcher?: TagMatcher;
  rule?: Rule;
  dest?: Destination;
  dropped?: string;
}

export class MigrationContext {
  readonly notes: MigrationNote[] = [];
  readonly env: Record<string, string | undefined>;
  readonly confPath: string;
  readonly confDir: string;
  readonly writeSecretFiles: boolean;
  readonly top: Entry[] = [];
  readonly topFromHandler: Entry[] = [];
  readonly tables = new Map<string, { comment: string[]; entries: Entry[] }>();
  readonly rules: Rule[] = [];
  /** rules for the handler's tags that no rule matches, written commented out */
  readonly suggested: Rule[] = [];
  readonly filters: Array<{ table: FilterTable; origin: string }> = [];
  readonly secretFiles: SecretFile[] = [];
  relativePathSeen = false;
  tagPrefix: string | undefined;
  apiKeyFound = false;
  result: Partial<MigrateResult> = {};

  constructor(readonly input: MigrateInput) {
    this.env = input.env ?? {};
    this.confPath = input.fluentConfPath;
    this.confDir = dirname(resolve(input.fluentConfPath));
    this.writeSecretFiles = input.secretFiles ?? true;
  }

  /** `fluent.conf:12`, or an included file's path relative to fluent.conf's directory */
  where(file: string, line: number): string {
    const abs = resolve(file);
    let name = abs === resolve(this.confPath) ? basename(file) : relative(this.confDir, abs);
    if (name.startsWith('..')) name = file;
    return `${name}:${line}`;
  }

  note(level: MigrationNote['level'], file: string, line: number, message: string): void {
    this.notes.push({ level, where: this.where(file, line), message: message.replace(/\s*\n\s*/g, ' ') });
  }

  warn(file: string, line: number, message: string): void {
    this.note('warn', file, line, message);
  }

  info(file: string, line: number, message: string): void {
    this.note('info', file, line, message);
  }

  /** by file (fluent.conf, included files, the handler's toml), then line */
  sortNotes(): void {
    const main = basename(this.confPath);
    const handler = this.input.handlerTomlPath ? basename(this.input.handlerTomlPath) : undefined;
    const key = (n: MigrationNote) => {
      const i = n.where.lastIndexOf(':');
      const file = n.where.slice(0, i);
      return { rank: file === main ? 0 : file === handler ? 2 : 1, file, line: Number(n.where.slice(i + 1)) };
    };
    this.notes.sort((a, b) => {
      const x = key(a);
      const y = key(b);
      return x.rank - y.rank || (x.file < y.file ? -1 : x.file > y.file ? 1 : 0) || x.line - y.line;
    });
  }

  /** the output table of that name, made with this comment the first time it is asked for */
  table(name: string, comment: string[]): { comment: string[]; entries: Entry[] } {
    let t = this.tables.get(name);
    if (!t) {
      t = { comment, entries: [] };
      this.tables.set(name, t);
    }
    return t;
  }

  /** a note for a file the config names that is not on this host (the program may have run in a container) */
  missingFile(what: string, path: string, program: string, key: string): string | undefined {
    if (!this.input.fileExists || this.input.fileExists(path)) return undefined;
    return `${what} not found here (a path inside ${program}'s container?): copy the file and set ${key}`;
  }

  /** a param's value for a non-secret setting; notes embedded ruby; undefined when it cannot be used */
  value(p: FluentParam): string | undefined {
    for (const e of p.embedded ?? []) {
      if (!e.resolved) {
        this.warn(
          p.file,
          p.line,
          `"${p.key}" uses embedded ruby #{${e.code}} that is not evaluated (only ENV lookups are): not carried over; set it by hand`,
        );
        return undefined;
      }
      if (e.unset.length > 0) {
        this.warn(
          p.file,
          p.line,
          `"${p.key}": ${e.unset.map((n) => `ENV['${n}']`).join(', ')} is not set here, so it was read as empty; fix the value in the output if fluentd had it set`,
        );
      } else if (e.env.length > 0) {
        this.info(
          p.file,
          p.line,
          `"${p.key}": ${e.env.map((n) => `ENV['${n}']`).join(', ')} was read now: the output holds the value, not the variable`,
        );
      }
    }
    if (p.quote !== '"' && p.value.includes('#{')) {
      this.info(
        p.file,
        p.line,
        `"${p.key}": #{…} is only evaluated in double quotes, so it is taken literally (as fluentd does)`,
      );
    }
    return p.value;
  }

  /** a secret param: literal, or one ENV lookup that stays in the environment */
  secret(p: FluentParam, what: string): { value?: string; env?: string } {
    if (p.envVar) return { value: this.env[p.envVar], env: p.envVar };
    if ((p.embedded ?? []).some((e) => !e.resolved)) {
      this.warn(
        p.file,
        p.line,
        `${what} ("${p.key}") uses embedded ruby that is not evaluated (only ENV lookups are): set it by hand`,
      );
      return {};
    }
    const unset = (p.embedded ?? []).flatMap((e) => e.unset);
    if (unset.length > 0) {
      this.warn(p.file, p.line, `${what} ("${p.key}") reads ${unset.join(', ')}, not set here: set it by hand`);
      return {};
    }
    const value = p.value.trim();
    return value ? { value } : {};
  }

  /** a path param made absolute against the directory of the file it is written in */
  path(p: FluentParam): string | undefined {
    const v = this.value(p)?.trim();
    if (!v) return undefined;
    if (isAbsolute(v)) return v;
    this.relativePathSeen = true;
    return resolve(dirname(resolve(p.file)), v);
  }
}
