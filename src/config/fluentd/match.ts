// one <match>: @type datadog and null become a rule, @type copy its first datadog <store>; other outputs are
// dropped with a note that says why (and what fluentd did with their events). pure.
import { compilePattern } from '../../router/pattern.js';
import type { Candidate, Destination, Entry, MigrationContext } from './context.js';
import { datadog, destinationDiff, fieldsDiff } from './datadog.js';
import { sectionType, type FluentSection } from './tree.js';

const DRY_RUN_HINT = 'to see what would be shipped, run `start --dry-run`';

/** one <match>: a rule, or why it was dropped */
export function match(ctx: MigrationContext, s: FluentSection): Candidate {
  const where = ctx.where(s.file, s.line);
  const pattern = unprefixed(ctx, s.arg);
  const c: Candidate = { where, pattern };
  try {
    c.matcher = compilePattern(pattern);
  } catch (err) {
    ctx.warn(s.file, s.line, `<match ${pattern}> is not carried over: ${(err as Error).message}`);
    c.dropped = 'an invalid pattern';
    return c;
  }
  const type = sectionType(s);
  const label = `<match ${s.arg || '**'}> @type ${type ?? '(none)'}`;
  switch (type) {
    case 'datadog': {
      const r = datadog(ctx, s);
      c.rule = { pattern, type: 'datadog', fields: r.fields, origin: `${label} (${where})` };
      c.dest = r.dest;
      break;
    }
    case 'null':
      c.rule = { pattern, type: 'null', fields: [], origin: `${label} (${where}): dropped on purpose` };
      otherParams(ctx, s, 'null');
      break;
    case 'copy':
      copy(ctx, s, c, label);
      break;
    case 'stdout':
      ctx.warn(
        s.file,
        s.line,
        `${label} is not carried over: stdout is for debugging; ${DRY_RUN_HINT}. With no rule, these tags are dropped (with a warning) unless a later rule matches them`,
      );
      c.dropped = 'stdout';
      break;
    case undefined:
      ctx.warn(s.file, s.line, `<match ${s.arg || '**'}> has no @type: not carried over`);
      c.dropped = 'no @type';
      break;
    default:
      ctx.warn(s.file, s.line, `${label} is not carried over: the forwarder ships to Datadog only`);
      c.dropped = `@type ${type}`;
  }
  return c;
}

/** @type copy: the first datadog <store> is the rule; others are noted */
export function copy(ctx: MigrationContext, s: FluentSection, c: Candidate, label: string): void {
  const stores = s.sections.filter((x) => x.name === 'store');
  for (const x of s.sections)
    if (x.name !== 'store') ctx.warn(x.file, x.line, `<${x.name}> in @type copy is not carried over`);
  for (const p of s.params) {
    if (p.key === '@type' || p.key === 'type') continue;
    ctx.info(p.file, p.line, `"${p.key}" of @type copy is not carried over: not needed`);
  }
  let chosen: { rule: Entry[]; dest: Destination; where: string } | undefined;
  for (const st of stores) {
    const type = sectionType(st);
    const stWhere = ctx.where(st.file, st.line);
    if (type === 'datadog') {
      const r = datadog(ctx, st);
      if (!chosen) {
        chosen = { rule: r.fields, dest: r.dest, where: stWhere };
        continue;
      }
      const diff = [...destinationDiff(chosen.dest, r.dest), ...fieldsDiff(chosen.rule, r.fields)];
      if (diff.length > 0)
        ctx.warn(
          st.file,
          st.line,
          `a second datadog <store> is not carried over (its ${diff.join(', ')} differ from the first at ${chosen.where}): one Datadog output per rule`,
        );
      else
        ctx.info(
          st.file,
          st.line,
          'a second datadog <store> like the first: not carried over (it would send every log twice)',
        );
    } else if (type === 'null') {
      ctx.info(st.file, st.line, '<store> @type null: nothing to carry over');
    } else if (type === 'stdout') {
      ctx.warn(st.file, st.line, `<store> @type stdout is not carried over: stdout is for debugging; ${DRY_RUN_HINT}`);
    } else {
      ctx.warn(
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

/** notes for the params and sections of an output that need no counterpart */
export function otherParams(ctx: MigrationContext, s: FluentSection, type: string): void {
  for (const p of s.params) {
    if (p.key === '@type' || p.key === 'type') continue;
    ctx.info(p.file, p.line, `"${p.key}" of @type ${type} is not carried over: not needed`);
  }
  for (const x of s.sections) ctx.info(x.file, x.line, `<${x.name}> of @type ${type} is not carried over: not needed`);
}

// in_http's add_tag_prefix: our ingest gives the tag without it
export function unprefixed(ctx: MigrationContext, arg: string): string {
  let pattern = arg.trim() || '**';
  if (ctx.tagPrefix) {
    const prefix = ctx.tagPrefix + '.';
    pattern = pattern
      .split(/\s+/)
      .map((p) => (p.startsWith(prefix) ? p.slice(prefix.length) || '**' : p))
      .join(' ');
  }
  return pattern;
}
