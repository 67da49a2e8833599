// fluentd 1.15's filter_record_transformer without ruby: ported from its test_filter_record_transformer.rb and
// the documented examples, plus the ruby dialect limited to record access
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTransform, TransformConfigError, type TransformSpec } from '../../src/filter/transform.js';
import { PlaceholderError } from '../../src/filter/placeholders.js';
import { rubyTimeToS } from '../../src/filter/ruby.js';

const HOST = 'fw-host';
const TAG = 'test.tag';
const TIME = Date.UTC(2010, 4, 4, 3, 2, 1);

function run(spec: TransformSpec, record: Record<string, unknown>, tag = TAG, time = TIME) {
  return compileTransform(spec, HOST).apply(tag, time, record);
}

test('typical usage: hostname, tag, time, tag_parts and record values', () => {
  const spec = {
    record: {
      hostname: '${hostname}',
      tag: '${tag}',
      time: '${time}',
      message: '${hostname} ${tag_parts[-1]} ${record["message"]}',
    },
  };
  for (const msg of ['1', '2']) {
    const r = run(spec, { foo: 'bar', message: msg }).record;
    assert.deepEqual(r, {
      foo: 'bar',
      message: `${HOST} tag ${msg}`,
      hostname: HOST,
      tag: TAG,
      time: rubyTimeToS(TIME),
    });
  }
});

test('remove_keys, renew_record, keep_keys, renew_time_key', () => {
  const base = { record: { hostname: '${hostname}' } };
  assert.deepEqual(run({ ...base, removeKeys: ['foo', 'message'] }, { foo: 'bar', message: '1' }).record, {
    hostname: HOST,
  });
  assert.deepEqual(run({ ...base, renewRecord: true }, { foo: 'bar', message: '1' }).record, { hostname: HOST });
  assert.deepEqual(
    run({ renewRecord: true, keepKeys: ['foo', 'message', 'absent'] }, { foo: 'bar', message: '1', x: 2 }).record,
    {
      foo: 'bar',
      message: '1',
    },
  );
  // remove_keys comes after the <record> merge: a key set there can be removed
  assert.deepEqual(run({ record: { a: '1' }, removeKeys: ['a'] }, { b: 2 }).record, { b: 2 });
  // nested remove_keys with record accessor syntax; the record itself is not written
  const rec = { addr: { remote: '10.0.0.1:5555', local: 'x' }, user: 'alice' };
  assert.deepEqual(run({ removeKeys: ['$.addr.remote'] }, rec).record, { addr: { local: 'x' }, user: 'alice' });
  assert.equal(rec.addr.remote, '10.0.0.1:5555');
  // renew_time_key: unix seconds (a string's leading number) become the event time
  assert.equal(run({ renewTimeKey: 't' }, { t: '1700000000.25' }).time, 1700000000250);
  assert.equal(run({ renewTimeKey: 't' }, { t: 1700000000 }).time, 1700000000000);
  assert.equal(run({ renewTimeKey: 't' }, { t: 'soon' }).time, 0);
  assert.equal(run({ renewTimeKey: 't' }, { other: 1 }).time, TIME);
  // the key read after <record> and before remove_keys
  assert.deepEqual(run({ renewTimeKey: 't', record: { t: '${record["ts"]}' }, removeKeys: ['t'] }, { ts: 5 }), {
    time: 5000,
    record: { ts: 5 },
  });
  assert.throws(() => run({ renewTimeKey: 't' }, { t: true }), PlaceholderError);
});

test('json values, placeholders in them and in keys', () => {
  const r = run(
    {
      record: {
        hash_field: '{"k1":100, "k2":"foobar"}',
        array_field: '[1, 2, 3]',
        mixed: '{"hello":[1,2,3], "world":{"foo":"bar"}}',
        with_ph: '{"hostname":"${hostname}","tag":"${tag}","${tag}":100}',
        arr_ph: '["${hostname}", "${tag}"]',
        not_json: '{oops',
        '${hostname}': 'hostname',
        'foo.${tag}': 'tag',
      },
      renewRecord: true,
    },
    {},
  ).record;
  assert.deepEqual(r, {
    hash_field: { k1: 100, k2: 'foobar' },
    array_field: [1, 2, 3],
    mixed: { hello: [1, 2, 3], world: { foo: 'bar' } },
    with_ph: { hostname: HOST, tag: TAG, [TAG]: 100 },
    arr_ph: [HOST, TAG],
    not_json: '{oops',
    [HOST]: 'hostname',
    [`foo.${TAG}`]: 'tag',
  });
});

test('tag_parts, tag_prefix, tag_suffix with positive and negative indexes; out of range is nil', () => {
  const r = run(
    {
      record: {
        m: '${tag_prefix[1]} ${tag_prefix[-2]} ${tag_suffix[2]} ${tag_suffix[-3]}',
        first: '${tag_parts[0]}',
        last: '${tag_parts[-1]}',
        out: '${tag_parts[9]}',
        outNeg: '${tag_parts[-5]}',
        inText: '<${tag_parts[9]}>',
      },
    },
    {},
    'prefix.test.tag.suffix',
  ).record;
  assert.deepEqual(r, {
    m: 'prefix.test prefix.test.tag tag.suffix test.tag.suffix',
    first: 'prefix',
    last: 'suffix',
    out: null,
    outNeg: null,
    inText: '<>',
  });
});

