// the processes a benchmark runs: the forwarder through its cli, the bare server, the intake. each is its own
// process so /proc tells whose cpu is whose. every child is registered and killed (by its pid) when the
// benchmark exits, whatever the reason, and a deadline ends a benchmark that hangs.
import { spawn, fork, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonLines } from '../test/helpers/json-lines.js';
import { launchFlags } from '../src/runtime.js';

const here = import.meta.dirname;
/** true when running compiled javascript from dist/bench */
export const compiled = import.meta.filename.endsWith('.js');
export const repoRoot = compiled ? join(here, '..', '..') : join(here, '..');

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
}

/** ends the benchmark (and its children) if it runs past `ms` */
export function deadline(ms: number): void {
  setTimeout(() => {
    process.stderr.write(`benchmark deadline of ${Math.round(ms / 1000)} s reached: stopping\n`);
    process.exit(3);
  }, ms).unref();
}

/** node arguments that run another bench script the way this one runs (compiled, or through tsx) */
export function benchScript(name: string): string[] {
  return compiled ? [join(here, `${name}.js`)] : ['--import', 'tsx', join(here, `${name}.ts`)];
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * node arguments that run the forwarder's cli: dist/src/cli/main.js when it is built and newer than src/
 * (no loader in the measured process), else src/cli/main.ts through tsx. `mode` forces one, or names a
 * compiled main.js elsewhere (a private build, so others rebuilding dist/ cannot change it mid-run).
 */
export function cliArgs(mode = 'auto'): { args: string[]; how: string } {
  if (mode.endsWith('.js')) return { args: [mode], how: `node ${mode}` };
  const dist = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  const src = join(repoRoot, 'src');
  const fresh = existsSync(dist) && (!existsSync(src) || statSync(dist).mtimeMs >= newestMtime(src) - 1);
  if (mode === 'dist' || (mode === 'auto' && fresh)) {
    if (!existsSync(dist)) throw new Error('dist/src/cli/main.js is missing: run npm run build');
    return { args: [dist], how: `node ${dist}` };
  }
  if (mode !== 'auto' && mode !== 'tsx')
    throw new Error(`--cli must be auto, dist, tsx or a path to main.js, not ${mode}`);
  return { args: ['--import', 'tsx', join(src, 'cli', 'main.ts')], how: 'node --import tsx src/cli/main.ts' };
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** parsed json lines of stdout so far */
  lines: Array<Record<string, any>>;
  stderr(): string;
  waitForLine(pred: (l: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

/** LAUNCH as it reads on a command line: `--max-semi-space-size=4 MALLOC_ARENA_MAX=2` */
export function launchDescription(): string {
  const { flags, env } = launchFlags();
  return [...flags, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].join(' ');
}

/** spawns node with `args` (after LAUNCH's flags with opts.launch); stdout is read as json lines (the forwarder's logs), stdin stays open */
export function spawnNode(
  args: string[],
  env: Record<string, string> = {},
  opts: { cwd?: string; launch?: boolean } = {},
): Child {
  // launch: node started as the shipped entry points start it (src/runtime.ts LAUNCH)
  const launch = opts.launch ? launchFlags() : { flags: [], env: {} };
  const proc = spawn(process.execPath, [...launch.flags, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...launch.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(proc);
  const out = readJsonLines(proc.stdout!, 10_000);
  const lines = out.lines;
  let err = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (c: string) => {
    err += c;
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, sig) => {
      children.delete(proc);
      resolve(code ?? sig ?? -1);
    }),
  );
  const child: Child = {
    proc,
    pid: proc.pid!,
    lines,
    stderr: () => err,
    exited,
    waitForLine(pred, timeoutMs = 60_000) {
      return out.waitFor(pred, timeoutMs, exited, {
        timeout: () => `no matching line within ${timeoutMs} ms; stderr: ${err.slice(-2000)}`,
        exit: (code) => `process exited (${code}) before the expected line; stderr: ${err.slice(-2000)}`,
      });
    },
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  return child;
}

export interface IntakeStats {
  logCount: number;
  ids: number;
  requests: number;
  accepted: number;
  rejected: number;
  maxEntriesSeen: number;
}

export interface IntakeProcess {
  url: string;
  pid: number;
  apiKey: string;
  stats(): Promise<IntakeStats>;
  /** polls until at least `n` logs arrived; rejects after timeoutMs */
  waitForLogs(n: number, timeoutMs?: number): Promise<IntakeStats>;
  close(): Promise<void>;
}

export async function startIntakeProcess(idField = 'uid', delayMs = 0): Promise<IntakeProcess> {
  const apiKey = 'bench0123456789abcdef0123456789ab';
  const args = benchScript('intake-server');
  const child = fork(args[args.length - 1]!, [], {
    cwd: repoRoot,
    execArgv: args.slice(0, -1),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      BENCH_DD_API_KEY: apiKey,
      BENCH_ID_FIELD: idField,
      BENCH_INTAKE_DELAY_MS: String(delayMs),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  const exited = new Promise<void>((r) =>
    child.on('exit', () => {
      children.delete(child);
      r();
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: any) =>
      m?.type === 'ready' ? resolve(m.url) : reject(new Error('intake did not start')),
    );
    child.once('exit', (code) => reject(new Error(`intake exited (${code}) before listening`)));
  });
  const stats = () =>
    new Promise<IntakeStats>((resolve, reject) => {
      const onMsg = (m: any) => {
        if (m?.type === 'stats') {
          child.off('message', onMsg);
          resolve(m as IntakeStats);
        }
      };
      child.on('message', onMsg);
      if (!child.connected) reject(new Error('intake is gone'));
      else child.send({ type: 'stats' });
    });
  return {
    url,
    pid: child.pid!,
    apiKey,
    stats,
    async waitForLogs(n, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const s = await stats();
        if (s.logCount >= n) return s;
        if (Date.now() > end) throw new Error(`intake has ${s.logCount} of ${n} logs after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      if (child.connected) child.disconnect();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** writes a file and returns its path */
export function writeText(dir: string, name: string, text: string, mode = 0o600): string {
  const file = join(dir, name);
  writeFileSync(file, text, { mode });
  return file;
}
