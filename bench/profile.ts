// summarizes a v8 .cpuprofile (node --cpu-prof): self time by area (our modules, each dependency, node
// internals, gc, idle), the top functions by self time, and the top functions of src/ by inclusive time.
//
//   node --import tsx bench/profile.ts <file.cpuprofile> [--top 25] [--skip 3]
// --skip leaves out the first seconds of the profile (the process's start-up and the benchmark's warm-up).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** where a frame's code lives: src/<area>/<file>, a package, node internals, or v8's pseudo frames */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const src = /\/(src|bench)\/(.+?)\.(?:ts|js)$/.exec(url);
  if (src) return `${src[1]}/${src[2]}`;
  return url;
}

export interface Summary {
  totalMs: number;
  byArea: Array<[string, number]>;
  bySelf: Array<[string, number]>;
  byInclusive: Array<[string, number]>;
}

/** `skipMs`: leave out the samples of the first milliseconds (start-up and warm-up) */
export function summarize(p: Profile, skipMs = 0): Summary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = 0;
  let first = -1;
  for (let i = 0; i < p.samples.length; i++) {
    at += (p.timeDeltas[i] ?? 0) / 1000;
    if (at < skipMs) continue;
    if (first < 0) first = at;
    const id = p.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  }
  const name = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${areaOf(f)}:${f.lineNumber + 1}`;
  const area = new Map<string, number>();
  const fnSelf = new Map<string, number>();
  for (const [id, ms] of self) {
    const f = byId.get(id)!.callFrame;
    area.set(areaOf(f), (area.get(areaOf(f)) ?? 0) + ms);
    fnSelf.set(name(f), (fnSelf.get(name(f)) ?? 0) + ms);
  }
  // inclusive time of our own functions, each counted once per stack even when recursive
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, number>();
  for (const [id, ms] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (!/\/src\//.test(f.url)) continue;
      const key = name(f);
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + ms);
    }
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    totalMs: (p.endTime - p.startTime) / 1000 - Math.max(0, first),
    byArea: sorted(area),
    bySelf: sorted(fnSelf),
    byInclusive: sorted(incl),
  };
}

if (import.meta.filename === process.argv[1]) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, skip: { type: 'string', default: '0' } },
  });
  const top = Number(values.top);
  for (const file of positionals) {
    const s = summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(values.skip) * 1000);
    const busy = s.byArea.filter(([a]) => a !== '(idle)').reduce((n, [, ms]) => n + ms, 0);
    const pct = (ms: number) => `${((100 * ms) / busy).toFixed(1)}%`;
    console.log(
      `${file}: ${(s.totalMs / 1000).toFixed(1)} s profiled, ${(busy / 1000).toFixed(1)} s on the main thread (not idle)`,
    );
    console.log('\nself time by area (share of non-idle main-thread time):');
    for (const [a, ms] of s.byArea.slice(0, top)) if (a !== '(idle)') console.log(`  ${pct(ms).padStart(6)}  ${a}`);
    console.log('\ntop functions by self time:');
    for (const [f, ms] of s.bySelf.slice(0, top))
      if (!f.startsWith('(idle)')) console.log(`  ${pct(ms).padStart(6)}  ${f}`);
    console.log('\nour functions (src/) by inclusive time:');
    for (const [f, ms] of s.byInclusive.slice(0, top)) console.log(`  ${pct(ms).padStart(6)}  ${f}`);
  }
}
