// <match>, <filter> and <label>: what the http source routes to, in fluentd's order, becomes the [[match]] rules
// and [[filter]] tables; the first datadog output gives [datadog]. pure.
import { basename } from 'node:path';
import { FluentConfigError } from '../../errors.js';
import { compilePattern, type TagMatcher } from '../../router/pattern.js';
import type { Candidate, MigrationContext } from './context.js';
import { destination, destinationDiff } from './datadog.js';
import { carryFilter } from './filter.js';
import { match, unprefixed } from './match.js';
import { getParam, sectionType, type FluentSection } from './tree.js';

/** the rules and filters of what the http source routes to (the root, or its @label); the rest noted */
export function routing(ctx: MigrationContext, root: FluentSection): void {
  const http = root.sections.find((s) => s.name === 'source' && sectionType(s) === 'http');
  const label = http ? getParam(http, '@label')?.value.trim() : undefined;
  let routed: FluentSection | undefined = root;
  if (label) {
    routed = root.sections.find((s) => s.name === 'label' && s.arg === label);
    if (!routed) ctx.warn(http!.file, http!.line, `"@label ${label}" names no <label ${label}>: no match rules`);
  }
  const candidates: Candidate[] = [];
  const walk = (container: FluentSection) => {
    for (const s of container.sections) {
      if (s.name === 'match') candidates.push(match(ctx, s));
      else if (s.name === 'filter') filter(ctx, s, candidates);
      else if (container !== root) ctx.warn(s.file, s.line, `<${s.name}> in <label> is not carried over`);
    }
  };
  for (const s of root.sections) {
    if (s.name === 'source') continue;
    if (s.name === 'match' || s.name === 'filter') {
      if (routed === root) continue;
      ctx.info(
        s.file,
        s.line,
        `<${s.name} ${s.arg || '**'}> is not carried over: the http source sends its events to <label ${label}>, so they never reach it`,
      );
    } else if (s.name === 'label') {
      if (s === routed) walk(s);
      else if (s.arg === '@FLUENT_LOG')
        ctx.info(
          s.file,
          s.line,
          "<label @FLUENT_LOG> (fluentd's own logs) is not carried over: the forwarder logs JSON lines on stdout",
        );
      else if (s.arg === '@ERROR')
        ctx.info(
          s.file,
          s.line,
          '<label @ERROR> is not carried over: the forwarder never drops a record on an error; it retries, holds, or dead-letters it',
        );
      else ctx.info(s.file, s.line, `<label ${s.arg}> is not carried over: the http source does not route to it`);
    } else if (s.name === 'system') {
      ctx.info(s.file, s.line, '<system> (fluentd process settings) is not carried over');
    } else {
      ctx.warn(s.file, s.line, `<${s.name}${s.arg ? ' ' + s.arg : ''}> is not carried over`);
    }
  }
  for (const p of root.params) ctx.warn(p.file, p.line, `"${p.key}" outside any section is not carried over`);
  if (routed === root) walk(root);
  rulesFrom(ctx, candidates);
}

/** the candidates in order become the rules; the first destination is [datadog] */
export function rulesFrom(ctx: MigrationContext, candidates: Candidate[]): void {
  // a dropped <match> took its events in fluentd (the first match wins): a later rule that now gets them changes behaviour
  candidates.forEach((c, i) => {
    if (!c.rule || c.rule.type !== 'datadog') return;
    for (const d of candidates.slice(0, i)) {
      if (d.dropped && d.matcher && overlaps(d, c)) {
        ctx.notes.push({
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
    ctx.rules.push(c.rule);
    if (c.dest && c !== first) {
      const diff = destinationDiff(first!.dest!, c.dest);
      if (diff.length > 0) {
        ctx.notes.push({
          level: 'warn',
          where: c.where,
          message: `its ${diff.join(', ')} differ from the first Datadog output (${first!.dest!.where}): one Datadog destination is supported, so these logs go there too`,
        });
      }
    }
  }
  if (first) destination(ctx, first.dest!);
  if (!ctx.rules.some((r) => r.type === 'datadog')) {
    ctx.notes.push({
      level: 'warn',
      where: `${basename(ctx.confPath)}:1`,
      message:
        'no <match> sends to Datadog: a catch-all rule (every tag to Datadog, source "teleport") was written; edit it',
    });
    ctx.rules.push({
      pattern: '**',
      type: 'datadog',
      fields: [
        { key: 'source', value: 'teleport' },
        { key: 'service', value: 'teleport' },
      ],
      origin: 'no <match> of fluent.conf sent to Datadog: every tag goes there (edit this rule)',
    });
  }
  if (!ctx.apiKeyFound) {
    ctx.notes.push({
      level: 'warn',
      where: `${basename(ctx.confPath)}:1`,
      message:
        'no Datadog api_key was carried over: set the DD_API_KEY environment variable (or datadog.api-key-file) before starting',
    });
  }
}

// a <filter> runs on the tags it matches before the <match> that takes them; after a <match> that took some of
// its tags, fluentd never runs it on those (without a warning): the forwarder runs every filter before any rule
export function filter(ctx: MigrationContext, s: FluentSection, earlier: Candidate[]): void {
  const pattern = unprefixed(ctx, s.arg);
  const where = ctx.where(s.file, s.line);
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
  for (const n of carried.notes) ctx.note(n.level, n.file, n.line, n.message);
  if (!carried.table) return;
  for (const m of before.filter((x) => overlaps(x, self) || overlaps(self, x)))
    ctx.info(
      s.file,
      s.line,
      `<filter ${s.arg || '**'}> comes after <match ${m.pattern}> (${m.where}): fluentd never runs it on the records that <match> takes, so it skips those tags (unless-pattern)`,
    );
  ctx.filters.push({ table: carried.table, origin: `<filter ${s.arg || '**'}> @type ${sectionType(s)} (${where})` });
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
