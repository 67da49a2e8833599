// a strict parser for the small YAML subset the role file uses (no yaml package here): documents split by `---`,
// block mappings, block sequences of mappings, flow sequences of quoted strings, plain and quoted scalars,
// full-line comments. anything else throws, so a malformed file fails the test instead of parsing loosely.

type Yaml = string | Yaml[] | { [key: string]: Yaml };
interface Line {
  indent: number;
  text: string;
  no: number;
}

export function parseYamlDocuments(text: string): Yaml[] {
  const docs: Line[][] = [[]];
  text.split('\n').forEach((raw, i) => {
    if (raw.includes('\t')) throw new Error(`line ${i + 1}: tab in indentation`);
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    if (trimmed === '---') {
      docs.push([]);
      return;
    }
    docs[docs.length - 1]!.push({ indent: raw.length - raw.trimStart().length, text: trimmed, no: i + 1 });
  });
  return docs
    .filter((d) => d.length > 0)
    .map((lines) => {
      const [value, next] = parseBlock(lines, 0, lines[0]!.indent);
      if (next !== lines.length) throw new Error(`line ${lines[next]!.no}: unexpected indentation`);
      return value;
    });
}

function parseBlock(lines: Line[], i: number, indent: number): [Yaml, number] {
  if (lines[i]!.text.startsWith('- ')) return parseSequence(lines, i, indent);
  return parseMapping(lines, i, indent);
}

function parseSequence(lines: Line[], i: number, indent: number): [Yaml[], number] {
  const out: Yaml[] = [];
  while (i < lines.length && lines[i]!.indent === indent && lines[i]!.text.startsWith('- ')) {
    const item = lines[i]!;
    // the item's first key sits after "- ": re-read it as a line indented two more
    const copy = [...lines];
    copy[i] = { indent: indent + 2, text: item.text.slice(2).trim(), no: item.no };
    const [value, next] = parseMapping(copy, i, indent + 2);
    out.push(value);
    i = next;
  }
  return [out, i];
}

function parseMapping(lines: Line[], i: number, indent: number): [{ [key: string]: Yaml }, number] {
  const out: { [key: string]: Yaml } = {};
  while (i < lines.length && lines[i]!.indent === indent) {
    const line = lines[i]!;
    const m = /^([A-Za-z_][\w.-]*):(?:\s+(.*))?$/.exec(line.text);
    if (!m) throw new Error(`line ${line.no}: expected "key: value", got ${JSON.stringify(line.text)}`);
    const key = m[1]!;
    if (key in out) throw new Error(`line ${line.no}: duplicate key ${key}`);
    if (m[2] !== undefined && m[2] !== '') {
      out[key] = scalar(m[2], line.no);
      i += 1;
      continue;
    }
    const child = lines[i + 1];
    if (!child || child.indent <= indent) throw new Error(`line ${line.no}: key ${key} has no value`);
    const [value, next] = parseBlock(lines, i + 1, child.indent);
    out[key] = value;
    i = next;
  }
  if (i < lines.length && lines[i]!.indent > indent) throw new Error(`line ${lines[i]!.no}: unexpected indentation`);
  return [out, i];
}

function scalar(text: string, no: number): Yaml {
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) throw new Error(`line ${no}: unterminated flow sequence`);
    const inner = text.slice(1, -1).trim();
    return inner === '' ? [] : inner.split(',').map((s) => scalar(s.trim(), no));
  }
  const q = /^'([^']*)'$/.exec(text) ?? /^"([^"]*)"$/.exec(text);
  if (q) return q[1]!;
  if (/^['"[\]{}]|[{}]|: |#/.test(text)) throw new Error(`line ${no}: unsupported scalar ${JSON.stringify(text)}`);
  return text;
}
