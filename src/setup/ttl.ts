// configure's --ttl, parsed as its flag is read (apart from material.ts, which loads the certificate generator)
import { parseDuration } from '../config/values.js';
import { SetupError } from '../errors.js';

/** `--ttl`: a go duration ("87600h", "720h30m") or a number of hours -> hours */
export function parseTtlHours(value: string | number): number {
  if (typeof value === 'number') return value;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  try {
    return parseDuration(value) / 3_600_000;
  } catch (err) {
    throw new SetupError(`--ttl: ${(err as Error).message}`);
  }
}
