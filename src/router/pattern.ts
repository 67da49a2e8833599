// fluentd `<match>` tag patterns, compiled once to a matcher (matching is on the per-event hot path).
//
// semantics follow fluentd's lib/fluent/match.rb:
//   `*`        one tag part: `[^.]*` (so also part of a part: `a*` matches `abc`, not `a.b`)
//   `**`       zero or more parts; a dot before or after it is optional (`a.**` matches `a`, `a.b`; not `ab`)
//   `{x,y}`    alternation, may nest and contain `*` / `**`
//   `\c`       the character c, literally
//   `/re/`     a regular expression that must match the whole tag
//   `p1 p2`    several patterns separated by whitespace are or-ed
// stricter than fluentd: unbalanced braces, a trailing `\` and an empty pattern are errors (fluentd closes an
// open `{` silently and reads a stray `}` as a literal), and a trailing `.` is kept literally (fluentd drops it).
//
// matching time: tags come from the network, so a glob must not backtrack. a glob with at most one star and no
// braces becomes a RegExp (linear for that shape, and the fastest); any other glob (several stars, or braces,
// whose alternatives backtrack too: `{a,a}{a,a}...`) is parsed into a small tree, compiled to a thompson nfa and
// simulated a position at a time, in O(tag length x pattern size). a user `/regex/` runs as written: its cost is
// the config author's responsibility (`/(a+)+b/` can block the event loop, as it would in fluentd).

import { ConfigError } from '../errors.js';

export type TagMatcher = (tag: string) => boolean;

const matchAll: TagMatcher = () => true;

export function compilePattern(pattern: string): TagMatcher {
  if (typeof pattern !== 'string') {
    throw new ConfigError(`invalid match pattern ${String(pattern)}: expected a string`);
  }
  const parts = pattern.split(/\s+/).filter((p) => p !== '');
  if (parts.length === 0) {
    throw new ConfigError(`invalid match pattern "${pattern}": it is empty; use "**" to match every tag`);
  }

  const globs: string[] = [];
  const trees: GlobNode[] = [];
  const regexes: RegExp[] = [];
  let all = false;
  for (const part of parts) {
    if (part === '**') {
      all = true;
    } else if (part.startsWith('/')) {
      regexes.push(compileRegex(part, pattern));
    } else if (regexIsLinear(part)) {
      globs.push(globToSource(part, pattern));
    } else {
      trees.push(parseGlob(part, pattern));
    }
  }
  if (all) return matchAll;

  // the regex globs only produce non-capturing groups, so they can share one RegExp (each alternative is linear);
  // the nfa globs share one nfa; user regexes keep their own (their backreferences and named groups would clash)
  const matchers: TagMatcher[] = [];
  if (globs.length > 0) {
    const re = new RegExp(`^(?:${globs.join('|')})$`, 's');
    matchers.push((tag) => re.test(tag));
  }
  if (trees.length > 0)
    matchers.push(nfaMatcher(compileNfa(trees.length === 1 ? trees[0] : { kind: 'alt', alts: trees })));
  for (const re of regexes) matchers.push((tag) => re.test(tag));
  if (matchers.length === 1) return matchers[0];
  return (tag) => {
    for (const m of matchers) if (m(tag)) return true;
    return false;
  };
}

