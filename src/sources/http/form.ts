// application/x-www-form-urlencoded, parsed on bytes. URLSearchParams decodes values as utf-8 text, which
// corrupts a percent-encoded binary `msgpack=` field; here every value stays a Buffer until the caller decides.

const AMP = 0x26; // &
const EQ = 0x3d; // =
const PLUS = 0x2b; // +
const PCT = 0x25; // %

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** percent- and plus-decodes body[start, end); a malformed `%` escape is kept as is, like browsers do */
export function unescapeForm(body: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = body[i]!;
    if (c === PLUS) {
      out[n++] = 0x20;
    } else if (c === PCT && i + 2 < end) {
      const h = hex(body[i + 1]!);
      const l = hex(body[i + 2]!);
      if (h < 0 || l < 0) {
        out[n++] = c;
      } else {
        out[n++] = (h << 4) | l;
        i += 2;
      }
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

/** the fields of a form body; when a name repeats, the first value wins (as for query parameters) */
export function parseForm(body: Buffer): Map<string, Buffer> {
  const fields = new Map<string, Buffer>();
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(AMP, start);
    if (end < 0) end = body.length;
    if (end > start) {
      let eq = body.indexOf(EQ, start);
      if (eq < 0 || eq > end) eq = end;
      const name = unescapeForm(body, start, eq).toString('utf8');
      const value = eq < end ? unescapeForm(body, eq + 1, end) : Buffer.alloc(0);
      if (!fields.has(name)) fields.set(name, value);
    }
    start = end + 1;
  }
  return fields;
}
