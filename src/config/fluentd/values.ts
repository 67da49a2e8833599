// fluentd's value types, for params the migration carries over. pure.

/** fluentd's bool: true/yes, false/no, and a key with no value is true; undefined when it is none of those */
export function fluentBool(value: string): boolean | undefined {
  const v = value.trim();
  if (v === '' || v === 'true' || v === 'yes') return true;
  if (v === 'false' || v === 'no') return false;
  return undefined;
}

/** fluentd's size: bytes, or k/m/g/t (powers of 1024); undefined when it does not parse */
export function fluentSize(value: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[bB]?\s*$/.exec(value);
  if (!m) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()]!;
  return Math.round(Number(m[1]) * mult);
}

/** a whole number; undefined when it is not one */
export function fluentInt(value: string): number | undefined {
  const v = value.trim();
  return /^-?\d+$/.test(v) ? Number(v) : undefined;
}
