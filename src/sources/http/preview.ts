// what an error may say about a request's body: a client's bytes are never echoed as they are (a gzip body sent
// without Content-Encoding once came back raw in the 400), only a short printable preview or a description.

/** at most `max` characters of `text`, with control characters, U+FFFD and other non-printables as `.` */
export function printable(text: string, max = 40): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  // C0, DEL and C1 controls, the replacement character, lone surrogates, bidi and other format characters
  const clean = cut.replace(
    /[\x00-\x1f\x7f-\x9f\ufffd\ud800-\udfff\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g,
    '.',
  );
  return text.length > max ? `${clean}...` : clean;
}

/** true when the start of the body is not text: a nul or other control byte, or bytes that are not utf-8 */
export function looksBinary(body: Buffer): boolean {
  const head = body.subarray(0, 512);
  for (const b of head) if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f) return true;
  // a multi-byte character cut at the 512th byte is not binary: decode a few bytes less
  return head
    .subarray(0, Math.max(0, head.length - 3))
    .toString('utf8')
    .includes('\ufffd');
}

/** the compression a body's magic bytes show, when it came without Content-Encoding */
export function compressionOf(body: Buffer): 'gzip' | 'zlib' | null {
  if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) return 'gzip';
  if (body.length >= 2 && (body[0]! & 0x0f) === 8 && ((body[0]! << 8) | body[1]!) % 31 === 0 && body[0]! >> 4 <= 7) {
    return 'zlib';
  }
  return null;
}

/** a clause that says what the body is, without its bytes, for an error about a binary body */
export function describeBinary(body: Buffer): string {
  const compressed = compressionOf(body);
  if (compressed === 'gzip') {
    return `the body is gzip-compressed (${body.length} bytes) but the request has no Content-Encoding: add the header Content-Encoding: gzip`;
  }
  if (compressed === 'zlib') {
    return `the body is deflate-compressed (${body.length} bytes) but the request has no Content-Encoding: add the header Content-Encoding: deflate`;
  }
  return `the body is binary (${body.length} bytes), not text`;
}
