// the ordered filters, as fluentd runs its <filter> sections: each record goes through every filter whose tag
// pattern matches its tag, in order, before the <match> rules; a filter that drops it ends its way. a record a
// filter cannot process (a ruby-dialect placeholder ruby would raise on) leaves the chain as fluentd sends it to
// its error stream: counted as dropped and as an error, with a rate-limited warning. records are never written:
// a filter that changes one returns a new object. counts per filter: in (the records its pattern matched), out,
// dropped, errors.
import type { SourceRecord } from '../record.js';
import { compilePattern, type TagMatcher } from '../router/pattern.js';
import { compileGrep, type GrepSpec } from './grep.js';
import { PlaceholderError } from './placeholders.js';
import { compileRedact, type RedactSpec } from './redact.js';
import { compileTransform, type TransformSpec } from './transform.js';

/** `unless`: tags the filter skips (fluentd: the tags a <match> placed before the <filter> takes) */
export type FilterSpec = (
  | { type: 'grep'; pattern: string; grep: GrepSpec }
  | { type: 'record_transformer'; pattern: string; transform: TransformSpec }
  | { type: 'redact'; pattern: string; redact: RedactSpec }
) & { unless?: string };

export interface FilterStats {
  /** 1-based, in config order */
  index: number;
  type: FilterSpec['type'];
  pattern: string;
  in: number;
  out: number;
  dropped: number;
  /** records dropped because the filter could not process them */
  errors: number;
}

export interface FilterChain {
  readonly size: number;
  /** the records that pass every filter, changed as the filters say; the input array is returned when none apply */
  apply(records: SourceRecord[]): SourceRecord[];
  stats(): FilterStats[];
}

export interface FilterChainDeps {
  /** ${hostname}: fluentd's Socket.gethostname */
  hostname: string;
  logger?: { warn(obj: object, msg: string): void };
  now?: () => number;
}

export const CHAIN_DEFAULTS = Object.freeze({
  errorWarnIntervalMs: 10_000, // at most one warning per filter per interval about records it could not process
});

type Step = (tag: string, time: number, record: Record<string, unknown>) => SourceRecord | null;

interface Compiled {
  match: TagMatcher;
  step: Step;
  stats: FilterStats;
  lastWarnAt: number;
  sinceWarn: number;
}

export function compileFilter(spec: FilterSpec, hostname: string): { match: TagMatcher; step: Step } {
  const matchPattern = compilePattern(spec.pattern);
  const unless = spec.unless === undefined ? undefined : compilePattern(spec.unless);
  const match: TagMatcher = unless ? (tag) => matchPattern(tag) && !unless(tag) : matchPattern;
  switch (spec.type) {
    case 'grep': {
      const g = compileGrep(spec.grep);
      return { match, step: (tag, time, record) => (g.keep(record) ? { tag, time, record } : null) };
    }
    case 'record_transformer': {
      const t = compileTransform(spec.transform, hostname);
      return {
        match,
        step: (tag, time, record) => {
          const r = t.apply(tag, time, record);
          return { tag, time: r.time, record: r.record };
        },
      };
    }
    case 'redact': {
      const r = compileRedact(spec.redact);
      return { match, step: (tag, time, record) => ({ tag, time, record: r.apply(record) }) };
    }
  }
}

export function createFilterChain(specs: readonly FilterSpec[], deps: FilterChainDeps): FilterChain {
  const now = deps.now ?? Date.now;
  const filters: Compiled[] = specs.map((spec, i) => ({
    ...compileFilter(spec, deps.hostname),
    stats: { index: i + 1, type: spec.type, pattern: spec.pattern, in: 0, out: 0, dropped: 0, errors: 0 },
    lastWarnAt: -Infinity,
    sinceWarn: 0,
  }));

  function failed(f: Compiled, tag: string, err: unknown): void {
    f.stats.errors += 1;
    f.sinceWarn += 1;
    const t = now();
    if (!deps.logger || t - f.lastWarnAt < CHAIN_DEFAULTS.errorWarnIntervalMs) return;
    deps.logger.warn(
      { filter: f.stats.index, type: f.stats.type, tag, records: f.sinceWarn, reason: (err as Error).message },
      `filter #${f.stats.index} (${f.stats.type}) could not process records and dropped them, as fluentd sends them to its error stream`,
    );
    f.lastWarnAt = t;
    f.sinceWarn = 0;
  }

  return {
    size: filters.length,
    apply(records) {
      if (filters.length === 0) return records;
      const out: SourceRecord[] = [];
      for (const rec of records) {
        let cur: SourceRecord | null = rec;
        for (const f of filters) {
          if (!f.match(cur.tag)) continue;
          f.stats.in += 1;
          let next: SourceRecord | null;
          try {
            next = f.step(cur.tag, cur.time, cur.record);
          } catch (err) {
            if (!(err instanceof PlaceholderError)) throw err;
            failed(f, cur.tag, err);
            next = null;
          }
          if (next === null) {
            f.stats.dropped += 1;
            cur = null;
            break;
          }
          f.stats.out += 1;
          cur = next;
        }
        if (cur !== null) out.push(cur);
      }
      return out;
    },
    stats: () => filters.map((f) => ({ ...f.stats })),
  };
}
