// fluentd's filter_grep (v1.15): keep or drop a record by regexps on its values. the value at each key (a
// record accessor path) is read with ruby's `to_s` (a missing key reads "", a number "42", an array
// `["a", "b"]`) and matched. how conditions combine, as fluentd does it:
//   top-level <regexp>s and <and><regexp>s: all must match    <or><regexp>s: at least one must match
//   top-level <exclude>s and <or><exclude>s: any match drops   <and><exclude>s: dropped when all match
// a step into a value dig cannot enter (a string, a number) makes fluentd log and keep the record: so here.
// configs fluentd refuses at start (a key twice in one group, <regexp> and <exclude> in the same <and>/<or>)
// are refused by compileGrep with fluentd's reason. pure.
import { getPath, parseAccessor, type Accessor } from './accessor.js';
import { fluentRegexp, rubyToS } from './ruby.js';

export interface GrepCondition {
  key: string;
  /** fluentd's :regexp syntax: `/re/i`, or the bare pattern */
  pattern: string;
}

export interface GrepGroup {
  regexp?: GrepCondition[];
  exclude?: GrepCondition[];
}

export interface GrepSpec {
  regexp?: GrepCondition[];
  exclude?: GrepCondition[];
  and?: GrepGroup[];
  or?: GrepGroup[];
}

interface Expression {
  accessor: Accessor;
  re: RegExp;
}

export interface Grep {
  /** true: the record goes on */
  keep(record: Record<string, unknown>): boolean;
}

/** a config fluentd refuses; `where` says which condition (`regexp #2`, `and #1 exclude #1`) */
export class GrepConfigError extends Error {
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(message);
  }
}

export function compileGrep(spec: GrepSpec): Grep {
  const regexpAnd = new Map<string, Expression>();
  const regexpOr = new Map<string, Expression>();
  const excludeAnd = new Map<string, Expression>();
  const excludeOr = new Map<string, Expression>();
  const add = (into: Map<string, Expression>, c: GrepCondition, where: string, dup: string): void => {
    if (typeof c.key !== 'string' || c.key === '') throw new GrepConfigError(`'key' parameter is required`, where);
    if (typeof c.pattern !== 'string') throw new GrepConfigError(`'pattern' parameter is required`, where);
    if (into.has(c.key)) throw new GrepConfigError(`${dup}: ${c.key}`, where);
    let accessor: Accessor;
    let re: RegExp;
    try {
      accessor = parseAccessor(c.key);
      re = fluentRegexp(c.pattern);
    } catch (err) {
      throw new GrepConfigError((err as Error).message, where);
    }
    into.set(c.key, { accessor, re });
  };
  (spec.regexp ?? []).forEach((c, i) => add(regexpAnd, c, `regexp #${i + 1}`, 'Duplicate key'));
  (spec.exclude ?? []).forEach((c, i) => add(excludeOr, c, `exclude #${i + 1}`, 'Duplicate key'));
  (spec.and ?? []).forEach((g, j) => {
    if ((g.regexp?.length ?? 0) > 0 && (g.exclude?.length ?? 0) > 0)
      throw new GrepConfigError('Do not specify both <regexp> and <exclude> in <and>', `and #${j + 1}`);
    (g.regexp ?? []).forEach((c, i) => add(regexpAnd, c, `and #${j + 1} regexp #${i + 1}`, 'Duplicate key in <and>'));
    (g.exclude ?? []).forEach((c, i) =>
      add(excludeAnd, c, `and #${j + 1} exclude #${i + 1}`, 'Duplicate key in <and>'),
    );
  });
  (spec.or ?? []).forEach((g, j) => {
    if ((g.regexp?.length ?? 0) > 0 && (g.exclude?.length ?? 0) > 0)
      throw new GrepConfigError('Do not specify both <regexp> and <exclude> in <or>', `or #${j + 1}`);
    (g.regexp ?? []).forEach((c, i) => add(regexpOr, c, `or #${j + 1} regexp #${i + 1}`, 'Duplicate key in <or>'));
    (g.exclude ?? []).forEach((c, i) => add(excludeOr, c, `or #${j + 1} exclude #${i + 1}`, 'Duplicate key in <or>'));
  });
  const ra = [...regexpAnd.values()];
  const ro = [...regexpOr.values()];
  const ea = [...excludeAnd.values()];
  const eo = [...excludeOr.values()];
  return {
    keep(record) {
      try {
        if (ra.length > 0 && ra.some((e) => !matches(e, record))) return false;
        if (ro.length > 0 && !ro.some((e) => matches(e, record))) return false;
        if (ea.length > 0 && ea.every((e) => matches(e, record))) return false;
        if (eo.length > 0 && eo.some((e) => matches(e, record))) return false;
      } catch {
        // fluentd: "failed to grep events", and the record goes on
        return true;
      }
      return true;
    },
  };
}

function matches(e: Expression, record: Record<string, unknown>): boolean {
  e.re.lastIndex = 0;
  return e.re.test(rubyToS(getPath(record, e.accessor.keys)));
}
