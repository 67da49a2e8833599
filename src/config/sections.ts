// the Config's sections follow from the schema in one fixed way, so a setting is defined once: its row. a row
// lands in the section its key starts with (`ingest.port` in ingest), or in the one its row names (teleport-event-
// handler's top-level `batch` in teleport), or at the top; its field is the rest of the key in camelCase, with
// `Ms` after durations (`ingest.request-timeout` -> ingest.requestTimeoutMs, `lock.period` -> teleport.lockPeriodMs).
import { SETTINGS, type Setting, type SettingRow } from './schema.js';

export const SECTIONS = ['ingest', 'datadog', 'admin', 'spool', 'runtime', 'routing', 'teleport', 'forward'] as const;
export type SectionName = (typeof SECTIONS)[number];

type DotsToDashes<S extends string> = S extends `${infer H}.${infer T}` ? `${H}-${DotsToDashes<T>}` : S;
type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;

/** the section a row lands in: see the header */
export type SectionOf<R extends SettingRow> = R extends { section: infer S }
  ? S
  : R['key'] extends `${infer P extends SectionName}.${string}`
    ? P
    : 'top';
type Rest<K extends string, S> = S extends string ? (K extends `${S}.${infer T}` ? T : K) : K;
/** the field a row lands in: see the header */
export type FieldOf<R extends SettingRow> =
  `${Camel<DotsToDashes<Rest<R['key'], SectionOf<R>>>>}${R['type'] extends 'duration' ? 'Ms' : ''}`;

type ValueOf<R extends SettingRow> = R extends { type: 'enum'; values: readonly (infer V)[] }
  ? V
  : R['type'] extends 'int' | 'bytes' | 'duration'
    ? number
    : R['type'] extends 'bool'
      ? boolean
      : R['type'] extends 'list'
        ? string[]
        : R['type'] extends 'time'
          ? Date
          : string;

type In<S, R extends SettingRow> = SectionOf<R> extends S ? FieldOf<R> : never;
/** a section's values: a row with a default always has one, a row without may be unset */
export type Section<S extends SectionName | 'top'> = {
  [R in Extract<SettingRow, { default: unknown }> as In<S, R>]: ValueOf<R>;
} & {
  [R in Exclude<SettingRow, { default: unknown }> as In<S, R>]?: ValueOf<R>;
};

export function sectionOf(s: Setting): SectionName | 'top' {
  if (s.section) return s.section;
  const head = s.key.split('.')[0];
  return s.key.includes('.') && (SECTIONS as readonly string[]).includes(head) ? (head as SectionName) : 'top';
}

export function fieldOf(s: Setting): string {
  const section = sectionOf(s);
  const rest = s.key.startsWith(section + '.') ? s.key.slice(section.length + 1) : s.key;
  const camel = rest.replace(/[.-]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return s.type === 'duration' ? camel + 'Ms' : camel;
}

/** a section's defaults, as the loader fills them in: for tests and tools that build a component's options */
export function sectionDefaults<S extends SectionName>(section: S): Section<S> {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    if (sectionOf(s) !== section || s.default === undefined) continue;
    out[fieldOf(s)] = Array.isArray(s.default) ? [...(s.default as unknown[])] : s.default;
  }
  return out as Section<S>;
}
