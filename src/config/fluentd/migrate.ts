// an existing fluentd setup for teleport (fluent.conf, and optionally teleport-event-handler.toml) turned into our
// TOML config. pure: the caller reads the files (and included ones, through readInclude) and writes the result.
//
// what maps where:
//   <source> @type http (+ <transport tls>, <parse>)   -> [ingest]
//   each <match> in order                               -> a [[match]] rule (datadog or null)
//   the first @type datadog's api_key/site/host/compression -> [datadog] (one destination; the rest noted)
//   teleport-event-handler.toml keys                    -> kept (our loader reads them), paths made absolute
// everything else becomes a note that says why it was not carried over and what to use instead.
//
// paths: relative paths are resolved against the directory of the file they came from and written absolute, so
// the output works wherever it is written (fluentd itself resolves them against its working directory, which we
// cannot know). the only relative paths in the output are ours: storage and the secret files beside the toml.
// secrets (the api key, the tls key passphrase) never go into the toml: they are returned for the caller to
// write into 0600 files beside it (the toml names those files), or to use in memory.
import { MigrationContext, type MigrateInput, type MigrateResult } from './context.js';
import { handler, coverage } from './handler.js';
import { parseFluentConf } from './parser.js';
import { routing } from './routing.js';
import { sources } from './source.js';
import { emit } from './toml.js';

export {
  API_KEY_FILE,
  PASSPHRASE_FILE,
  type MigrateInput,
  type MigrateResult,
  type MigrationNote,
  type SecretFile,
} from './context.js';

export function migrateFluentd(input: MigrateInput): MigrateResult {
  const ctx = new MigrationContext(input);
  const { root, diagnostics } = parseFluentConf(input.fluentConf, {
    file: ctx.confPath,
    env: ctx.env,
    include: input.readInclude,
  });
  for (const d of diagnostics) ctx.notes.push({ level: d.level, where: ctx.where(d.file, d.line), message: d.message });

  ctx.top.push({ key: 'storage', value: './storage' });
  const ingestOk = sources(ctx, root);
  routing(ctx, root);
  const pollerOk = handler(ctx);
  coverage(ctx);
  if (ctx.relativePathSeen) {
    ctx.info(
      ctx.confPath,
      1,
      'relative paths were resolved against the directory of the file they appear in and written absolute (fluentd resolves them against its working directory: check them)',
    );
  }
  const usable = ingestOk || pollerOk;
  if (!usable) {
    ctx.warn(
      ctx.confPath,
      1,
      'nothing to forward: no <source> @type http with <transport tls> ca_path, cert_path and private_key_path, and no teleport-event-handler.toml with Teleport credentials',
    );
  }
  ctx.sortNotes();
  return {
    toml: emit(ctx),
    notes: ctx.notes,
    secretFiles: ctx.secretFiles,
    usable,
    ...ctx.result,
  };
}
