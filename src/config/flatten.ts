// a parsed TOML document as dotted leaf keys, the shape the schema names its settings in. pure.

/** dotted leaf keys of a parsed TOML document; arrays (of tables too: match, filter) and dates are kept whole */
export function flatten(doc: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(doc)) {
    const key = prefix + k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date))
      out.push(...flatten(v as Record<string, unknown>, key + '.'));
    else out.push([key, v]);
  }
  return out;
}
