import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileIncludeReader } from '../../../src/config/fluentd/file.js';
import { parseFluentConf } from '../../../src/config/fluentd/parser.js';
import { FluentConfigError } from '../../../src/errors.js';

test('the file include reader follows relative paths and sorted globs, and names a missing file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-include-'));
  try {
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', 'b.conf'), '<match b>\n  @type null\n</match>\n');
    writeFileSync(join(dir, 'conf.d', 'a.conf'), '<match a>\n  @type null\n</match>\n');
    writeFileSync(join(dir, 'conf.d', '.hidden.conf'), '<match hidden>\n  @type null\n</match>\n');
    writeFileSync(join(dir, 'conf.d', 'notes.txt'), 'not config');
    const main = join(dir, 'fluent.conf');
    const { root } = parseFluentConf('@include conf.d/*.conf\n@include conf.d/a.conf\n', {
      file: main,
      include: fileIncludeReader(),
    });
    assert.deepEqual(
      root.sections.map((s) => s.arg),
      ['a', 'b', 'a'],
    );
    assert.equal(root.sections[1]!.file, join(dir, 'conf.d', 'b.conf'));
    assert.throws(
      () => parseFluentConf('\n@include missing.conf\n', { file: main, include: fileIncludeReader() }),
      (err: unknown) =>
        err instanceof FluentConfigError && err.line === 2 && /missing\.conf: no such file/.test(err.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a glob is read sorted by whole path, as fluentd sorts Dir.glob, not directory by directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-include-'));
  try {
    // listed directory by directory, a/ comes before a-b/; by whole path '-' sorts before '/'
    for (const d of ['a', 'a-b', 'b']) {
      mkdirSync(join(dir, d));
      writeFileSync(join(dir, d, 'f.conf'), `<match ${d}>\n  @type null\n</match>\n`);
    }
    const files = fileIncludeReader()('*/f.conf', join(dir, 'fluent.conf'))!;
    assert.deepEqual(
      files.map((f) => f.file),
      ['a-b', 'a', 'b'].map((d) => join(dir, d, 'f.conf')),
    );
    assert.equal(
      fileIncludeReader()('https://example.com/f.conf', join(dir, 'fluent.conf')),
      null,
      'urls are not read',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
