// v8 heap tuning applied at start-up. by default v8 lets the old generation grow to up to 4x what survived the last
// full collection when allocation is fast: a busy export ran a sawtooth up to ~260 MiB of rss (BENCHMARKS.md). a
// growing factor bounds that (100%: at most twice the live heap) without a hard heap cap: a cap turns a burst of
// large requests into an out-of-memory crash loop, a factor only makes collections more frequent. v8 reads it at
// every collection, so it can be set after start; node's own --heap-growing-percent (NODE_OPTIONS or the command
// line) wins.
import v8 from 'node:v8';

const FLAG = '--heap-growing-percent';

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
