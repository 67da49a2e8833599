// fluent.conf's <filter> sections carried over as [[filter]] tables: @type grep and @type record_transformer with
// fluentd 1.15's semantics. what fluentd refuses at start, and ruby that would have to be evaluated, stops the
// migration with the file, the line and the reason (a filter left out would ship records it drops or fields it
// removes). other filter types are not carried over, with a note saying so. pure.
import { FluentConfigError } from '../../errors.js';
import { compileFilter, type FilterSpec } from '../../filter/chain.js';
import { GrepConfigError, type GrepCondition, type GrepGroup } from '../../filter/grep.js';
import { TransformConfigError } from '../../filter/transform.js';
import { sectionType, type FluentParam, type FluentSection } from './tree.js';
import { fluentBool } from './values.js';

export type FilterTable = Record<string, unknown>;

export interface FilterNote {
  level: 'warn' | 'info';
  file: string;
  line: number;
  message: string;
}

export interface CarriedFilter {
  /** the [[filter]] table, or undefined when the section is not carried over */
  table?: FilterTable;
  notes: FilterNote[];
}

const HOSTNAME_RUBY = /^\s*Socket\.gethostname\s*$/;
const GREP_LEGACY = /^(regexp|exclude)([1-9]|1\d|20)$/;
// parameters every plugin takes that change nothing in what is shipped
const COMMON = new Set(['@type', 'type', '@id', '@log_level', '@label']);

export function carryFilter(s: FluentSection, pattern: string, unless?: string): CarriedFilter {
  const type = sectionType(s);
  const label = `<filter ${s.arg || '**'}> @type ${type ?? '(none)'}`;
  const notes: FilterNote[] = [];
  const note = (level: FilterNote['level'], file: string, line: number, message: string) =>
    notes.push({ level, file, line, message });
  for (const p of s.params)
    if (COMMON.has(p.key) && p.key !== '@type' && p.key !== 'type')
      note('info', p.file, p.line, `"${p.key}" of ${label} is not needed`);
  let table: FilterTable;
  let spec: FilterSpec;
  if (type === 'grep') {
    const grep = grepSpec(s, label, note);
    table = { pattern, type: 'grep', ...grep };
    spec = { type: 'grep', pattern, grep };
  } else if (type === 'record_transformer') {
    const { transform, toml } = transformSpec(s, label, note);
    table = { pattern, type: 'record_transformer', ...toml };
    spec = { type: 'record_transformer', pattern, transform };
  } else if (type === 'stdout') {
    note(
      'info',
      s.file,
      s.line,
      `${label} is not carried over: it only prints records; to see them, run \`start --dry-run\``,
    );
    return { notes };
  } else {
    note(
      'warn',
      s.file,
      s.line,
      `${label} is not carried over: only @type grep and record_transformer filters are, so records reach Datadog without this filter's changes`,
    );
    return { notes };
  }
  if (unless !== undefined) {
    table['unless-pattern'] = unless;
    spec.unless = unless;
  }
  try {
    compileFilter(spec, 'localhost');
  } catch (err) {
    const e = err as Error;
    if (err instanceof GrepConfigError) throw refusal(s, label, `${err.where}: ${e.message}`, err);
    if (err instanceof TransformConfigError) {
      const at = lineOf(s, err.key);
      throw new FluentConfigError(at.file, at.line, `${label}: ${e.message}`, { cause: err });
    }
    throw refusal(s, label, e.message, err);
  }
  return { table, notes };
}

function refusal(s: FluentSection, label: string, message: string, cause: unknown): FluentConfigError {
  return new FluentConfigError(s.file, s.line, `${label}: ${message} (Fluentd refuses this config too)`, { cause });
}

