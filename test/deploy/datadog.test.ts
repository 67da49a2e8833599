// the Datadog assets: each file is read by Datadog's own API client models (the shapes its API accepts: required
// fields, enums, oneOf processors and widgets) and any field those models do not know is an error. then the
// content: the pipeline's processors, the monitors' queries and thresholds, the dashboard's widgets, and the
// strings they rely on in the forwarder's own logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { v1 } from '@datadog/datadog-api-client';
import { DEFAULT_MATCH } from '../../src/config/schema.js';
import { readRepoFile, repoRoot } from './assets.js';

const dir = 'deploy/datadog';
const readJson = (rel: string): any => JSON.parse(readRepoFile(dir, rel));
const monitorFiles = readdirSync(join(repoRoot, dir, 'monitors')).filter((f) => f.endsWith('.json'));

/** what the API client could not read: unknown fields, values outside an enum, shapes no oneOf accepts */
function unreadable(value: unknown, path: string, out: string[] = []): string[] {
  if (value === null || typeof value !== 'object' || value instanceof Date) return out;
  const ctor = (value as object).constructor?.name;
  if (ctor === 'UnparsedObject') {
    out.push(`${path}: not a shape the API accepts: ${JSON.stringify((value as { _data: unknown })._data).slice(0, 300)}`);
    return out;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => unreadable(v, `${path}[${i}]`, out));
    return out;
  }
  const rec = value as Record<string, unknown>;
  const extra = rec.additionalProperties as Record<string, unknown> | undefined;
  if (extra && Object.keys(extra).length > 0) out.push(`${path}: fields ${Object.keys(extra).join(', ')} are not part of ${ctor}`);
  for (const [k, v] of Object.entries(rec)) if (k !== 'additionalProperties') unreadable(v, `${path}.${k}`, out);
  return out;
}

function check(json: unknown, type: string): any {
  const model = v1.ObjectSerializer.deserialize(json, type, '');
  assert.deepEqual(unreadable(model, type), [], `${type} as Datadog's API reads it`);
  return model;
}

test('the checker itself: a misspelled field, a bad enum and a missing required field are caught', () => {
  const ok = { name: 'p', processors: [{ type: 'date-remapper', sources: ['time'] }] };
  assert.deepEqual(unreadable(v1.ObjectSerializer.deserialize(ok, 'LogsPipeline', ''), 'p'), []);
  const typo = { name: 'p', processors: [{ type: 'date-remapper', sources: ['time'], is_enable: true }] };
  assert.notDeepEqual(unreadable(v1.ObjectSerializer.deserialize(typo, 'LogsPipeline', ''), 'p'), []);
  const badType = { name: 'p', processors: [{ type: 'date-remaper', sources: ['time'] }] };
  assert.notDeepEqual(unreadable(v1.ObjectSerializer.deserialize(badType, 'LogsPipeline', ''), 'p'), []);
  assert.throws(() => v1.ObjectSerializer.deserialize({ processors: [] }, 'LogsPipeline', ''), /required/);
  const badMonitor = { type: 'log alert', query: 'x', options: { thresholds: { critical: 1, critcal: 2 } } };
  assert.notDeepEqual(unreadable(v1.ObjectSerializer.deserialize(badMonitor, 'Monitor', ''), 'm'), []);
});

test('pipeline: the shape of the logs pipeline API (v1), for source:teleport', () => {
  const raw = readJson('pipeline.json');
  check(raw, 'LogsPipeline');
  assert.equal(raw.filter.query, `source:${DEFAULT_MATCH[0].source}`, 'the source the forwarder sets by default');
  assert.equal(raw.is_enabled, true);
  assert.equal(raw.id, undefined, 'no id: the API assigns it');
});

test("pipeline: the facets of Datadog's Teleport integration are filled from our records, originals kept", () => {
  const p = readJson('pipeline.json').processors as any[];
  // the facets integrations-core's teleport/assets/logs/teleport.yaml declares, and the record keys that hold them
  const facets: Record<string, string> = {
    'teleport.user': 'user',
    'teleport.event_type': 'event',
    'teleport.cluster_name': 'cluster_name',
    'teleport.uid': 'uid',
    'teleport.eid': 'ei',
    'teleport.code': 'code',
  };
  for (const [target, source] of Object.entries(facets)) {
    const r = p.filter((x) => x.type === 'attribute-remapper' && x.target === target);
    assert.equal(r.length, 1, `one remapper to ${target}`);
    assert.deepEqual(r[0].sources, [source], target);
    assert.equal(r[0].source_type, 'attribute');
    assert.equal(r[0].target_type, 'attribute', `${target} is an attribute (a facet), not a tag`);
    assert.equal(r[0].preserve_source, true, `${target}: @${source} stays for the dashboard and monitors`);
    assert.equal(r[0].override_on_conflict, false);
    assert.ok(p.indexOf(r[0]) > p.findIndex((x) => x.type === 'status-remapper'));
  }
});

