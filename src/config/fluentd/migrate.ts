// an existing fluentd setup for teleport (fluent.conf, and optionally teleport-event-handler.toml) turned into our
// TOML config. pure: the caller reads the files (and included ones, through readInclude) and writes the result.
//
// what maps where:
//   <source> @type http (+ <transport tls>, <parse>)   -> [ingest]
//   each <match> in order                               -> a [[match]] rule (datadog or null)
//   the first @type datadog's api_key/site/host/compression -> [datadog] (one destination; the rest noted)
//   teleport-event-handler.toml keys                    -> kept (our loader reads them), paths made absolute
// everything else becomes a note that says why it was not carried over and what to use instead.
//
// paths: relative paths are resolved against the directory of the file they came from and written absolute, so
// the output works wherever it is written (fluentd itself resolves them against its working directory, which we
// cannot know). the only relative paths in the output are ours: storage and the secret files beside the toml.
// secrets (the api key, the tls key passphrase) never go into the toml: they are returned for the caller to
// write into 0600 files beside it (the toml names those files), or to use in memory.
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { ConfigError, FluentConfigError } from '../../errors.js';
import { compilePattern, type TagMatcher } from '../../router/pattern.js';
import { isSite, parseIntakeUrl } from '../../sinks/datadog/site.js';
import { handlerTags, uncoveredTags } from './handler-tags.js';
import { SETTINGS, obsoleteKey, type Setting } from '../schema.js';
import { tomlErrorMessage } from '../values.js';
import { flatten } from '../flatten.js';
import { parseFluentConf } from './parser.js';
import { getParam, sectionType, type FluentParam, type FluentSection, type IncludeReader } from './tree.js';
import { fluentBool, fluentInt, fluentSize } from './values.js';
import { carryFilter, type FilterTable } from './filter.js';

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

/** fluentd in_http's default port (ours is 8888, the port teleport-event-handler's templates use) */
const FLUENTD_HTTP_PORT = 9880;
const MIN_BODY_LIMIT = 1024;
const DRY_RUN_HINT = 'to see what would be shipped, run `start --dry-run`';

type TomlValue = string | number | boolean | string[] | Date;

interface Entry {
  key: string;
  value: TomlValue;
}

interface Rule {
  pattern: string;
  type: 'datadog' | 'null';
  fields: Entry[];
  /** the comment above the rule */
  origin: string;
}

interface Destination {
  where: string;
  site?: string;
  url?: string;
  apiKey?: string;
  apiKeyEnv?: string;
  compression?: 'gzip' | 'none';
  compressionLevel?: number;
}

/** a <match> read: a rule, or the reason it was dropped (then it may have taken events from later rules) */
interface Candidate {
  where: string;
  pattern: string;
  matcher?: TagMatcher;
  rule?: Rule;
  dest?: Destination;
  dropped?: string;
}

const BY_KEY = new Map<string, Setting>();
for (const s of SETTINGS) {
  BY_KEY.set(s.key, s);
  for (const a of [...(s.aliases ?? []), ...(s.tomlAliases ?? [])]) if (!BY_KEY.has(a)) BY_KEY.set(a, s);
}

export function migrateFluentd(input: MigrateInput): MigrateResult {
  return new Migration(input).run();
}

class Migration {
  private readonly notes: MigrationNote[] = [];
  private readonly env: Record<string, string | undefined>;
  private readonly confPath: string;
  private readonly confDir: string;
  private readonly writeSecretFiles: boolean;
  private readonly top: Entry[] = [];
  private readonly topFromHandler: Entry[] = [];
  private readonly tables = new Map<string, { comment: string[]; entries: Entry[] }>();
  private readonly rules: Rule[] = [];
  /** rules for the handler's tags that no rule matches, written commented out */
  private readonly suggested: Rule[] = [];
  private readonly filters: Array<{ table: FilterTable; origin: string }> = [];
  private readonly secretFiles: SecretFile[] = [];
  private relativePathSeen = false;
  private tagPrefix: string | undefined;
  private apiKeyFound = false;
  private result: Partial<MigrateResult> = {};

  constructor(private readonly input: MigrateInput) {
    this.env = input.env ?? {};
    this.confPath = input.fluentConfPath;
    this.confDir = dirname(resolve(input.fluentConfPath));
    this.writeSecretFiles = input.secretFiles ?? true;
  }

  run(): MigrateResult {
    const { root, diagnostics } = parseFluentConf(this.input.fluentConf, {
      file: this.confPath,
      env: this.env,
      include: this.input.readInclude,
    });
    for (const d of diagnostics)
      this.notes.push({ level: d.level, where: this.where(d.file, d.line), message: d.message });

    this.top.push({ key: 'storage', value: './storage' });
    const ingestOk = this.sources(root);
    this.routing(root);
    const pollerOk = this.handler();
    this.coverage();
    if (this.relativePathSeen) {
      this.info(
        this.confPath,
        1,
        'relative paths were resolved against the directory of the file they appear in and written absolute (fluentd resolves them against its working directory: check them)',
      );
    }
    const usable = ingestOk || pollerOk;
    if (!usable) {
      this.warn(
        this.confPath,
        1,
        'nothing to forward: no <source> @type http with <transport tls> ca_path, cert_path and private_key_path, and no teleport-event-handler.toml with Teleport credentials',
      );
    }
    this.sortNotes();
    return {
      toml: this.emit(),
      notes: this.notes,
      secretFiles: this.secretFiles,
      usable,
      ...this.result,
    };
  }

  // notes

  private where(file: string, line: number): string {
    const abs = resolve(file);
    let name = abs === resolve(this.confPath) ? basename(file) : relative(this.confDir, abs);
    if (name.startsWith('..')) name = file;
    return `${name}:${line}`;
  }

  private note(level: MigrationNote['level'], file: string, line: number, message: string): void {
    this.notes.push({ level, where: this.where(file, line), message: message.replace(/\s*\n\s*/g, ' ') });
  }

  private warn(file: string, line: number, message: string): void {
    this.note('warn', file, line, message);
  }

  private info(file: string, line: number, message: string): void {
    this.note('info', file, line, message);
  }