// where a transform setting was written: `record.<key>` is a line of <record>, the rest are params
function lineOf(s: FluentSection, key: string): { file: string; line: number } {
  if (key.startsWith('record.')) {
    const k = key.slice('record.'.length);
    for (const r of s.sections.filter((x) => x.name === 'record')) {
      const p = r.params.find((q) => q.key === k);
      if (p) return p;
    }
  }
  const p = s.params.find((q) => q.key === key.replace(/-/g, '_'));
  return p ?? s;
}

function grepSpec(
  s: FluentSection,
  label: string,
  note: (level: FilterNote['level'], file: string, line: number, message: string) => void,
): { regexp?: GrepCondition[]; exclude?: GrepCondition[]; and?: GrepGroup[]; or?: GrepGroup[] } {
  const regexp: GrepCondition[] = [];
  const exclude: GrepCondition[] = [];
  const legacy = new Map<string, FluentParam>();
  for (const p of s.params) {
    const m = GREP_LEGACY.exec(p.key);
    if (m) legacy.set(p.key, p);
    else if (!COMMON.has(p.key))
      note('warn', p.file, p.line, `"${p.key}" of ${label} is not a grep parameter: ignored`);
  }
  // fluentd reads regexp1..20 then exclude1..20, before the sections
  for (const kind of ['regexp', 'exclude'] as const) {
    const seen = new Set<string>();
    for (let i = 1; i <= 20; i++) {
      const p = legacy.get(`${kind}${i}`);
      if (!p) continue;
      const v = p.value;
      const sp = v.indexOf(' ');
      if (sp < 0) throw new FluentConfigError(p.file, p.line, `${label}: ${kind}${i} does not contain 2 parameters`);
      const key = v.slice(0, sp);
      if (seen.has(key))
        throw new FluentConfigError(p.file, p.line, `${label}: ${kind}${i} contains a duplicated key, ${key}`);
      seen.add(key);
      // a bare Regexp.compile: a leading slash is a character, not a delimiter
      const re = v.slice(sp + 1);
      (kind === 'regexp' ? regexp : exclude).push({ key, pattern: re.startsWith('/') ? `\\${re}` : re });
    }
  }
  const conditions = (sec: FluentSection, name: 'regexp' | 'exclude'): GrepCondition[] =>
    sec.sections
      .filter((x) => x.name === name)
      .map((x) => {
        for (const q of x.params)
          if (q.key !== 'key' && q.key !== 'pattern')
            note('warn', q.file, q.line, `"${q.key}" in <${name}> is not a grep parameter: ignored`);
        const key = x.params.find((q) => q.key === 'key');
        const pattern = x.params.find((q) => q.key === 'pattern');
        if (!key) throw new FluentConfigError(x.file, x.line, `${label}: <${name}>: 'key' parameter is required`);
        if (!pattern)
          throw new FluentConfigError(x.file, x.line, `${label}: <${name}>: 'pattern' parameter is required`);
        return { key: key.value, pattern: pattern.value };
      });
  regexp.push(...conditions(s, 'regexp'));
  exclude.push(...conditions(s, 'exclude'));
  const groups = (name: 'and' | 'or'): GrepGroup[] =>
    s.sections
      .filter((x) => x.name === name)
      .map((g) => {
        for (const y of g.sections)
          if (y.name !== 'regexp' && y.name !== 'exclude')
            note('warn', y.file, y.line, `<${y.name}> in <${name}> is not a grep section: ignored`);
        const out: GrepGroup = {};
        const r = conditions(g, 'regexp');
        const e = conditions(g, 'exclude');
        if (r.length > 0) out.regexp = r;
        if (e.length > 0) out.exclude = e;
        return out;
      });
  for (const x of s.sections)
    if (!['regexp', 'exclude', 'and', 'or'].includes(x.name))
      note('warn', x.file, x.line, `<${x.name}> in ${label} is not a grep section: ignored`);
  const out: ReturnType<typeof grepSpec> = {};
  if (regexp.length > 0) out.regexp = regexp;
  if (exclude.length > 0) out.exclude = exclude;
  const and = groups('and');
  const or = groups('or');
  if (and.length > 0) out.and = and;
  if (or.length > 0) out.or = or;
  return out;
}

