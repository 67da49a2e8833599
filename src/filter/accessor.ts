// fluentd's record accessor (plugin_helper/record_accessor.rb): `$.a.b[0]` and `$['a']["b"][0]` name nested
// values, anything else is one top-level key, as written. read with ruby's Hash#dig semantics, which throw where
// dig would (a step into a string or number); fluentd's grep keeps such a record, remove_keys skips it. pure.

export type AccessorKey = string | number;

export interface Accessor {
  /** as configured, for messages */
  readonly text: string;
  /** the path: one element for a top-level key */
  readonly keys: readonly AccessorKey[];
}

export class AccessorSyntaxError extends Error {}

export function parseAccessor(param: string): Accessor {
  let keys: AccessorKey[];
  if (param.startsWith('$.')) keys = parseDot(param);
  else if (param.startsWith('$[')) keys = parseBracket(param);
  else keys = [param];
  return Object.freeze({ text: param, keys: Object.freeze(keys) });
}

function parseDot(param: string): AccessorKey[] {
  const result: AccessorKey[] = [];
  // ruby's split drops trailing empty strings
  const parts = param.slice(2).split('.');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  for (const key of parts) {
    if (key.includes('[')) result.push(...parseDotArray(key, param));
    else result.push(key);
  }
  if (result.length === 0) throw new AccessorSyntaxError(`empty keys in dot notation: ${param}`);
  for (const k of result)
    if (typeof k === 'string' && /\s/.test(k))
      throw new AccessorSyntaxError(`whitespace character is not allowed in dot notation. Use bracket notation: ${k}`);
  return result;
}

function parseDotArray(key: string, param: string): AccessorKey[] {
  const start = key.indexOf('[');
  const result: AccessorKey[] = start === 0 ? [] : [key.slice(0, start)];
  let rest = key.slice(start + 1);
  let inBracket = true;
  while (rest !== '') {
    if (inBracket) {
      const i = rest.indexOf(']');
      if (i < 0) throw new AccessorSyntaxError(`'[' found but ']' not found. Invalid syntax: ${param}`);
      result.push(rubyInteger(rest.slice(0, i), param));
      rest = rest.slice(i + 1);
      inBracket = false;
    } else {
      const i = rest.indexOf('[');
      if (i < 0) throw new AccessorSyntaxError(`found more characters after ']'. Invalid syntax: ${param}`);
      rest = rest.slice(i + 1);
      inBracket = true;
    }
  }
  return result;
}

function parseBracket(param: string): AccessorKey[] {
  const result: AccessorKey[] = [];
  let rest = param.slice(1);
  let inBracket = false;
  while (rest !== '') {
    if (inBracket) {
      const q = rest[0];
      if (q === "'" || q === '"') {
        // fluentd looks for "']" first, then '"]', and wants the quotes to agree
        let i = rest.indexOf("']");
        if (i < 0) i = rest.indexOf('"]');
        if (i < 0) throw new AccessorSyntaxError(`Incomplete bracket. Invalid syntax: ${param}`);
        if (rest[i] !== q) throw new AccessorSyntaxError(`Mismatched quotes. Invalid syntax: ${param}`);
        result.push(rest.slice(1, i));
        rest = rest.slice(i + 2);
      } else {
        const i = rest.indexOf(']');
        if (i < 0) throw new AccessorSyntaxError(`'[' found but ']' not found. Invalid syntax: ${param}`);
        result.push(rubyInteger(rest.slice(0, i), param));
        rest = rest.slice(i + 1);
      }
      inBracket = false;
    } else {
      const i = rest.indexOf('[');
      if (i < 0) throw new AccessorSyntaxError(`found more characters after ']'. Invalid syntax: ${param}`);
      rest = rest.slice(i + 1);
      inBracket = true;
    }
  }
  if (result.length === 0) throw new AccessorSyntaxError(`empty keys in bracket notation: ${param}`);
  return result;
}

// ruby's Integer("…"): optional sign, digits (underscores between them), 0x/0o/0b prefixes; else an error
function rubyInteger(s: string, param: string): number {
  const t = s.trim();
  const m = /^([+-]?)(0x[0-9a-f]+(?:_[0-9a-f]+)*|0b[01]+(?:_[01]+)*|0o?[0-7]+(?:_[0-7]+)*|\d+(?:_\d+)*)$/i.exec(t);
  if (!m) {
    if (s === '') throw new AccessorSyntaxError(`missing array index in '[]'. Invalid syntax: ${param}`);
    throw new AccessorSyntaxError(`invalid value for Integer(): ${JSON.stringify(s)} in ${param}`);
  }
  const body = m[2]!.replace(/_/g, '').toLowerCase();
  let n: number;
  if (body.startsWith('0x')) n = parseInt(body.slice(2), 16);
  else if (body.startsWith('0b')) n = parseInt(body.slice(2), 2);
  else if (body.startsWith('0o')) n = parseInt(body.slice(2), 8);
  else if (body.length > 1 && body.startsWith('0')) n = parseInt(body.slice(1), 8);
  else n = parseInt(body, 10);
  if (Number.isNaN(n)) throw new AccessorSyntaxError(`invalid value for Integer(): ${JSON.stringify(s)} in ${param}`);
  return m[1] === '-' ? -n : n;
}

