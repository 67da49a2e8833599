import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../helpers/paths.js';
import { ConfigError } from '../../src/errors.js';
import { compilePattern, globNfaMatcher, globToSource } from '../../src/router/pattern.js';
import { createPrng, seedFromEnv, type Prng } from '../helpers/prng.js';

interface Case {
  pattern: string;
  tag: string;
  match: boolean;
}

const cases = JSON.parse(readFileSync(fixture('patterns.json'), 'utf8')) as Case[];

test('fixtures/patterns.json is a non-trivial table', () => {
  assert.ok(cases.length > 100);
  assert.ok(cases.some((c) => c.match) && cases.some((c) => !c.match));
});

test('pattern table', () => {
  const failures: string[] = [];
  for (const c of cases) {
    const got = compilePattern(c.pattern)(c.tag);
    if (got !== c.match)
      failures.push(`${JSON.stringify(c.pattern)} vs ${JSON.stringify(c.tag)}: want ${c.match}, got ${got}`);
  }
  assert.deepEqual(failures, []);
});

test('a compiled matcher is reusable and stateless', () => {
  const m = compilePattern('a.* /b+/');
  for (let i = 0; i < 3; i++) {
    assert.equal(m('a.x'), true);
    assert.equal(m('bbb'), true);
    assert.equal(m('c'), false);
  }
});

test('invalid patterns throw a ConfigError that names the pattern', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['   \t ', /empty/],
    ['a.{b,c', /never closed/],
    ['a.{b,{c,d}', /never closed/],
    ['a.b}', /no matching/],
    ['a}', /no matching/],
    ['a\\', /escape/],
    ['a.**.b.**}', /no matching/],
    ['{a,*.*\\', /escape/],
    ['**.{a,{b,**}', /never closed/],
    ['/abc', /regular expression/],
    ['/', /regular expression/],
    ['//', /regular expression/],
    ['/a(/', /bad regular expression/],
    ['/[z-a]/', /bad regular expression/],
    ['ok.log /a(/', /bad regular expression/],
  ];
  for (const [pattern, why] of bad) {
    assert.throws(
      () => compilePattern(pattern),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `${JSON.stringify(pattern)}: not a ConfigError`);
        assert.equal(err.code, 'TDF_CONFIG');
        assert.match(err.message, why, `${JSON.stringify(pattern)}: ${err.message}`);
        assert.ok(err.message.includes(`"${pattern}"`), `message does not name the pattern: ${err.message}`);
        return true;
      },
    );
  }
});

test('non-string pattern is rejected', () => {
  assert.throws(() => compilePattern(undefined as unknown as string), ConfigError);
});

test('a regex must match the whole tag, even with alternation', () => {
  const m = compilePattern('/test|session/');
  assert.equal(m('test'), true);
  assert.equal(m('session'), true);
  assert.equal(m('test.log'), false);
  assert.equal(m('my.session'), false);
});

test('regexes with capture groups and backreferences are kept apart from other patterns', () => {
  const m = compilePattern('x.* /(a)\\1/ /(?<n>b)\\k<n>/');
  assert.equal(m('aa'), true);
  assert.equal(m('bb'), true);
  assert.equal(m('x.y'), true);
  assert.equal(m('ab'), false);
});

test('a tag with a newline does not sneak past the anchors', () => {
  assert.equal(compilePattern('a')('a\n'), false);
  assert.equal(compilePattern('a.**')('a\nb'), false);
  assert.equal(compilePattern('**')('a\nb'), true);
  assert.equal(compilePattern('a**')('a\nb'), true);
});

test('glob characters are literal inside the tag', () => {
  // a tag that contains pattern syntax only matches where the pattern says so
  assert.equal(compilePattern('a.*')('a.*'), true);
  assert.equal(compilePattern('a.b')('a.*'), false);
  assert.equal(compilePattern('{a,b}')('{a,b}'), false);
});