function transformSpec(
  s: FluentSection,
  label: string,
  note: (level: FilterNote['level'], file: string, line: number, message: string) => void,
): { transform: Extract<FilterSpec, { type: 'record_transformer' }>['transform']; toml: FilterTable } {
  const transform: Extract<FilterSpec, { type: 'record_transformer' }>['transform'] = {};
  const toml: FilterTable = {};
  const bool = (p: FluentParam): boolean => {
    const b = fluentBool(p.value);
    if (b === undefined)
      throw new FluentConfigError(
        p.file,
        p.line,
        `${label}: ${p.key}: "${p.value}" is not a valid boolean (true or false)`,
      );
    return b;
  };
  const array = (p: FluentParam): string[] => {
    const v = p.value.trim();
    if (v.startsWith('[')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(v);
      } catch {
        throw new FluentConfigError(p.file, p.line, `${label}: ${p.key}: not a JSON array: ${v}`);
      }
      if (!Array.isArray(parsed)) throw new FluentConfigError(p.file, p.line, `${label}: ${p.key}: not an array`);
      return parsed.map(String);
    }
    return v === '' ? [] : v.split(/\s*,\s*/);
  };
  for (const p of s.params) {
    noRuby(p, label);
    switch (p.key) {
      case 'remove_keys':
        transform.removeKeys = array(p);
        toml['remove-keys'] = transform.removeKeys;
        break;
      case 'keep_keys':
        transform.keepKeys = array(p);
        toml['keep-keys'] = transform.keepKeys;
        break;
      case 'renew_record':
        transform.renewRecord = bool(p);
        toml['renew-record'] = transform.renewRecord;
        break;
      case 'renew_time_key':
        transform.renewTimeKey = p.value;
        toml['renew-time-key'] = p.value;
        break;
      case 'enable_ruby':
        transform.enableRuby = bool(p);
        toml['enable-ruby'] = transform.enableRuby;
        break;
      case 'auto_typecast':
        transform.autoTypecast = bool(p);
        toml['auto-typecast'] = transform.autoTypecast;
        break;
      default:
        if (!COMMON.has(p.key))
          note('warn', p.file, p.line, `"${p.key}" of ${label} is not a record_transformer parameter: ignored`);
    }
  }
  const record: Record<string, string> = {};
  for (const r of s.sections) {
    if (r.name !== 'record') {
      note('warn', r.file, r.line, `<${r.name}> in ${label} is not a record_transformer section: ignored`);
      continue;
    }
    for (const p of r.params) {
      // Socket.gethostname read when fluentd starts is the host ${hostname} names when it runs
      if (p.embedded?.some((e) => !e.resolved && HOSTNAME_RUBY.test(e.code))) {
        const value = p.value.replace(/#\{\s*Socket\.gethostname\s*\}/g, '${hostname}');
        const rest = { ...p, value, embedded: p.embedded.filter((e) => !HOSTNAME_RUBY.test(e.code)) };
        noRuby(rest, label);
        note(
          'info',
          p.file,
          p.line,
          `#{Socket.gethostname} in "${p.key}" is carried over as \${hostname}: the same host name`,
        );
        record[p.key] = value;
        continue;
      }
      noRuby(p, label);
      record[p.key] = p.value;
    }
  }
  if (Object.keys(record).length > 0) {
    transform.record = record;
    toml.record = record;
  }
  return { transform, toml };
}

// a double-quoted value's #{…} is ruby fluentd evaluates when it reads the file: only ENV lookups are
function noRuby(p: FluentParam, label: string): void {
  const left = p.embedded?.find((e) => !e.resolved);
  if (left)
    throw new FluentConfigError(
      p.file,
      p.line,
      `${label}: "${p.key}" holds #{${left.code}}, ruby that fluentd evaluates when it reads the file and the forwarder never does: write the value it gives instead`,
    );
}
