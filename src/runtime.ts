// v8 heap tuning applied at start-up. by default v8 lets the old generation grow to up to 4x what survived the last
// full collection when allocation is fast: a busy export ran a sawtooth up to ~260 MiB of rss (BENCHMARKS.md). a
// growing factor bounds that (100%: at most twice the live heap) without a hard heap cap: a cap turns a burst of
// large requests into an out-of-memory crash loop, a factor only makes collections more frequent. v8 reads it at
// every collection, but follows a value set after start only when one was set before the heap's first ones: the
// cli sets the default first thing (primeHeapGrowingPercent), the app then the configured one. node's own
// --heap-growing-percent (NODE_OPTIONS or the command line) wins.
import v8 from 'node:v8';

const FLAG = '--heap-growing-percent';

/** runtime.heap-growing-percent's default (the schema's), set by primeHeapGrowingPercent before anything loads */
export const HEAP_GROWING_PERCENT_DEFAULT = 100;

/** the percent in effect afterwards, or null when node was started with the flag (left alone) */
export function applyHeapGrowingPercent(
  percent: number,
  given: { execArgv: readonly string[]; nodeOptions: string | undefined } = {
    execArgv: process.execArgv,
    nodeOptions: process.env.NODE_OPTIONS,
  },
): number | null {
  const named = (s: string) => s.startsWith(FLAG) || s.startsWith('--heap_growing_percent');
  if (given.execArgv.some(named) || (given.nodeOptions ?? '').split(/\s+/).some(named)) return null;
  // 0 is v8's own adaptive default
  v8.setFlagsFromString(`${FLAG}=${percent}`);
  return percent;
}

/**
 * how the shipped entry points start node: the Dockerfile's ENV, the systemd unit's Environment= and the bin's
 * shebang carry these (test/deploy checks they agree), and the benchmarks start the forwarder the same way.
 * - a young generation of 2 x 4 MiB semi-spaces instead of 2 x 16: the poller's export allocates fast, and v8
 *   keeps its new space at the maximum once it has grown there (-20 MiB of rss);
 * - two malloc arenas instead of glibc's one per thread that allocates: leveldb's compaction, the libuv pool
 *   (gzip, leveldb writes) and grpc each grew their own, ~20 MiB of rss in fragments.
 */
export const LAUNCH = Object.freeze({ semiSpaceMiB: 4, mallocArenas: 2 });

/** the node flags and the environment of LAUNCH */
export function launchFlags(): { flags: string[]; env: Record<string, string> } {
  return {
    flags: [`--max-semi-space-size=${LAUNCH.semiSpaceMiB}`],
    env: { MALLOC_ARENA_MAX: String(LAUNCH.mallocArenas) },
  };
}

/**
 * the default percent, set first thing at start-up (cli/prime.ts). v8 only follows a percent set later (the
 * configured one, in startApp) when one was set this early: set for the first time once the app had loaded, 50
 * changed nothing, and the ingest at 10 connections peaked at 117-122 MiB; set here first, the same 50 later gave
 * 99-105 MiB, and 100 gave 104-116 (BENCHMARKS.md)
 */
export function primeHeapGrowingPercent(given?: Parameters<typeof applyHeapGrowingPercent>[1]): number | null {
  return applyHeapGrowingPercent(HEAP_GROWING_PERCENT_DEFAULT, given);
}
