// the cost per event of a chain of five filters, against no filters, in the stage both sources share: app.ts's
// emit runs the filter chain and then the router on each batch. in-process, on the records each path hands over:
//   ingest: audit events as teleport-event-handler posts them (tag test.log, the time key taken out)
//   poller: audit events (events.log) and session recording events (session.<sid>.log) as the poller emits them
// the two configurations run alternately in the same process (rounds of 500-record batches), so a busy shared
// machine slows both alike; the figure is the ratio and the added ns per event.
//
//   npm run build && node dist/bench/filters.js [--events 100000] [--rounds 5] [--each]
import { parseArgs } from 'node:util';
import { createFilterChain, type FilterSpec } from '../src/filter/chain.js';
import { createRouter } from '../src/router/router.js';
import { sectionDefaults } from '../src/config/sections.js';
import { DEFAULT_MATCH } from '../src/config/schema.js';
import { generatedDataset } from '../src/fakes/teleport.js';
import type { SourceRecord } from '../src/record.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '5' },
    // also each of the five alone (ingest records), to see which one costs what
    each: { type: 'boolean', default: false },
  },
});
const N = Number(values.events);
const ROUNDS = Number(values.rounds);
const BATCH = 500;

/** five filters of the kinds people put in front of fluent-plugin-datadog */
export const FIVE: FilterSpec[] = [
  { type: 'grep', pattern: '**', grep: { exclude: [{ key: 'event', pattern: '^db\\.session\\.query$' }] } },
  {
    type: 'grep',
    pattern: '**',
    grep: {
      or: [
        {
          regexp: [
            { key: 'code', pattern: '^T' },
            { key: '$.server_labels.env', pattern: '^prod$' },
          ],
        },
      ],
    },
  },
  {
    type: 'record_transformer',
    pattern: '**',
    transform: {
      record: { env: 'prod', teleport_cluster: '${record["cluster_name"]}', kind: '${tag_parts[0]}' },
      removeKeys: ['$.addr.remote'],
    },
  },
  {
    type: 'redact',
    pattern: '**',
    redact: { keys: ['user'], mode: 'hmac', hmacKey: 'bench-hmac-key-0123456789abcdef' },
  },
  {
    type: 'record_transformer',
    pattern: '**',
    transform: { enableRuby: true, record: { login_name: '${record.dig("login")}' } },
  },
];

/** the same five, with greps that keep every record: the cost of running them, with nothing saved downstream */
export const FIVE_KEEP_ALL: FilterSpec[] = FIVE.map((f, i) =>
  i === 0
    ? { type: 'grep', pattern: '**', grep: { exclude: [{ key: 'event', pattern: '^never$' }] } }
    : i === 1
      ? {
          type: 'grep',
          pattern: '**',
          grep: {
            or: [
              {
                regexp: [
                  { key: 'event', pattern: '.' },
                  { key: '$.server_labels.env', pattern: '^prod$' },
                ],
              },
            ],
          },
        }
      : f,
);

function records(): { ingest: SourceRecord[]; poller: SourceRecord[] } {
  const ds = generatedDataset({
    dates: { start: new Date(Date.now() - 3_600_000), days: 1 },
    eventsPerDate: N,
    sessions: { count: 4, eventsPerSession: Math.ceil(N / 8) },
    seed: 7,
  });
  const ingest: SourceRecord[] = [];
  const poller: SourceRecord[] = [];
  for (let i = 0; i < Math.min(N, ds.events.length); i++) {
    const e = ds.events.eventAt(i);
    const { time, ...rest } = e.json as Record<string, unknown>;
    ingest.push({ tag: 'test.log', time: e.timeMs, record: rest });
    if (i % 2 === 0) poller.push({ tag: 'events.log', time: e.timeMs, record: e.json as Record<string, unknown> });
  }
  for (const sid of ds.sessionIds) {
    const rec = ds.recording(sid)!;
    for (let i = 0; i < rec.length && poller.length < N; i++) {
      const e = rec.eventAt(i);
      poller.push({ tag: `session.${sid}.log`, time: e.timeMs, record: e.json as Record<string, unknown> });
    }
  }
  return { ingest, poller };
}

// ns per event of filters + router over all records, in batches as emit sees them
function pass(recs: SourceRecord[], specs: FilterSpec[]): number {
  const chain = createFilterChain(specs, { hostname: 'bench' });
  const router = createRouter({
    ...sectionDefaults('routing'),
    rules: DEFAULT_MATCH.map((m) => ({ ...m })),
    unmatched: 'drop',
    hostname: 'bench',
  });
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < recs.length; i += BATCH) {
    const out = chain.apply(recs.slice(i, i + BATCH));
    for (const r of out) {
      const x = router.route(r);
      if (x.kind === 'send') sink += x.value.length;
    }
  }
  const ns = Number(process.hrtime.bigint() - t0);
  if (sink === 0) throw new Error('nothing routed');
  return ns / recs.length;
}

const { ingest, poller } = records();
console.log(`${ingest.length} ingest records, ${poller.length} poller records, ${ROUNDS} rounds, batches of ${BATCH}`);
for (const [name, recs] of [
  ['ingest', ingest],
  ['poller', poller],
] as const) {
  pass(recs, []); // warm up both code paths
  pass(recs, FIVE);
  const none: number[] = [];
  const five: number[] = [];
  const all: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    none.push(pass(recs, []));
    five.push(pass(recs, FIVE));
    all.push(pass(recs, FIVE_KEEP_ALL));
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const chain = createFilterChain(FIVE, { hostname: 'bench' });
  const kept = chain.apply(recs).length;
  console.log(
    `${name}: ${kept} of ${recs.length} records pass the five; per filter in/out ` +
      chain
        .stats()
        .map((f) => `${f.in}/${f.out}`)
        .join(' '),
  );
  const a = med(none);
  const b = med(five);
  console.log(
    `${name}: no filters ${a.toFixed(0)} ns/event, five filters ${b.toFixed(0)} ns/event (median of ${ROUNDS}): ` +
      `x${(b / a).toFixed(2)}, +${(b - a).toFixed(0)} ns/event; rounds none [${none.map((x) => x.toFixed(0)).join(', ')}] five [${five.map((x) => x.toFixed(0)).join(', ')}]`,
  );
  const c = med(all);
  console.log(
    `${name}: five filters keeping every record ${c.toFixed(0)} ns/event: x${(c / a).toFixed(2)}, +${(c - a).toFixed(0)} ns/event; rounds [${all.map((x) => x.toFixed(0)).join(', ')}]`,
  );
}

if (values.each) {
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  for (const [i, spec] of FIVE.entries()) {
    const none: number[] = [];
    const one: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      none.push(pass(ingest, []));
      one.push(pass(ingest, [spec]));
    }
    console.log(`ingest, filter ${i + 1} (${spec.type}) alone: +${(med(one) - med(none)).toFixed(0)} ns/event`);
  }
}