function compileRegex(part: string, pattern: string): RegExp {
  if (part.length < 3 || !part.endsWith('/')) {
    throw new ConfigError(
      `invalid match pattern "${pattern}": "${part}" starts with "/" so it must be a non-empty /regular expression/`,
    );
  }
  const body = part.slice(1, -1);
  try {
    return new RegExp(`^(?:${body})$`);
  } catch (err) {
    throw new ConfigError(
      `invalid match pattern "${pattern}": bad regular expression /${body}/: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

// the glob syntax errors, shared by both translations so they cannot drift apart
function globError(pattern: string, why: string): never {
  throw new ConfigError(`invalid match pattern "${pattern}": ${why}`);
}
const DANGLING_ESCAPE = 'it ends with an escape "\\" that escapes nothing';
const unmatchedClose = (i: number): string => `"}" at offset ${i} has no matching "{"`;
const unclosedOpen = (i: number): string => `"{" at offset ${i} is never closed`;

/** true when the RegExp translation of this glob cannot backtrack badly: at most one star, no braces */
function regexIsLinear(glob: string): boolean {
  let stars = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') {
      i += 1;
    } else if (c === '{') {
      return false;
    } else if (c === '*') {
      if (glob[i + 1] === '*') i += 1;
      stars += 1;
      if (stars > 1) return false;
    }
  }
  return true;
}

// characters that mean something in a RegExp outside a character class
const REGEX_SPECIAL = new Set(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}', '/', '-']);

function literal(c: string): string {
  return REGEX_SPECIAL.has(c) ? `\\${c}` : c;
}

/**
 * the RegExp source of one glob, to be anchored as `^(?:...)$` with the `s` flag. it backtracks polynomially (or
 * worse) on globs with several stars or braces, so compilePattern only uses it when regexIsLinear; exported for
 * the tests, which check the nfa against it.
 */
export function globToSource(glob: string, pattern: string): string {
  // one buffer per open brace level; the alternatives of each open group wait in `groups`
  const bufs: string[] = [''];
  const groups: string[][] = [];
  const opens: number[] = [];
  const emit = (s: string): void => {
    bufs[bufs.length - 1] += s;
  };
  // a dot is held back: before `**` it becomes a lookahead, so `a.**` also matches `a`
  let dot = false;
  let i = 0;
  while (i < glob.length) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      if (dot) emit('(?![^.])');
      dot = false;
      if (glob[i + 2] === '.') {
        emit('(?:.*\\.|^)');
        i += 3;
      } else {
        emit('.*');
        i += 2;
      }
      continue;
    }
    if (dot) emit('\\.');
    dot = false;
    switch (c) {
      case '\\':
        if (i + 1 >= glob.length) globError(pattern, DANGLING_ESCAPE);
        emit(literal(glob[i + 1]));
        i += 2;
        continue;
      case '.':
        dot = true;
        break;
      case '*':
        emit('[^.]*');
        break;
      case '{':
        groups.push([]);
        opens.push(i);
        bufs.push('');
        break;
      case ',':
        // outside braces a comma is an ordinary character, as in fluentd
        if (groups.length === 0) {
          emit(',');
          break;
        }
        groups[groups.length - 1].push(bufs.pop() as string);
        bufs.push('');
        break;
      case '}': {
        if (groups.length === 0) globError(pattern, unmatchedClose(i));
        const alts = groups.pop() as string[];
        opens.pop();
        alts.push(bufs.pop() as string);
        emit(`(?:${alts.join('|')})`);
        break;
      }
      default:
        emit(literal(c));
    }
    i += 1;
  }
  if (dot) emit('\\.');
  if (groups.length > 0) globError(pattern, unclosedOpen(opens[opens.length - 1]));
  return bufs[0];
}

// a glob as a tree; each kind is one piece of the RegExp translation above
type GlobNode =
  | { kind: 'char'; code: number } // one utf-16 code unit, like a RegExp without the `u` flag
  | { kind: 'star' } // `*`: [^.]*
  | { kind: 'any' } // `**`: .* (with the `s` flag)
  | { kind: 'dotOrEnd' } // the held-back dot before `**`: (?![^.])
  | { kind: 'start' } // ^ (the `**.` form is (?:.*\.|^))
  | { kind: 'seq'; items: GlobNode[] }
  | { kind: 'alt'; alts: GlobNode[] };

const DOT = 0x2e;
const STAR: GlobNode = { kind: 'star' };
const ANY: GlobNode = { kind: 'any' };
const DOT_OR_END: GlobNode = { kind: 'dotOrEnd' };
const DOT_CHAR: GlobNode = { kind: 'char', code: DOT };
// `**.`: any run that ends with a dot, or nothing at the start of the tag
const ANY_DOT: GlobNode = { kind: 'alt', alts: [{ kind: 'seq', items: [ANY, DOT_CHAR] }, { kind: 'start' }] };

/** parses a glob the way globToSource reads it, with the same errors */
function parseGlob(glob: string, pattern: string): GlobNode {
  const seqs: GlobNode[][] = [[]];
  const groups: GlobNode[][] = [];
  const opens: number[] = [];
  const add = (n: GlobNode): void => {
    seqs[seqs.length - 1].push(n);
  };
  const char = (i: number): GlobNode => ({ kind: 'char', code: glob.charCodeAt(i) });
  let dot = false;
  let i = 0;
  while (i < glob.length) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      if (dot) add(DOT_OR_END);
      dot = false;
      if (glob[i + 2] === '.') {
        add(ANY_DOT);
        i += 3;
      } else {
        add(ANY);
        i += 2;
      }
      continue;
    }
    if (dot) add(DOT_CHAR);
    dot = false;
    switch (c) {
      case '\\':
        if (i + 1 >= glob.length) globError(pattern, DANGLING_ESCAPE);
        add(char(i + 1));
        i += 2;
        continue;
      case '.':
        dot = true;
        break;
      case '*':
        add(STAR);
        break;
      case '{':
        groups.push([]);
        opens.push(i);
        seqs.push([]);
        break;
      case ',':
        if (groups.length === 0) {
          add(char(i));
          break;
        }
        groups[groups.length - 1].push({ kind: 'seq', items: seqs.pop() as GlobNode[] });
        seqs.push([]);
        break;
      case '}': {
        if (groups.length === 0) globError(pattern, unmatchedClose(i));
        const alts = groups.pop() as GlobNode[];
        opens.pop();
        alts.push({ kind: 'seq', items: seqs.pop() as GlobNode[] });
        add({ kind: 'alt', alts });
        break;
      }
      default:
        add(char(i));
    }
    i += 1;
  }
  if (dot) add(DOT_CHAR);
  if (groups.length > 0) globError(pattern, unclosedOpen(opens[opens.length - 1]));
  return { kind: 'seq', items: seqs[0] };
}

// nfa state kinds. CHAR, NOT_DOT and ANY consume one code unit; SPLIT, START and DOT_OR_END are epsilon moves
const OP_CHAR = 0;
const OP_NOT_DOT = 1;
const OP_ANY = 2;
const OP_SPLIT = 3;
const OP_START = 4;
const OP_DOT_OR_END = 5;
const OP_MATCH = 6;

interface Nfa {
  op: Uint8Array;
  /** the code unit of a CHAR state */
  code: Uint16Array;
  /** the next state (-1: none) */
  out: Int32Array;
  /** the other branch of a SPLIT (-1: none) */
  out2: Int32Array;
  start: number;
}

function compileNfa(root: GlobNode): Nfa {
  const op: number[] = [];
  const code: number[] = [];
  const out: number[] = [];
  const out2: number[] = [];
  const state = (kind: number, next: number, next2 = -1, unit = 0): number => {
    op.push(kind);
    code.push(unit);
    out.push(next);
    out2.push(next2);
    return op.length - 1;
  };
  // built back to front: each node gets the state that follows it and returns its own entry state
  const build = (node: GlobNode, next: number): number => {
    switch (node.kind) {
      case 'char':
        return state(OP_CHAR, next, -1, node.code);
      case 'star':
      case 'any': {
        const loop = state(OP_SPLIT, -1, next);
        out[loop] = state(node.kind === 'star' ? OP_NOT_DOT : OP_ANY, loop);
        return loop;
      }
      case 'dotOrEnd':
        return state(OP_DOT_OR_END, next);
      case 'start':
        return state(OP_START, next);
      case 'seq': {
        let s = next;
        for (let k = node.items.length - 1; k >= 0; k--) s = build(node.items[k], s);
        return s;
      }
      case 'alt': {
        let s = build(node.alts[node.alts.length - 1], next);
        for (let k = node.alts.length - 2; k >= 0; k--) s = state(OP_SPLIT, build(node.alts[k], next), s);
        return s;
      }
    }
  };
  const start = build(root, state(OP_MATCH, -1));
  return {
    op: Uint8Array.from(op),
    code: Uint16Array.from(code),
    out: Int32Array.from(out),
    out2: Int32Array.from(out2),
    start,
  };
}

/**
 * simulates the nfa on all its states at once: the set of live states after each code unit of the tag, each state
 * at most once per position (a generation mark), so a match costs O(tag length x states). the buffers are made
 * once per matcher and reused (matching is synchronous, so calls cannot overlap).
 */
function nfaMatcher(nfa: Nfa): TagMatcher {
  const { op, code, out, out2, start } = nfa;
  const n = op.length;
  const mark = new Uint32Array(n);
  const stack = new Int32Array(n);
  let live = new Int32Array(n);
  let next = new Int32Array(n);
  let gen = 0;
  const newGeneration = (): void => {
    if (gen === 0xffffffff) {
      mark.fill(0);
      gen = 0;
    }
    gen += 1;
  };

  // adds state s and everything reachable from it by epsilon moves at position pos; returns the new count
  const add = (s: number, tag: string, pos: number, list: Int32Array, count: number): number => {
    if (mark[s] === gen) return count;
    mark[s] = gen;
    let sp = 0;
    stack[sp++] = s;
    while (sp > 0) {
      const t = stack[--sp];
      let a = -1;
      let b = -1;
      switch (op[t]) {
        case OP_SPLIT:
          a = out[t];
          b = out2[t];
          break;
        case OP_START:
          if (pos === 0) a = out[t];
          break;
        case OP_DOT_OR_END:
          if (pos === tag.length || tag.charCodeAt(pos) === DOT) a = out[t];
          break;
        default:
          list[count++] = t;
      }
      if (a >= 0 && mark[a] !== gen) {
        mark[a] = gen;
        stack[sp++] = a;
      }
      if (b >= 0 && mark[b] !== gen) {
        mark[b] = gen;
        stack[sp++] = b;
      }
    }
    return count;
  };

  return (tag) => {
    newGeneration();
    let count = add(start, tag, 0, live, 0);
    for (let pos = 0; pos < tag.length && count > 0; pos++) {
      const c = tag.charCodeAt(pos);
      newGeneration();
      let nextCount = 0;
      for (let k = 0; k < count; k++) {
        const s = live[k];
        const kind = op[s];
        if (kind === OP_ANY || (kind === OP_NOT_DOT && c !== DOT) || (kind === OP_CHAR && code[s] === c)) {
          nextCount = add(out[s], tag, pos + 1, next, nextCount);
        }
      }
      const swap = live;
      live = next;
      next = swap;
      count = nextCount;
    }
    // count is 0 when the tag ran out of live states before its end
    for (let k = 0; k < count; k++) if (op[live[k]] === OP_MATCH) return true;
    return false;
  };
}

/** one glob through the nfa whatever its shape; exported for the tests, which check it against globToSource */
export function globNfaMatcher(glob: string, pattern: string = glob): TagMatcher {
  return nfaMatcher(compileNfa(parseGlob(glob, pattern)));
}