  /** by file (fluent.conf, included files, the handler's toml), then line */
  private sortNotes(): void {
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

  private table(name: string, comment: string[]): { comment: string[]; entries: Entry[] } {
    let t = this.tables.get(name);
    if (!t) {
      t = { comment, entries: [] };
      this.tables.set(name, t);
    }
    return t;
  }

  /** a note for a file the config names that is not on this host (the program may have run in a container) */
  private missingFile(what: string, path: string, program: string, key: string): string | undefined {
    if (!this.input.fileExists || this.input.fileExists(path)) return undefined;
    return `${what} not found here (a path inside ${program}'s container?): copy the file and set ${key}`;
  }

  /** a param's value for a non-secret setting; notes embedded ruby; undefined when it cannot be used */
  private value(p: FluentParam): string | undefined {
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
  private secret(p: FluentParam, what: string): { value?: string; env?: string } {
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

  private path(p: FluentParam): string | undefined {
    const v = this.value(p)?.trim();
    if (!v) return undefined;
    if (isAbsolute(v)) return v;
    this.relativePathSeen = true;
    return resolve(dirname(resolve(p.file)), v);
  }

  // <source>

  /** returns true when a complete ingest came out */
  private sources(root: FluentSection): boolean {
    let http: FluentSection | undefined;
    for (const s of root.sections.filter((x) => x.name === 'source')) {
      const type = sectionType(s);
      if (type === 'http' && !http) {
        http = s;
      } else if (type === 'http') {
        this.warn(
          s.file,
          s.line,
          `a second <source> @type http is not carried over: the forwarder has one ingest (the one at ${this.where(http!.file, http!.line)})`,
        );
      } else {
        this.warn(
          s.file,
          s.line,
          `<source> @type ${type ?? '(none)'} is not carried over: the forwarder's sources are the Fluentd-compatible HTTPS ingest (in_http) and the built-in Teleport poller`,
        );
      }
    }
    if (!http) {
      this.warn(this.confPath, 1, 'no <source> @type http: the ingest is not configured');
      return false;
    }
    return this.ingest(http);
  }

  private ingest(src: FluentSection): boolean {
    const entries: Entry[] = [];
    const t = this.table('ingest', [
      `the Fluentd-compatible HTTPS endpoint teleport-event-handler posts to, from <source> @type http (${this.where(src.file, src.line)})`,
    ]);
    let port = FLUENTD_HTTP_PORT;
    let portSet = false;
    for (const p of src.params) {
      const v = (): string | undefined => this.value(p);
      switch (p.key) {
        case '@type':
        case 'type':
          break;
        case 'port': {
          const n = fluentInt(v() ?? '');
          if (n === undefined || n < 0 || n > 65535)
            this.warn(p.file, p.line, `"port" is not a port number: using fluentd's default ${FLUENTD_HTTP_PORT}`);
          else {
            port = n;
            portSet = true;
          }
          break;
        }
        case 'bind': {
          const host = v()?.trim();
          if (host) entries.push({ key: 'host', value: host });
          break;
        }
        case 'body_size_limit': {
          let n = fluentSize(v() ?? '');
          if (n === undefined) {
            this.warn(p.file, p.line, '"body_size_limit" is not a size: using the default (32 MiB)');
            break;
          }
          if (n < MIN_BODY_LIMIT) {
            this.warn(
              p.file,
              p.line,
              `"body_size_limit" is below ${MIN_BODY_LIMIT} bytes, the smallest the forwarder accepts: using ${MIN_BODY_LIMIT}`,
            );
            n = MIN_BODY_LIMIT;
          }
          entries.push({ key: 'body-limit', value: n });
          break;
        }
        case '@label':
          // routing() follows it
          break;
        case 'add_tag_prefix':
          this.tagPrefix = v()?.trim() || undefined;
          if (this.tagPrefix)
            this.warn(
              p.file,
              p.line,
              `"add_tag_prefix ${this.tagPrefix}" is not supported: tags are the url path as sent; match patterns starting with "${this.tagPrefix}." were rewritten without it`,
            );
          break;
        case 'add_http_headers':
        case 'add_remote_addr':
        case 'add_query_params': {
          const on = fluentBool(p.value);
          const what = {
            add_http_headers: 'HTTP_* header',
            add_remote_addr: 'REMOTE_ADDR',
            add_query_params: 'QUERY_* parameter',
          }[p.key];
          if (on === false) this.info(p.file, p.line, `"${p.key} false" is the default: nothing to carry over`);
          else this.warn(p.file, p.line, `"${p.key}" is not supported: records will not get ${what} fields`);
          break;
        }
        case 'use_204_response':
          this.info(
            p.file,
            p.line,
            `"use_204_response" is not carried over: the ingest answers 200 (teleport-event-handler counts only 200 as success)`,
          );
          break;
        case 'keepalive_timeout':
          this.info(
            p.file,
            p.line,
            '"keepalive_timeout" is not carried over: the ingest keeps connections alive with its own idle timeout',
          );
          break;
        case 'cors_allow_origins':
        case 'cors_allow_credentials':
        case 'respond_with_empty_img':
          this.info(
            p.file,
            p.line,
            `"${p.key}" is not carried over: the ingest serves teleport-event-handler, not browsers`,
          );
          break;
        case 'format':
          this.warn(
            p.file,
            p.line,
            '"format" (the old way to set a parser) is not carried over: the ingest decodes JSON, NDJSON, msgpack and forms by Content-Type',
          );
          break;
        case '@id':
        case '@log_level':
          this.info(p.file, p.line, `"${p.key}" is not carried over: not needed`);
          break;
        default:
          this.warn(p.file, p.line, `"${p.key}" is not a setting of in_http the forwarder knows: not carried over`);
      }
    }
    if (!portSet)
      this.info(
        src.file,
        src.line,
        `no "port": fluentd's in_http default ${FLUENTD_HTTP_PORT} is written out (the forwarder's own default is 8888)`,
      );
    entries.unshift({ key: 'port', value: port });

    let tls: FluentSection | undefined;
    for (const s of src.sections) {
      if (s.name === 'transport') {
        if (s.arg.trim() === 'tls') tls = s;
        else this.info(s.file, s.line, `<transport ${s.arg}> is plain tcp: the ingest always uses mutual TLS`);
      } else if (s.name === 'parse') {
        this.parseSection(s);
      } else if (s.name === 'buffer') {
        this.info(
          s.file,
          s.line,
          '<buffer> is not carried over: records are written to the durable spool (LevelDB) before the ingest answers 200; spool.max-bytes bounds it and a full spool answers 503 + Retry-After',
        );
      } else {
        this.warn(s.file, s.line, `<${s.name}> in <source> is not carried over`);
      }
    }

    const files: { ca?: string; cert?: string; key?: string } = {};
    if (tls) this.transport(tls, files, entries);
    else
      this.warn(
        src.file,
        src.line,
        "this in_http has no <transport tls>: the forwarder's ingest always uses mutual TLS; give it ingest.ca, ingest.cert and ingest.key (the files `teleport-event-handler configure` writes) and use https:// in the handler's fluentd url",
      );
    const missing = (['ca', 'cert', 'key'] as const).filter((k) => !files[k]);
    if (missing.length > 0) {
      if (tls)
        this.warn(
          tls.file,
          tls.line,
          `<transport tls> lacks ${missing.map((k) => ({ ca: 'ca_path', cert: 'cert_path', key: 'private_key_path' })[k]).join(', ')}: the ingest is written disabled; set ${missing.map((k) => 'ingest.' + k).join(', ')} and enabled = true`,
        );
      entries.unshift({ key: 'enabled', value: false });
    }
    t.entries.push(...entries);
    return missing.length === 0;
  }

  private transport(tls: FluentSection, files: { ca?: string; cert?: string; key?: string }, entries: Entry[]): void {
    let clientAuth = false;
    for (const p of tls.params) {
      switch (p.key) {
        case 'ca_path':
        case 'cert_path':
        case 'private_key_path': {
          const k = ({ ca_path: 'ca', cert_path: 'cert', private_key_path: 'key' } as const)[p.key];
          const file = this.path(p);
          if (file) {
            files[k] = file;
            entries.push({ key: k, value: file });
            const missing = this.missingFile(`${p.key} ${file}`, file, 'Fluentd', `ingest.${k}`);
            if (missing) this.warn(p.file, p.line, missing);
          }
          break;
        }
        case 'private_key_passphrase': {
          const s = this.secret(p, 'the tls key passphrase');
          if (s.env) {
            this.result.keyPassphraseEnv = s.env;
            this.warn(
              p.file,
              p.line,
              `the tls key passphrase came from the environment variable ${s.env}: the forwarder reads it from TDF_INGEST_KEY_PASSPHRASE (set that to the same value)`,
            );
          }
          if (s.value !== undefined) {
            this.result.keyPassphrase = s.value;
            if (!s.env && this.writeSecretFiles) {
              this.secretFiles.push({ name: PASSPHRASE_FILE, value: s.value, what: 'the passphrase of ingest.key' });
              entries.push({ key: 'key-passphrase-file', value: PASSPHRASE_FILE });
            }
          }
          break;
        }
        case 'client_cert_auth': {
          clientAuth = fluentBool(p.value) === true;
          if (!clientAuth)
            this.warn(
              p.file,
              p.line,
              '"client_cert_auth" is not true here, but the ingest always requires client certificates signed by ingest.ca: clients without one will be refused',
            );
          break;
        }
        case 'version':
        case 'min_version':
        case 'max_version':
        case 'ciphers':
        case 'insecure':
          this.info(
            p.file,
            p.line,
            `"${p.key}" is not carried over: the ingest uses Node's TLS defaults (TLS 1.2 and 1.3, secure ciphers)`,
          );
          break;
        case 'cert_verifier':
          this.warn(
            p.file,
            p.line,
            '"cert_verifier" (a ruby client certificate check) is not carried over: clients are checked against ingest.ca only',
          );
          break;
        default:
          this.warn(
            p.file,
            p.line,
            `"${p.key}" in <transport tls> is not carried over (certificate generation and the Windows certificate store are not supported)`,
          );
      }
    }
    if (!tls.params.some((p) => p.key === 'client_cert_auth')) {
      this.warn(
        tls.file,
        tls.line,
        'no "client_cert_auth true": fluentd did not ask for client certificates, but the ingest always requires them (signed by ingest.ca)',
      );
    }
    for (const s of tls.sections) this.warn(s.file, s.line, `<${s.name}> in <transport> is not carried over`);
  }

  private parseSection(s: FluentSection): void {
    const type = sectionType(s);
    if (type !== 'json') {
      this.warn(
        s.file,
        s.line,
        `<parse> @type ${type ?? '(none)'} is not carried over: the ingest decodes JSON, NDJSON, msgpack and forms by Content-Type (teleport-event-handler sends JSON)`,
      );
    }
    for (const p of s.params) {
      switch (p.key) {
        case '@type':
        case 'type':
          break;
        case 'time_type':
        case 'time_format':
          this.info(
            p.file,
            p.line,
            `"${p.key}" is not needed: the ingest reads the record's "time" as RFC 3339 (Teleport's format) or epoch seconds`,
          );
          break;
        case 'time_key':
          if (p.value.trim() !== 'time')
            this.warn(
              p.file,
              p.line,
              `"time_key ${p.value.trim()}" is not supported: the event time is read from "time"`,
            );
          else this.info(p.file, p.line, '"time_key time" is the default');
          break;
        case 'keep_time_key':
          this.info(
            p.file,
            p.line,
            '"keep_time_key" is not needed: the ingest keeps "time" in the record (Datadog pipelines for Teleport remap it)',
          );
          break;
        case 'json_parser':
          this.info(p.file, p.line, '"json_parser" is not needed');
          break;
        default:
          this.warn(p.file, p.line, `"${p.key}" in <parse> is not carried over`);
      }
    }
  }

  // <match>, <filter>, <label>

  private routing(root: FluentSection): void {
    const http = root.sections.find((s) => s.name === 'source' && sectionType(s) === 'http');
    const label = http ? getParam(http, '@label')?.value.trim() : undefined;
    let routed: FluentSection | undefined = root;
    if (label) {
      routed = root.sections.find((s) => s.name === 'label' && s.arg === label);
      if (!routed) this.warn(http!.file, http!.line, `"@label ${label}" names no <label ${label}>: no match rules`);
    }
    const candidates: Candidate[] = [];
    const walk = (container: FluentSection) => {
      for (const s of container.sections) {
        if (s.name === 'match') candidates.push(this.match(s));
        else if (s.name === 'filter') this.filter(s, candidates);
        else if (container !== root) this.warn(s.file, s.line, `<${s.name}> in <label> is not carried over`);
      }
    };
    for (const s of root.sections) {
      if (s.name === 'source') continue;
      if (s.name === 'match' || s.name === 'filter') {
        if (routed === root) continue;
        this.info(
          s.file,
          s.line,
          `<${s.name} ${s.arg || '**'}> is not carried over: the http source sends its events to <label ${label}>, so they never reach it`,
        );
      } else if (s.name === 'label') {
        if (s === routed) walk(s);
        else if (s.arg === '@FLUENT_LOG')
          this.info(
            s.file,
            s.line,
            "<label @FLUENT_LOG> (fluentd's own logs) is not carried over: the forwarder logs JSON lines on stdout",
          );
        else if (s.arg === '@ERROR')
          this.info(
            s.file,
            s.line,
            '<label @ERROR> is not carried over: the forwarder never drops a record on an error; it retries, holds, or dead-letters it',
          );
        else this.info(s.file, s.line, `<label ${s.arg}> is not carried over: the http source does not route to it`);
      } else if (s.name === 'system') {
        this.info(s.file, s.line, '<system> (fluentd process settings) is not carried over');
      } else {
        this.warn(s.file, s.line, `<${s.name}${s.arg ? ' ' + s.arg : ''}> is not carried over`);
      }
    }
    for (const p of root.params) this.warn(p.file, p.line, `"${p.key}" outside any section is not carried over`);
    if (routed === root) walk(root);
    this.rulesFrom(candidates);
  }

  private rulesFrom(candidates: Candidate[]): void {
    // a dropped <match> took its events in fluentd (the first match wins): a later rule that now gets them changes behaviour
    candidates.forEach((c, i) => {
      if (!c.rule || c.rule.type !== 'datadog') return;
      for (const d of candidates.slice(0, i)) {
        if (d.dropped && d.matcher && overlaps(d, c)) {
          this.notes.push({
            level: 'warn',
            where: c.where,
            message: `in fluentd, <match ${d.pattern}> (${d.where}, ${d.dropped}) came first and took some of these events; that rule is not carried over, so they now reach this rule and are shipped`,
          });
        }
      }
    });
    const first = candidates.find((c) => c.dest);
    for (const c of candidates) {
      if (!c.rule) continue;
      this.rules.push(c.rule);
      if (c.dest && c !== first) {
        const diff = destinationDiff(first!.dest!, c.dest);
        if (diff.length > 0) {
          this.notes.push({
            level: 'warn',
            where: c.where,
            message: `its ${diff.join(', ')} differ from the first Datadog output (${first!.dest!.where}): one Datadog destination is supported, so these logs go there too`,
          });
        }
      }
    }
    if (first) this.destination(first.dest!);
    if (!this.rules.some((r) => r.type === 'datadog')) {
      this.notes.push({
        level: 'warn',
        where: `${basename(this.confPath)}:1`,
        message:
          'no <match> sends to Datadog: a catch-all rule (every tag to Datadog, source "teleport") was written; edit it',
      });
      this.rules.push({
        pattern: '**',
        type: 'datadog',
        fields: [
          { key: 'source', value: 'teleport' },
          { key: 'service', value: 'teleport' },
        ],
        origin: 'no <match> of fluent.conf sent to Datadog: every tag goes there (edit this rule)',
      });
    }
    if (!this.apiKeyFound) {
      this.notes.push({
        level: 'warn',
        where: `${basename(this.confPath)}:1`,
        message:
          'no Datadog api_key was carried over: set the DD_API_KEY environment variable (or datadog.api-key-file) before starting',
      });
    }
  }

  // in_http's add_tag_prefix: our ingest gives the tag without it
  private unprefixed(arg: string): string {
    let pattern = arg.trim() || '**';
    if (this.tagPrefix) {
      const prefix = this.tagPrefix + '.';
      pattern = pattern
        .split(/\s+/)
        .map((p) => (p.startsWith(prefix) ? p.slice(prefix.length) || '**' : p))
        .join(' ');
    }
    return pattern;
  }

  // a <filter> runs on the tags it matches before the <match> that takes them; after a <match> that took some of
  // its tags, fluentd never runs it on those (without a warning): the forwarder runs every filter before any rule
  private filter(s: FluentSection, earlier: Candidate[]): void {
    const pattern = this.unprefixed(s.arg);
    const where = this.where(s.file, s.line);
    let matcher: TagMatcher | undefined;
    try {
      matcher = compilePattern(pattern);
    } catch (err) {
      throw new FluentConfigError(s.file, s.line, `<filter ${s.arg}>: ${(err as Error).message}`);
    }
    const self: Candidate = { where, pattern, matcher };
    // every earlier <match> took its tags before this filter: skipping them is exact where they do not overlap too
    const before = earlier.filter((m) => m.matcher);
    const unless = before.length > 0 ? before.map((m) => m.pattern).join(' ') : undefined;
    const carried = carryFilter(s, pattern, unless);
    for (const n of carried.notes) this.note(n.level, n.file, n.line, n.message);
    if (!carried.table) return;
    for (const m of before.filter((x) => overlaps(x, self) || overlaps(self, x)))
      this.info(
        s.file,
        s.line,
        `<filter ${s.arg || '**'}> comes after <match ${m.pattern}> (${m.where}): fluentd never runs it on the records that <match> takes, so it skips those tags (unless-pattern)`,
      );
    this.filters.push({ table: carried.table, origin: `<filter ${s.arg || '**'}> @type ${sectionType(s)} (${where})` });
  }

  private match(s: FluentSection): Candidate {
    const where = this.where(s.file, s.line);
    const pattern = this.unprefixed(s.arg);
    const c: Candidate = { where, pattern };
    try {
      c.matcher = compilePattern(pattern);
    } catch (err) {
      this.warn(s.file, s.line, `<match ${pattern}> is not carried over: ${(err as Error).message}`);
      c.dropped = 'an invalid pattern';
      return c;
    }
    const type = sectionType(s);
    const label = `<match ${s.arg || '**'}> @type ${type ?? '(none)'}`;
    switch (type) {
      case 'datadog': {
        const r = this.datadog(s);
        c.rule = { pattern, type: 'datadog', fields: r.fields, origin: `${label} (${where})` };
        c.dest = r.dest;
        break;
      }
      case 'null':
        c.rule = { pattern, type: 'null', fields: [], origin: `${label} (${where}): dropped on purpose` };
        this.otherParams(s, 'null');
        break;
      case 'copy':
        this.copy(s, c, label);
        break;
      case 'stdout':
        this.warn(
          s.file,
          s.line,
          `${label} is not carried over: stdout is for debugging; ${DRY_RUN_HINT}. With no rule, these tags are dropped (with a warning) unless a later rule matches them`,
        );
        c.dropped = 'stdout';
        break;
      case undefined:
        this.warn(s.file, s.line, `<match ${s.arg || '**'}> has no @type: not carried over`);
        c.dropped = 'no @type';
        break;
      default:
        this.warn(s.file, s.line, `${label} is not carried over: the forwarder ships to Datadog only`);
        c.dropped = `@type ${type}`;
    }
    return c;
  }

  private copy(s: FluentSection, c: Candidate, label: string): void {
    const stores = s.sections.filter((x) => x.name === 'store');
    for (const x of s.sections)
      if (x.name !== 'store') this.warn(x.file, x.line, `<${x.name}> in @type copy is not carried over`);
    for (const p of s.params) {
      if (p.key === '@type' || p.key === 'type') continue;
      this.info(p.file, p.line, `"${p.key}" of @type copy is not carried over: not needed`);
    }
    let chosen: { rule: Entry[]; dest: Destination; where: string } | undefined;
    for (const st of stores) {
      const type = sectionType(st);
      const stWhere = this.where(st.file, st.line);
      if (type === 'datadog') {
        const r = this.datadog(st);
        if (!chosen) {
          chosen = { rule: r.fields, dest: r.dest, where: stWhere };
          continue;
        }
        const diff = [...destinationDiff(chosen.dest, r.dest), ...fieldsDiff(chosen.rule, r.fields)];
        if (diff.length > 0)
          this.warn(
            st.file,
            st.line,
            `a second datadog <store> is not carried over (its ${diff.join(', ')} differ from the first at ${chosen.where}): one Datadog output per rule`,
          );
        else
          this.info(
            st.file,
            st.line,
            'a second datadog <store> like the first: not carried over (it would send every log twice)',
          );
      } else if (type === 'null') {
        this.info(st.file, st.line, '<store> @type null: nothing to carry over');
      } else if (type === 'stdout') {
        this.warn(
          st.file,
          st.line,
          `<store> @type stdout is not carried over: stdout is for debugging; ${DRY_RUN_HINT}`,
        );
      } else {
        this.warn(
          st.file,
          st.line,
          `<store> @type ${type ?? '(none)'} is not carried over: the forwarder ships to Datadog only`,
        );
      }
    }
    if (chosen) {
      c.rule = {
        pattern: c.pattern,
        type: 'datadog',
        fields: chosen.rule,
        origin: `${label}, its datadog <store> (${chosen.where})`,
      };
      c.dest = chosen.dest;
    } else if (stores.length > 0 && stores.every((st) => sectionType(st) === 'null')) {
      c.rule = {
        pattern: c.pattern,
        type: 'null',
        fields: [],
        origin: `${label} (${c.where}): only null stores, dropped on purpose`,
      };
    } else {
      c.dropped = '@type copy without a datadog store';
    }
  }

  private otherParams(s: FluentSection, type: string): void {
    for (const p of s.params) {
      if (p.key === '@type' || p.key === 'type') continue;
      this.info(p.file, p.line, `"${p.key}" of @type ${type} is not carried over: not needed`);
    }
    for (const x of s.sections)
      this.info(x.file, x.line, `<${x.name}> of @type ${type} is not carried over: not needed`);
  }

  /** one fluent-plugin-datadog output: the rule's fields and its destination */
  private datadog(s: FluentSection): { fields: Entry[]; dest: Destination } {
    const fields: Entry[] = [];
    const dest: Destination = { where: this.where(s.file, s.line) };
    const p = (k: string) => getParam(s, k);
    const useSsl = p('use_ssl') ? fluentBool(p('use_ssl')!.value) !== false : true;
    // an explicit host wins over site, as in fluent-plugin-datadog
    const hostParam = p('host');
    const hostValue = hostParam?.value.trim().toLowerCase() ?? '';
    const intakeHost = /^(?:http-)?intake\.logs\.(.+)$/.exec(hostValue);
    const customHost = hostValue !== '' && !(intakeHost && isSite(intakeHost[1]!));
    for (const q of s.params) {
      const v = (): string | undefined => this.value(q);
      switch (q.key) {
        case '@type':
        case 'type':
          break;
        case 'api_key': {
          const sec = this.secret(q, 'the Datadog API key');
          dest.apiKey = sec.value;
          dest.apiKeyEnv = sec.env;
          if (sec.env === 'DD_API_KEY')
            this.info(
              q.file,
              q.line,
              'api_key is read from the environment variable DD_API_KEY, which the forwarder reads too: keep it set',
            );
          else if (sec.env)
            this.warn(
              q.file,
              q.line,
              `api_key came from the environment variable ${sec.env}: the forwarder reads DD_API_KEY, so set DD_API_KEY to the same value`,
            );
          else if (sec.value === undefined)
            this.warn(q.file, q.line, 'api_key is empty: set DD_API_KEY (or datadog.api-key-file)');
          break;
        }
        case 'site': {
          const site = v()?.trim().toLowerCase();
          if (!site) break;
          if (hostParam) {
            this.info(
              q.file,
              q.line,
              '"site" is not carried over: "host" is set and wins, as in fluent-plugin-datadog',
            );
            break;
          }
          if (isSite(site)) dest.site = site;
          else {
            this.warn(
              q.file,
              q.line,
              `"site ${site}" is not a Datadog site the forwarder knows: written as datadog.url https://http-intake.logs.${site}`,
            );
            dest.url = `https://http-intake.logs.${site}`;
          }
          break;
        }
        case 'host': {
          const host = v()?.trim().toLowerCase();
          if (!host) break;
          const http = /^http-intake\.logs\.(.+)$/.exec(host);
          const tcp = /^intake\.logs\.(.+)$/.exec(host);
          if (http && isSite(http[1]!)) {
            dest.site = http[1];
            dest.url = undefined;
          } else if (tcp && isSite(tcp[1]!)) {
            dest.site = tcp[1];
            dest.url = undefined;
            this.info(q.file, q.line, `"host ${host}" is the TCP intake: logs go to the HTTP intake of ${tcp[1]}`);
          } else {
            const portParam = useSsl ? p('ssl_port') : p('port');
            const port = portParam ? fluentInt(portParam.value) : undefined;
            const defPort = useSsl ? 443 : 80;
            const url = `${useSsl ? 'https' : 'http'}://${host}${port !== undefined && port !== defPort ? ':' + port : ''}`;
            try {
              dest.url = parseIntakeUrl(url);
              dest.site = undefined;
              this.warn(
                q.file,
                q.line,
                `"host ${host}" is not a Datadog intake: written as datadog.url ${dest.url} (a proxy?); logs are POSTed to ${dest.url}/api/v2/logs`,
              );
            } catch (err) {
              this.warn(q.file, q.line, `"host" is not carried over: ${(err as Error).message}`);
            }
          }
          break;
        }
        case 'port':
        case 'ssl_port':
          if (!customHost)
            this.info(q.file, q.line, `"${q.key}" is not needed: the intake is reached on 443 over HTTPS`);
          break;
        case 'use_ssl':
          if (fluentBool(q.value) === false && !customHost)
            this.warn(
              q.file,
              q.line,
              '"use_ssl false" is not carried over: the forwarder always uses HTTPS to Datadog',
            );
          break;
        case 'use_http':
          if (fluentBool(q.value) === false)
            this.warn(q.file, q.line, '"use_http false" (the TCP intake) is not supported: logs go to the HTTP intake');
          else this.info(q.file, q.line, '"use_http" is not needed: the forwarder always uses the HTTP intake');
          break;
        case 'use_json':
          if (fluentBool(q.value) === false)
            this.warn(q.file, q.line, '"use_json false" is not supported: logs are sent as JSON');
          else this.info(q.file, q.line, '"use_json" is not needed: logs are sent as JSON');
          break;
        case 'dd_source':
        case 'dd_sourcecategory':
        case 'service':
        case 'tag_key':
        case 'timestamp_key': {
          const val = v();
          const key = {
            dd_source: 'source',
            dd_sourcecategory: 'source-category',
            service: 'service',
            tag_key: 'tag-key',
            timestamp_key: 'timestamp-key',
          }[q.key]!;
          if (val !== undefined) fields.push({ key, value: val });
          break;
        }
        case 'dd_hostname': {
          if (
            (q.embedded ?? []).length === 1 &&
            /^\s*Socket\.gethostname\s*$/.test(q.embedded![0]!.code) &&
            q.value === `#{${q.embedded![0]!.code}}`
          ) {
            this.info(
              q.file,
              q.line,
              '"dd_hostname #{Socket.gethostname}" is the default: the forwarder uses the machine\'s host name',
            );
            break;
          }
          const val = v();
          if (val !== undefined) fields.push({ key: 'hostname', value: val });
          break;
        }
        case 'dd_tags': {
          const val = v();
          if (val !== undefined)
            fields.push({
              key: 'tags',
              value: val
                .split(',')
                .map((x) => x.trim())
                .filter(Boolean),
            });
          break;
        }
        case 'include_tag_key': {
          const b = fluentBool(q.value);
          if (b === undefined) this.warn(q.file, q.line, '"include_tag_key" is not true or false: not carried over');
          else fields.push({ key: 'include-tag-key', value: b });
          break;
        }
        case 'use_compression': {
          const b = fluentBool(q.value);
          if (b === undefined) this.warn(q.file, q.line, '"use_compression" is not true or false: not carried over');
          else dest.compression = b ? 'gzip' : 'none';
          break;
        }
        case 'compression_level': {
          const n = fluentInt(q.value);
          if (n === undefined || n < 0 || n > 9)
            this.warn(q.file, q.line, '"compression_level" is not 0 to 9: not carried over');
          else if (n === 0) {
            this.info(q.file, q.line, '"compression_level 0" is written as 1, the lowest level the forwarder accepts');
            dest.compressionLevel = 1;
          } else dest.compressionLevel = n;
          break;
        }
        case 'max_retries':
        case 'max_backoff':
          this.info(
            q.file,
            q.line,
            `"${q.key}" is not carried over: the forwarder retries 408, 429, 5xx and network errors with capped, jittered backoff for as long as it takes (records wait in the spool), holds on 401/403 and never drops a batch silently`,
          );
          break;
        case 'http_proxy':
          this.warn(
            q.file,
            q.line,
            '"http_proxy" is not supported (no forward proxy): if it is a reverse proxy to the intake, set datadog.url to it; for a TLS-intercepting proxy also set datadog.ca-file',
          );
          break;
        case 'no_ssl_validation':
          if (fluentBool(q.value) === true)
            this.warn(
              q.file,
              q.line,
              '"no_ssl_validation true" is not carried over: TLS verification stays on; to trust a proxy\'s own CA, set datadog.ca-file',
            );
          else this.info(q.file, q.line, '"no_ssl_validation false" is the default: verification stays on');
          break;
        case 'custom_headers':
          this.warn(
            q.file,
            q.line,
            '"custom_headers" is not supported: requests carry DD-API-KEY, Content-Type and Content-Encoding',
          );
          break;
        case 'force_v1_routes':
          this.info(q.file, q.line, '"force_v1_routes" is not carried over: the forwarder uses the v2 logs API');
          break;
        case 'tcp_ping_rate':
        case 'format_type':
        case '@id':
        case '@log_level':
          this.info(q.file, q.line, `"${q.key}" is not carried over: not needed`);
          break;
        default:
          this.warn(
            q.file,
            q.line,
            `"${q.key}" is not a fluent-plugin-datadog setting the forwarder knows: not carried over`,
          );
      }
    }
    for (const x of s.sections) {
      if (x.name === 'buffer') {
        const keys = x.params.map((q) => q.key).filter((k) => k !== '@type');
        this.info(
          x.file,
          x.line,
          `<buffer>${keys.length ? ' (' + keys.join(', ') + ')' : ''} is not carried over: the forwarder keeps records in its durable spool (LevelDB, synced before acknowledging) until Datadog answers 202; spool.max-bytes bounds it and a full spool pushes back instead of dropping`,
        );
      } else {
        this.warn(x.file, x.line, `<${x.name}> in @type datadog is not carried over`);
      }
    }
    return { fields, dest };
  }

  private destination(d: Destination): void {
    const t = this.table('datadog', [`where logs go, from the first @type datadog output (${d.where})`]);
    if (d.url) t.entries.push({ key: 'url', value: d.url });
    else t.entries.push({ key: 'site', value: d.site ?? 'datadoghq.com' });
    if (d.apiKey !== undefined || d.apiKeyEnv) this.apiKeyFound = true;
    if (d.apiKey !== undefined) {
      this.result.apiKey = d.apiKey;
      if (!d.apiKeyEnv && this.writeSecretFiles) {
        this.secretFiles.push({ name: API_KEY_FILE, value: d.apiKey, what: 'the Datadog API key' });
        t.entries.push({ key: 'api-key-file', value: API_KEY_FILE });
      }
    }
    if (d.apiKeyEnv) this.result.apiKeyEnv = d.apiKeyEnv;
    t.entries.push({ key: 'compression', value: d.compression ?? 'gzip' });
    if (d.compressionLevel !== undefined) t.entries.push({ key: 'compression-level', value: d.compressionLevel });
  }

  // teleport-event-handler.toml

  /** returns true when it configures the poller (identity, or ca/cert/key) */
  private handler(): boolean {
    const text = this.input.handlerToml;
    if (text === undefined) return false;
    const file = this.input.handlerTomlPath ?? 'teleport-event-handler.toml';
    const dir = dirname(resolve(file));
    let doc: Record<string, unknown>;
    try {
      doc = parseToml(text) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(tomlErrorMessage(file, text, err), { cause: err });
    }
    const lineOf = (key: string): number => {
      const last = key.split('.').pop()!;
      const lines = text.split('\n');
      const i = lines.findIndex((l) =>
        new RegExp(`^\\s*(?:[\\w.-]+\\.)?${last.replace(/[-.]/g, '\\$&')}\\s*=`).test(l),
      );
      return i >= 0 ? i + 1 : 1;
    };
    const noteAt = (level: MigrationNote['level'], key: string, message: string) =>
      this.notes.push({ level, where: `${basename(file)}:${lineOf(key)}`, message });
    const set = new Set<string>();
    for (const [key, value] of flatten(doc)) {
      const s = BY_KEY.get(key);
      const obsolete = s ? undefined : obsoleteKey(key);
      if (obsolete) {
        noteAt('warn', key, `"${key}" is an obsolete teleport-event-handler key: not carried over (${obsolete})`);
        continue;
      }
      if (!s) {
        noteAt('warn', key, `"${key}" is not a teleport-event-handler setting the forwarder knows: not carried over`);
        continue;
      }
      if (s.key === 'storage') {
        noteAt(
          'info',
          key,
          'its "storage" is not carried over: the handler keeps its cursors there in its own format, which the forwarder does not read; the forwarder uses its own directory (storage, beside this file)',
        );
        continue;
      }
      if (
        s.key.startsWith('ingest.') ||
        s.key.startsWith('datadog.') ||
        this.tables.get(tableOf(s.key))?.entries.some((e) => `${tableOf(s.key)}.${e.key}` === s.key)
      ) {
        noteAt('warn', key, `"${key}" is already set from fluent.conf: the fluent.conf value is kept`);
        continue;
      }
      let v = value as TomlValue;
      if (s.type === 'path' && typeof v === 'string' && v !== '' && !isAbsolute(v)) v = resolve(dir, v);
      // the handler's fluentd client files are not used, so whether they are here does not matter
      if (s.type === 'path' && typeof v === 'string' && v !== '' && s.key.startsWith('teleport.')) {
        const missing = this.missingFile(`${key} ${v}`, v, 'teleport-event-handler', s.key);
        if (missing) noteAt('warn', key, missing);
      }
      if (v instanceof Date) v = v.toISOString();
      set.add(s.key);
      const table = tableOf(s.key);
      const entry = { key: table ? s.key.slice(table.length + 1) : s.key, value: v };
      if (table) this.table(table, [tableComment(table, basename(file))]).entries.push(entry);
      else this.topFromHandler.push(entry);
    }
    const poller =
      set.has('teleport.identity') || (set.has('teleport.ca') && set.has('teleport.cert') && set.has('teleport.key'));
    const at = `${basename(file)}:1`;
    if (poller) {
      this.notes.push({
        level: 'warn',
        where: at,
        message:
          'the built-in Teleport poller replaces teleport-event-handler: stop the handler once the forwarder runs (with both, every event is shipped twice), or set teleport.enabled = false to keep the handler posting to the ingest',
      });
      if (!set.has('start-time')) {
        this.notes.push({
          level: 'info',
          where: at,
          message:
            'no "start-time": the poller starts at the time of its first run; set start-time to where the handler stopped to leave no gap',
        });
      }
    } else {
      this.notes.push({
        level: 'warn',
        where: at,
        message: 'no [teleport] identity (or ca, cert and key): the poller stays off',
      });
    }
    if (set.has('forward.fluentd.ca') || set.has('forward.fluentd.cert') || set.has('forward.fluentd.key')) {
      this.notes.push({
        level: 'info',
        where: at,
        message:
          '[forward.fluentd] ca, cert and key are kept for compatibility but not used: the poller posts nowhere; url and session-url give the tags of polled events',
      });
    }
    return poller;
  }

  /** the handler's tags (its urls, else teleport's defaults) that no rule ships: said, with the rule that would */
  private coverage(): void {
    const fluentd = this.tables.get('forward.fluentd')?.entries ?? [];
    const url = (key: string) => {
      const v = fluentd.find((e) => e.key === key)?.value;
      return typeof v === 'string' ? v : undefined;
    };
    const tags = handlerTags({ url: url('url'), sessionUrl: url('session-url') });
    const missing = uncoveredTags(
      tags,
      this.rules.map((r) => r.pattern),
    );
    if (missing.length === 0) return;
    // the suggestion ships like the first datadog rule does (its source, service, tags)
    const like = this.rules.find((r) => r.type === 'datadog');
    const handlerFile = this.input.handlerTomlPath ? basename(this.input.handlerTomlPath) : undefined;
    for (const t of missing) {
      const fields = like?.fields ?? [{ key: 'source', value: 'teleport' }];
      const rule: Rule = {
        pattern: t.pattern,
        type: 'datadog',
        fields,
        origin: `no rule matches ${t.shown}, the tag of the handler's ${t.what}: uncomment this rule to ship them`,
      };
      this.suggested.push(rule);
      const shown = [`pattern = ${tomlString(t.pattern)}`, ...fields.map(entryLine)].join(', ');
      const urlKey = t.what === 'audit events' ? 'url' : 'session-url';
      const where =
        handlerFile !== undefined && url(urlKey) !== undefined
          ? `${handlerFile}:${this.handlerLine(urlKey)}`
          : `${basename(this.confPath)}:1`;
      this.notes.push({
        level: 'warn',
        where,
        message: `teleport-event-handler posts its ${t.what} under ${t.shown} (the poller tags them the same), which no rule matches: the ingest answers 200 and drops them (routing.unmatched = "drop"). To ship them, add [[match]] ${shown} (written commented out at the end of the config)`,
      });
    }
  }

  private handlerLine(key: string): number {
    const lines = (this.input.handlerToml ?? '').split('\n');
    const i = lines.findIndex((l) => new RegExp(`^\\s*${key.replace(/[-.]/g, '\\$&')}\\s*=`).test(l));
    return i >= 0 ? i + 1 : 1;
  }

  // output

  private emit(): string {
    const out: string[] = [];
    out.push('# teleport-datadog-forwarder configuration, migrated by `teleport-datadog-forwarder migrate` from');
    out.push(`#   ${resolve(this.confPath)}`);
    if (this.input.handlerToml !== undefined)
      out.push(`#   ${resolve(this.input.handlerTomlPath ?? 'teleport-event-handler.toml')}`);
    out.push('# paths from those files were made absolute; relative paths here are relative to this file.');
    out.push('# secrets are not in this file: they are in the files it names (mode 0600) or in the environment.');
    out.push('');
    out.push('# the durable spool (records wait here until Datadog accepted them) and the Teleport cursors');
    for (const e of this.top) out.push(entryLine(e));
    if (this.topFromHandler.length > 0) {
      out.push('');
      out.push(`# the Teleport poller, from ${basename(this.input.handlerTomlPath ?? 'teleport-event-handler.toml')}`);
      for (const e of this.topFromHandler) out.push(entryLine(e));
    }
    const order = ['ingest', 'datadog', 'teleport', 'lock', 'forward.fluentd'];
    const names = [...this.tables.keys()].sort((a, b) => rank(order, a) - rank(order, b));
    for (const name of names) {
      const t = this.tables.get(name)!;
      out.push('');
      for (const c of t.comment) out.push(`# ${c}`);
      out.push(`[${name}]`);
      for (const e of t.entries) out.push(entryLine(e));
    }
    for (const f of this.filters) {
      out.push('');
      out.push(`# ${f.origin}`);
      out.push(stringifyToml({ filter: [f.table] }).trim());
    }
    for (const r of this.rules) {
      out.push('');
      out.push(`# ${r.origin}`);
      out.push('[[match]]');
      out.push(entryLine({ key: 'pattern', value: r.pattern }));
      if (r.type === 'null') out.push(entryLine({ key: 'type', value: 'null' }));
      for (const e of r.fields) out.push(entryLine(e));
    }
    for (const r of this.suggested) {
      out.push('');
      out.push(`# ${r.origin}`);
      out.push('# [[match]]');
      out.push(`# ${entryLine({ key: 'pattern', value: r.pattern })}`);
      for (const e of r.fields) out.push(`# ${entryLine(e)}`);
    }
    if (this.notes.length > 0) {
      out.push('');
      out.push('# not carried over, or changed (also printed by migrate):');
      for (const n of this.notes) out.push(`#   ${n.level.padEnd(4)} ${n.where}: ${n.message}`);
    }
    return out.join('\n') + '\n';
  }
}

function rank(order: string[], name: string): number {
  const i = order.indexOf(name);
  return i < 0 ? order.length : i;
}

const TABLES = ['forward.fluentd', 'ingest', 'datadog', 'spool', 'routing', 'teleport', 'lock'];

function tableOf(key: string): string {
  return TABLES.find((t) => key.startsWith(t + '.')) ?? '';
}

function tableComment(table: string, file: string): string {
  if (table === 'teleport') return `the Teleport Auth Service the poller reads, from ${file}`;
  if (table === 'lock') return `locking users after failed logins, from ${file}`;
  if (table === 'forward.fluentd')
    return `teleport-event-handler's fluentd client, from ${file}: its url paths give the tags of polled events`;
  return `from ${file}`;
}

/** the tags of a pattern that are plain tags (no wildcard), which a matcher can be asked about */
function literalTags(pattern: string): string[] {
  return pattern.split(/\s+/).filter((p) => p && !/[*{}\\/]/.test(p));
}

function overlaps(earlier: Candidate, later: Candidate): boolean {
  const a = earlier.pattern.split(/\s+/);
  const b = later.pattern.split(/\s+/);
  if (a.includes('**') || b.some((p) => a.includes(p))) return true;
  return literalTags(later.pattern).some((t) => earlier.matcher!(t));
}

function destinationDiff(a: Destination, b: Destination): string[] {
  const out: string[] = [];
  if ((a.url ?? a.site ?? 'datadoghq.com') !== (b.url ?? b.site ?? 'datadoghq.com'))
    out.push(a.url || b.url ? 'intake (host)' : 'site');
  if (a.apiKey !== b.apiKey || a.apiKeyEnv !== b.apiKeyEnv) out.push('api_key');
  if ((a.compression ?? 'gzip') !== (b.compression ?? 'gzip')) out.push('use_compression');
  if ((a.compressionLevel ?? 6) !== (b.compressionLevel ?? 6)) out.push('compression_level');
  return out;
}

function fieldsDiff(a: Entry[], b: Entry[]): string[] {
  const keys = new Set([...a, ...b].map((e) => e.key));
  const get = (list: Entry[], k: string) => JSON.stringify(list.find((e) => e.key === k)?.value);
  return [...keys].filter((k) => get(a, k) !== get(b, k));
}

// toml output

function entryLine(e: Entry): string {
  return `${e.key} = ${tomlValue(e.value)}`;
}

function tomlValue(v: TomlValue): string {
  if (typeof v === 'string') return tomlString(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return String(v);
  if (v instanceof Date) return tomlString(v.toISOString());
  return `[${v.map((x) => (typeof x === 'string' ? tomlString(x) : tomlValue(x as TomlValue))).join(', ')}]`;
}

/** a toml basic string: json's escapes are toml's, plus DEL; lone surrogates become U+FFFD */
function tomlString(s: string): string {
  const wellFormed = s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  return JSON.stringify(wellFormed).replace(/\x7f/g, '\\u007F');
}
