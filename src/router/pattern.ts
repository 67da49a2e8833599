// fluentd `<match>` tag patterns, compiled once to a RegExp (matching is on the per-event hot path).
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
  const regexes: RegExp[] = [];
  let all = false;
  for (const part of parts) {
    if (part === '**') {
      all = true;
    } else if (part.startsWith('/')) {
      regexes.push(compileRegex(part, pattern));
    } else {
      globs.push(globToSource(part, pattern));
    }
  }
  if (all) return matchAll;

  // globs only produce non-capturing groups, so they can share one RegExp; user regexes keep their own
  // (their backreferences and named groups would clash if merged)
  const compiled = [...regexes];
  if (globs.length > 0) compiled.unshift(new RegExp(`^(?:${globs.join('|')})$`, 's'));
  if (compiled.length === 1) {
    const re = compiled[0];
    return (tag) => re.test(tag);
  }
  return (tag) => {
    for (const re of compiled) if (re.test(tag)) return true;
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

// characters that mean something in a RegExp outside a character class
const REGEX_SPECIAL = new Set(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}', '/', '-']);

function literal(c: string): string {
  return REGEX_SPECIAL.has(c) ? `\\${c}` : c;
}

function globToSource(glob: string, pattern: string): string {
  const fail = (why: string): never => {
    throw new ConfigError(`invalid match pattern "${pattern}": ${why}`);
  };
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
        if (i + 1 >= glob.length) fail('it ends with an escape "\\" that escapes nothing');
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
        if (groups.length === 0) fail(`"}" at offset ${i} has no matching "{"`);
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
  if (groups.length > 0) fail(`"{" at offset ${opens[opens.length - 1]} is never closed`);
  return bufs[0];
}