test('auto_typecast on (the default) and off, with every kind of value', () => {
  const spec = (autoTypecast: boolean): TransformSpec => ({
    autoTypecast,
    record: {
      single: '${record["source"]}',
      multiple: '${record["source"]}${record["source"]}',
      with_prefix: 'prefix-${record["source"]}',
      with_quote: 'source[""]',
    },
  });
  const sources: unknown[] = ['string', 123, [1, 2], { a: 1, b: 2 }, null];
  const text = ['string', '123', '[1, 2]', '{"a"=>1, "b"=>2}', ''];
  sources.forEach((source, i) => {
    const on = run(spec(true), { source }).record;
    assert.deepEqual(on.single, source, `on ${i}`);
    assert.equal(on.multiple, text[i]! + text[i]!);
    assert.equal(on.with_prefix, `prefix-${text[i]}`);
    assert.equal(on.with_quote, 'source[""]');
    const off = run(spec(false), { source }).record;
    assert.equal(off.single, text[i], `off ${i}`);
  });
});

test('placeholders that do not resolve: nil alone (auto_typecast), "" in text; __UPPER__ is a placeholder too', () => {
  const r = run(
    {
      record: {
        unknown: '${unknown}',
        missing: '${record["missing"]}',
        inText: 'a-${record["missing"]}-b',
        oldStyle: '${message}',
        single: "${record['message']}",
        nested: '${record["a"]["b"]}',
        upper: 'x__FOO__y',
        at: '${record["@timestamp"]}',
        dotted: '${record["foo.bar"]}',
      },
    },
    { message: 'hi', a: { b: 1 }, '@timestamp': 10, 'foo.bar': 'fb' },
  ).record;
  assert.equal(r.unknown, null);
  assert.equal(r.missing, null);
  assert.equal(r.inText, 'a--b');
  assert.equal(r.oldStyle, null);
  assert.equal(r.single, null);
  assert.equal(r.nested, null);
  assert.equal(r.upper, 'xy');
  assert.equal(r.at, 10);
  assert.equal(r.dotted, 'fb');
  const t = compileTransform({ record: { a: '${foo}', b: '${record["x"]}' } }, HOST);
  assert.deepEqual(t.unknownPlaceholders, ['${foo}']);
});

test('enable_ruby: record access is carried over, ruby raising drops the record, other ruby is refused', () => {
  const spec: TransformSpec = {
    enableRuby: true,
    record: {
      env: '${record["server_labels"]["env"]}',
      dig: '${record.dig("server_labels", "env")}',
      digMissing: '${record.dig("nope", "env")}',
      first: '${record["list"][0]}',
      text: 'env=${record["server_labels"]["env"]} tag=${tag_parts[-1]} host=${hostname}',
      count: '${record["n"]}',
      time: '${time}',
      tag: '${tag}',
    },
  };
  const r = run(spec, { server_labels: { env: 'prod' }, list: ['a'], n: 3 }).record;
  assert.equal(r.env, 'prod');
  assert.equal(r.dig, 'prod');
  assert.equal(r.digMissing, null);
  assert.equal(r.first, 'a');
  assert.equal(r.text, `env=prod tag=tag host=${HOST}`);
  assert.equal(r.count, 3);
  assert.equal(r.time, rubyTimeToS(TIME));
  assert.equal(r.tag, TAG);
  // record["missing"]["env"] is nil["env"]: NoMethodError, the record goes to fluentd's error stream
  assert.throws(() => run(spec, { list: ['a'] }), PlaceholderError);
  // dig through a string: TypeError
  assert.throws(
    () => run({ enableRuby: true, record: { x: '${record.dig("s", "k")}' } }, { s: 'str' }),
    PlaceholderError,
  );
  // in ruby's %Q[…], #{…} interpolates as ${…} does
  assert.equal(run({ enableRuby: true, record: { x: 'a-#{record["n"]}-${tag}' } }, { n: 1 }).record.x, `a-1-${TAG}`);
  assert.throws(() => compileTransform({ enableRuby: true, record: { x: 'a\\nb' } }, HOST), /a backslash outside/);
  for (const code of ['record["a"].upcase', 'Time.now', '"x" + record["a"]', 'record.map{|k,v|v}', '`id`']) {
    assert.throws(
      () => compileTransform({ enableRuby: true, record: { x: `\${${code}}` } }, HOST),
      (err: unknown) => err instanceof TransformConfigError && err.key === 'record.x' && err.message.includes(code),
      code,
    );
  }
});

test('configs fluentd refuses', () => {
  assert.throws(
    () => compileTransform({ keepKeys: ['a'] }, HOST),
    (err: unknown) =>
      err instanceof TransformConfigError && /`renew_record` must be true to use `keep_keys`/.test(err.message),
  );
  assert.throws(() => compileTransform({ removeKeys: ['$.'] }, HOST), /empty keys/);
});