test('matching is fast enough for the hot path', () => {
  // a guard against pathological compilation (e.g. exponential backtracking), not a timing assertion
  const m = compilePattern('a.**.b.**.c.**.d');
  const tag = 'a.' + 'x.'.repeat(200) + 'e';
  assert.equal(m(tag), false);
});

// the old RegExp translation of one glob, anchored as compilePattern anchors it: the reference for the nfa
const viaRegex = (glob: string) => {
  const re = new RegExp(`^(?:${globToSource(glob, glob)})$`, 's');
  return (tag: string) => re.test(tag);
};

// a glob over a tiny alphabet as tokens; a brace group is a list of alternatives, each a token list
type GlobToken = string | GlobToken[][];

function randomGlobTokens(p: Prng, depth = 0): GlobToken[] {
  const tokens: GlobToken[] = [];
  for (let n = p.int(depth === 0 ? 1 : 0, 6); n > 0; n--) {
    const r = p.int(0, 11);
    if (r <= 2) tokens.push('a');
    else if (r === 3) tokens.push('b');
    else if (r <= 6) tokens.push('.');
    else if (r === 7) tokens.push('*');
    else if (r === 8) tokens.push('**');
    else if (r === 9) tokens.push('\\.');
    else if (depth < 2) tokens.push(Array.from({ length: p.int(1, 3) }, () => randomGlobTokens(p, depth + 1)));
    else tokens.push('a');
  }
  return tokens;
}

const renderGlob = (tokens: GlobToken[]): string =>
  tokens.map((t) => (typeof t === 'string' ? t : `{${t.map(renderGlob).join(',')}}`)).join('');

/** a tag the glob likely matches (not always: `a.**` may also drop its dot), so matches are common */
function sampleTag(p: Prng, tokens: GlobToken[]): string {
  return tokens
    .map((t) => {
      if (typeof t !== 'string') return sampleTag(p, p.pick(t));
      if (t === '*') return p.pick(['', 'a', 'b', 'ab']);
      if (t === '**') return p.pick(['', 'a', '.', 'b.a', '.b']);
      return t === '\\.' ? '.' : t;
    })
    .join('');
}

function randomShortTag(p: Prng): string {
  let s = '';
  for (let n = p.int(0, 8); n > 0; n--) s += p.pick(['a', 'a', 'b', '.']);
  return s;
}

/** a random glob and a source of tags of at most 8 characters for it, about half of them sampled from it */
function randomGlob(p: Prng): { glob: string; tag: () => string } {
  const tokens = randomGlobTokens(p);
  const tag = (): string => {
    const sampled = p.bool() ? sampleTag(p, tokens) : '';
    return sampled !== '' && sampled.length <= 8 ? sampled : randomShortTag(p);
  };
  return { glob: renderGlob(tokens), tag };
}

test('the nfa matches exactly like the RegExp translation (random globs and tags)', (t) => {
  const p = createPrng(seedFromEnv(0x5eed));
  t.diagnostic(`seed ${p.seed}`);
  let matched = 0;
  let total = 0;
  for (let i = 0; i < 4000; i++) {
    const { glob, tag: randomTag } = randomGlob(p);
    const want = viaRegex(glob);
    const got = globNfaMatcher(glob);
    for (let k = 0; k < 12; k++) {
      const tag = randomTag();
      const w = want(tag);
      assert.equal(got(tag), w, `glob ${JSON.stringify(glob)} tag ${JSON.stringify(tag)} (seed ${p.seed})`);
      total++;
      if (w) matched++;
    }
  }
  t.diagnostic(`${matched} of ${total} matched`);
  // both answers must be common, or the comparison says little
  assert.ok(matched > total / 10 && matched < (total * 9) / 10, `${matched} of ${total} matched`);
});

