// fluentd's filter_record_transformer (v1.15) without ruby: set keys from <record> (static values and
// placeholders), keep_keys with renew_record, renew_time_key, remove_keys (record accessor paths, nested too).
// the order is fluentd's: start from a copy of the record (or {} with renew_record, plus keep_keys' values),
// merge the expanded <record>, take the time from renew_time_key, then remove remove_keys. a <record> value that
// starts with `{` or `[` is read as JSON (kept as a string when it is not JSON), as fluentd does. pure.
import { deletePath, parseAccessor, type Accessor } from './accessor.js';
import { compileTemplate, Expansion, PlaceholderError, type Template } from './placeholders.js';
import { rubyToF } from './ruby.js';

export interface TransformSpec {
  /** the <record> section: key -> value (strings may hold placeholders) */
  record?: Record<string, unknown>;
  removeKeys?: string[];
  keepKeys?: string[];
  renewRecord?: boolean;
  renewTimeKey?: string;
  /** record access only: ruby is never evaluated */
  enableRuby?: boolean;
  /** fluentd's default: true */
  autoTypecast?: boolean;
}

/** a config fluentd refuses, or one that needs ruby; `key` is the setting at fault */
export class TransformConfigError extends Error {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
  }
}

export interface Transform {
  /** the record and time after the filter; throws PlaceholderError where fluentd emits an error event */
  apply(tag: string, time: number, record: Record<string, unknown>): { time: number; record: Record<string, unknown> };
  /** placeholders no record can resolve (they expand to nil), for a warning at load */
  readonly unknownPlaceholders: readonly string[];
}

type Node =
  | { kind: 'template'; t: Template }
  | { kind: 'hash'; entries: Array<[Template, Node]> }
  | { kind: 'array'; items: Node[] }
  | { kind: 'value'; v: unknown };

export function compileTransform(spec: TransformSpec, hostname: string): Transform {
  const ruby = spec.enableRuby === true;
  const typecast = spec.autoTypecast ?? true;
  const renew = spec.renewRecord === true;
  if (spec.keepKeys !== undefined && !renew)
    throw new TransformConfigError('`renew_record` must be true to use `keep_keys`', 'keep-keys');
  const unknown: string[] = [];
  const template = (text: string, key: string, forKey = false): Template => {
    try {
      const t = compileTemplate(text, ruby, typecast, !forKey);
      unknown.push(...t.unknown);
      return t;
    } catch (err) {
      throw new TransformConfigError((err as Error).message, key);
    }
  };
  const node = (v: unknown, key: string): Node => {
    if (typeof v === 'string') return { kind: 'template', t: template(v, key) };
    if (Array.isArray(v)) return { kind: 'array', items: v.map((x) => node(x, key)) };
    if (v !== null && typeof v === 'object' && !(v instanceof Date))
      return {
        kind: 'hash',
        entries: Object.entries(v as Record<string, unknown>).map(([k, x]) => [template(k, key, true), node(x, key)]),
      };
    return { kind: 'value', v: v instanceof Date ? v.toISOString() : v };
  };
  const map: Array<[Template, Node]> = Object.entries(spec.record ?? {}).map(([k, v]) => [
    template(k, `record.${k}`, true),
    node(typeof v === 'string' ? parseValue(v) : v, `record.${k}`),
  ]);
  let removers: Accessor[] = [];
  try {
    removers = (spec.removeKeys ?? []).map((k) => parseAccessor(k));
  } catch (err) {
    throw new TransformConfigError((err as Error).message, 'remove-keys');
  }
  const keep = spec.keepKeys ?? [];
  const timeKey = spec.renewTimeKey;
  const x = new Expansion();

  const expand = (n: Node, p: Parameters<Template['expand']>[0]): unknown => {
    switch (n.kind) {
      case 'template': {
        // ruby's nil is json's null: an unresolved placeholder keeps its key
        const v = n.t.expand(p, x);
        return v === undefined ? null : v;
      }
      case 'value':
        return n.v;
      case 'array':
        return n.items.map((i) => expand(i, p));
      case 'hash': {
        const o: Record<string, unknown> = {};
        for (const [k, v] of n.entries) o[String(k.expand(p, x))] = expand(v, p);
        return o;
      }
    }
  };

  return {
    unknownPlaceholders: unknown,
    apply(tag, time, record) {
      const p = { tag, time, record, hostname };
      let out: Record<string, unknown>;
      if (renew) {
        out = {};
        for (const k of keep) if (Object.hasOwn(record, k)) out[k] = record[k];
      } else out = { ...record };
      for (const [k, v] of map) out[String(k.expand(p, x))] = expand(v, p);
      let t = time;
      if (timeKey !== undefined && Object.hasOwn(out, timeKey)) {
        let seconds: number;
        try {
          seconds = rubyToF(out[timeKey]);
        } catch (err) {
          throw new PlaceholderError(`renew_time_key ${timeKey}: ${(err as Error).message}`);
        }
        t = seconds * 1000;
      }
      for (const r of removers) out = deletePath(out, r.keys);
      return { time: t, record: out };
    },
  };
}

// fluentd's parse_value: a value starting with `{` or `[` is JSON, or the string itself when it is not
function parseValue(v: string): unknown {
  if (!v.startsWith('{') && !v.startsWith('[')) return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