/** thrown where ruby's dig raises (a step into a value that is neither a hash nor an array) */
export class DigError extends Error {}

function isHash(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** one step of Hash#dig / Array#dig: undefined for nil */
function step(target: unknown, key: AccessorKey): unknown {
  if (isHash(target)) return typeof key === 'string' && Object.hasOwn(target, key) ? target[key] : undefined;
  if (Array.isArray(target)) {
    if (typeof key !== 'number') throw new DigError(`no implicit conversion of String into Integer`);
    return target.at(key);
  }
  throw new DigError(`${typeof target} does not have #dig method`);
}

/** the value at the path: undefined where fluentd reads nil; throws DigError where ruby's dig raises */
export function getPath(record: Record<string, unknown>, keys: readonly AccessorKey[]): unknown {
  if (keys.length === 1) {
    const k = keys[0]!;
    return typeof k === 'string' && Object.hasOwn(record, k) ? record[k] : undefined;
  }
  return dig(record, keys);
}

/** ruby's `target.dig(*keys)` on a hash or an array */
export function dig(target: object, keys: readonly AccessorKey[]): unknown {
  let cur: unknown = target;
  for (const k of keys) {
    if (cur === undefined || cur === null) return undefined;
    cur = step(cur, k);
  }
  return cur;
}

/**
 * the record without the value at the path, as fluentd's Accessor#delete leaves it: nothing happens where the
 * parent is missing or dig raises. the record and the values along the path are copied, never written.
 */
export function deletePath(record: Record<string, unknown>, keys: readonly AccessorKey[]): Record<string, unknown> {
  if (keys.length === 1) {
    const k = keys[0]!;
    if (typeof k !== 'string' || !Object.hasOwn(record, k)) return record;
    return without(record, k);
  }
  let parent: unknown;
  try {
    parent = getPath(record, keys.slice(0, -1));
  } catch {
    return record;
  }
  const last = keys[keys.length - 1]!;
  if (isHash(parent)) {
    if (typeof last !== 'string' || !Object.hasOwn(parent, last)) return record;
  } else if (Array.isArray(parent)) {
    if (typeof last !== 'number') return record;
    const idx = last < 0 ? parent.length + last : last;
    if (idx < 0 || idx >= parent.length) return record;
  } else return record;
  return rebuild(record, keys, 0) as Record<string, unknown>;
}

// a copy of the containers along the path with the last key removed (the path is known to resolve)
function rebuild(node: unknown, keys: readonly AccessorKey[], i: number): unknown {
  const k = keys[i]!;
  if (Array.isArray(node)) {
    const copy = node.slice();
    const idx = (k as number) < 0 ? copy.length + (k as number) : (k as number);
    if (i === keys.length - 1) copy.splice(idx, 1);
    else copy[idx] = rebuild(copy[idx], keys, i + 1);
    return copy;
  }
  if (i === keys.length - 1) return without(node as Record<string, unknown>, k as string);
  const copy = { ...(node as Record<string, unknown>) };
  copy[k as string] = rebuild(copy[k as string], keys, i + 1);
  return copy;
}

// a copy without one key, built key by key: `delete` on a copy turns it into a slow dictionary object that costs
// the router's JSON.stringify several times over
function without(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in o) if (k !== key && Object.hasOwn(o, k)) out[k] = o[k];
  return out;
}

/** the record with the value at the path replaced (only where it exists); the same copy discipline as deletePath */
export function replacePath(
  record: Record<string, unknown>,
  keys: readonly AccessorKey[],
  f: (v: unknown) => unknown,
): Record<string, unknown> {
  let v: unknown;
  try {
    v = getPath(record, keys);
  } catch {
    return record;
  }
  if (v === undefined) return record;
  const set = (node: unknown, i: number): unknown => {
    const k = keys[i]!;
    if (Array.isArray(node)) {
      const copy = node.slice();
      const idx = (k as number) < 0 ? copy.length + (k as number) : (k as number);
      copy[idx] = i === keys.length - 1 ? f(copy[idx]) : set(copy[idx], i + 1);
      return copy;
    }
    const copy = { ...(node as Record<string, unknown>) };
    copy[k as string] = i === keys.length - 1 ? f(copy[k as string]) : set(copy[k as string], i + 1);
    return copy;
  };
  return set(record, 0) as Record<string, unknown>;
}