test('several globs in one pattern are or-ed, whichever matcher each one gets', (t) => {
  const p = createPrng(seedFromEnv(0x0e0e));
  t.diagnostic(`seed ${p.seed}`);
  for (let i = 0; i < 1000; i++) {
    const randoms = Array.from({ length: p.int(2, 3) }, () => randomGlob(p));
    const globs = randoms.map((r) => r.glob);
    const refs = globs.map(viaRegex);
    const m = compilePattern(globs.join(' '));
    for (let k = 0; k < 12; k++) {
      const tag = p.pick(randoms).tag();
      assert.equal(
        m(tag),
        refs.some((r) => r(tag)),
        `pattern ${JSON.stringify(globs.join(' '))} tag ${JSON.stringify(tag)} (seed ${p.seed})`,
      );
    }
  }
});

test('the nfa rejects exactly the globs the RegExp translation rejects, with the same message', (t) => {
  const p = createPrng(seedFromEnv(0xbad));
  t.diagnostic(`seed ${p.seed}`);
  const outcome = (f: () => unknown): string => {
    try {
      f();
      return 'ok';
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
  };
  let rejected = 0;
  for (let i = 0; i < 4000; i++) {
    let glob = '';
    for (let n = p.int(1, 8); n > 0; n--) glob += p.pick(['a', '.', '*', '{', '}', ',', '\\']);
    const want = outcome(() => globToSource(glob, glob));
    assert.equal(
      outcome(() => globNfaMatcher(glob)),
      want,
      JSON.stringify(glob),
    );
    if (want !== 'ok') rejected++;
  }
  assert.ok(rejected > 400 && rejected < 3600, `${rejected} of 4000 rejected`);
});

test('many stars between literal parts match right against the longest tag (no backtracking)', () => {
  const longest = 256;
  const cases: Array<[string, string, boolean]> = [
    ['**a**a**a**a**a**b', 'a'.repeat(longest - 1) + 'q', false],
    ['**a**a**a**a**a**b', 'a'.repeat(longest - 1) + 'b', true],
    ['**a**a**a**a**a**b', 'aaaab', false],
    ['**a**a**a**a**a**b', 'aaaaab', true],
    ['**a**a**a**a**a**b', 'ba.a-a_a.a' + 'x'.repeat(longest - 11) + 'b', true],
    ['**.x.**.x.**.x.**.x.**.x.**.y', 'x.'.repeat(127) + 'q', false],
    ['**.x.**.x.**.x.**.x.**.x.**.y', 'x.'.repeat(127) + 'y', true],
    ['**.x.**.x.**.x.**.x.**.x.**.y', 'x.'.repeat(4) + 'y', false],
    ['**.x.**.x.**.x.**.x.**.x.**.y', 'x.'.repeat(5) + 'y', true],
    ['**.x.**.x.**.x.**.x.**.x.**.y', 'x.x.x.x.xx.y', false],
    ['**.x.**.x.**.x.**.y', 'x.'.repeat(127) + 'xq', false],
    ['*a*a*a*a*a*a*b', 'a'.repeat(longest - 1) + 'q', false],
    ['*a*a*a*a*a*a*b', 'a'.repeat(longest - 1) + 'b', true],
    ['*a*a*a*a*a*a*b', 'aaaaa.aab', false],
    // braces backtrack too, even without a star
    ['{a,aa}'.repeat(40) + 'b', 'a'.repeat(longest - 1) + 'q', false],
    ['{a,aa}'.repeat(40) + 'b', 'a'.repeat(79) + 'b', true],
    ['{a,aa}'.repeat(40) + 'b', 'a'.repeat(81) + 'b', false],
    ['{,a}'.repeat(60) + 'b', 'a'.repeat(60) + 'b', true],
    ['{,a}'.repeat(60) + 'b', 'a'.repeat(61) + 'b', false],
  ];
  for (const [pattern, tag, want] of cases) {
    assert.ok(tag.length <= longest);
    assert.equal(compilePattern(pattern)(tag), want, `${pattern} vs ${JSON.stringify(tag)}`);
  }
});