test('pipeline: date from @timestamp then time, status from status, then the attribute remappers', () => {
  const p = readJson('pipeline.json').processors as any[];
  assert.equal(p[0].type, 'date-remapper', 'the date remapper comes first');
  assert.deepEqual(p[0].sources, ['@timestamp', 'time']);
  const status = p.find((x) => x.type === 'status-remapper');
  assert.deepEqual(status?.sources, ['status']);
  const remapped = (source: string) => p.find((x) => (x.type === 'attribute-remapper' && x.sources.includes(source)) || (x.type === 'grok-parser' && x.source === source));
  for (const attr of ['event', 'user', 'cluster_name', 'addr.remote']) assert.ok(remapped(attr), `${attr} is remapped or parsed`);
  for (const x of p.filter((y) => y.type === 'attribute-remapper')) {
    assert.equal(x.preserve_source, true, `${x.name}: the original attribute stays (queries on @${x.sources[0]} keep working)`);
  }
  const grok = remapped('addr.remote');
  assert.match(grok.grok.match_rules, /network\.client\.ip/);
  assert.ok(grok.samples.length >= 2);
  assert.ok(p.every((x) => x.is_enabled === true && typeof x.name === 'string' && x.name.length > 0));
  // the README names the facets the pipeline cannot create
  const readme = readRepoFile(dir, 'README.md');
  for (const facet of ['@event', '@user', '@cluster_name', '@code', '@addr.remote', '@sid']) assert.ok(readme.includes('`' + facet + '`'), facet);
});

const MONITOR_QUERY = /^logs\("((?:[^"\\]|\\.)*)"\)\.index\("[^"]*"\)\.rollup\("count"\)(?:\.by\("(@[\w.]+)"\))?\.last\("(\d+)([mhd])"\) ([<>]=?) (\d+(?:\.\d+)?)$/;

test('monitors: the shape of the monitor API (v1), log alerts whose threshold is the critical threshold', () => {
  assert.deepEqual(monitorFiles.sort(), ['dead-letters.json', 'failed-logins-per-user.json', 'no-events.json']);
  for (const file of monitorFiles) {
    const raw = readJson(`monitors/${file}`);
    check(raw, 'Monitor');
    assert.equal(raw.type, 'log alert', file);
    const m = MONITOR_QUERY.exec(raw.query);
    assert.ok(m, `${file}: a log monitor query logs(...).index(...).rollup("count")[.by(...)].last(...) <op> <n>: ${raw.query}`);
    assert.equal(Number(m[6]), raw.options.thresholds.critical, `${file}: the query's threshold is options.thresholds.critical`);
    if (raw.options.thresholds.warning !== undefined) {
      const [w, c] = [raw.options.thresholds.warning, raw.options.thresholds.critical];
      assert.ok(m[5]!.startsWith('>') ? w < c : w > c, `${file}: the warning comes before the critical`);
    }
    if (m[2]) assert.ok(raw.message.includes(`{{${m[2]}.name}}`), `${file}: the message names the group (${m[2]})`);
    assert.ok(raw.name && raw.message, file);
    assert.equal(raw.id, undefined, `${file}: no id`);
  }
});

test('monitors: failed logins per user, no events, dead letters from the forwarder\'s own log line', () => {
  const failed = MONITOR_QUERY.exec(readJson('monitors/failed-logins-per-user.json').query)!;
  assert.match(failed[1]!, /source:teleport/);
  assert.match(failed[1]!, /@event:user\.login/);
  assert.match(failed[1]!, /@success:false/);
  assert.equal(failed[2], '@user');

  const none = MONITOR_QUERY.exec(readJson('monitors/no-events.json').query)!;
  assert.equal(none[1], 'source:teleport');
  assert.equal(none[5], '<');
  assert.equal(none[2], undefined, 'not grouped: a group that stops reporting would not alert');

  const dead = MONITOR_QUERY.exec(readJson('monitors/dead-letters.json').query)!;
  const phrase = /\\"([^"\\]+)\\"/.exec(dead[1]!)?.[1];
  assert.ok(phrase, 'a phrase search');
  assert.match(dead[1]!, /service:teleport-datadog-forwarder/);
  assert.equal(dead[5], '>');
  assert.equal(Number(dead[6]), 0);
  // the phrase must be in the sink's log line, or the monitor never fires
  const sink = readRepoFile('src/sinks/datadog/sink.ts');
  assert.ok(sink.includes(phrase), `the sink logs "${phrase}" when it dead-letters`);
});

test('dashboard: the shape of the dashboard API (v1), with the widgets the brief asks for', () => {
  const raw = readJson('dashboard.json');
  check(raw, 'Dashboard');
  const defs = (raw.widgets as any[]).map((w) => w.definition);
  const byTitle = (t: string) => defs.find((d) => d.title === t);
  const queries = (d: any): any[] => (d.requests ?? []).flatMap((r: any) => r.queries ?? []);
  const events = byTitle('Events by type');
  assert.equal(queries(events)[0].group_by[0].facet, '@event');
  const failed = byTitle('Failed logins by user');
  assert.equal(failed.type, 'toplist');
  assert.match(queries(failed)[0].search.query, /@event:user\.login @success:false/);
  assert.equal(queries(failed)[0].group_by[0].facet, '@user');
  assert.match(queries(byTitle('Session starts'))[0].search.query, /@event:session\.start/);
  assert.match(byTitle('Lock events').requests[0].query.query_string, /lock\.created/);
  assert.ok(defs.some((d) => d.type === 'note' && /metrics/.test(d.content)), 'a note on the forwarder\'s own metrics');
  // every formula names a query of its request
  for (const d of defs) {
    for (const r of d.requests ?? []) {
      const names = new Set((r.queries ?? []).map((q: any) => q.name));
      for (const f of r.formulas ?? []) assert.ok(names.has(f.formula), `${d.title}: formula ${f.formula}`);
    }
  }
  // the cluster variable filters on the tag the pipeline makes from cluster_name
  const tagTarget = (readJson('pipeline.json').processors as any[]).find((x) => x.target_type === 'tag')?.target;
  assert.equal(raw.template_variables[0].prefix, tagTarget);
  for (const d of defs) {
    for (const q of queries(d)) {
      if (!q.search.query.includes('teleport-datadog-forwarder')) assert.match(q.search.query, /^source:teleport \$cluster\b/, `${d.title}: Teleport events of the chosen cluster`);
    }
  }
});
