// tests that build "today's" events and chunks from the wall clock break if UTC midnight passes under them
// (events a few seconds old land on yesterday, today's date changes between two reads): such a test file
// awaits this first, which waits until the clock is clear of midnight. outside those minutes it returns at once.
import { setTimeout as sleep } from 'node:timers/promises';

const DAY = 86_400_000;

/** resolves once now is at least `after` ms past UTC midnight and more than `before` ms before the next */
export async function awayFromUtcMidnight(before = 5 * 60_000, after = 60_000): Promise<void> {
  const intoDay = Date.now() % DAY;
  const wait = intoDay < after ? after - intoDay : intoDay > DAY - before ? DAY - intoDay + after : 0;
  if (wait === 0) return;
  process.stderr.write(`waiting ${Math.ceil(wait / 1000)} s to be clear of UTC midnight\n`);
  await sleep(wait);
}
