// <transport tls> of the http source: the ingest's ca, cert and key (paths made absolute), the key's passphrase as
// a secret, and the tls settings the ingest does without as notes. pure.
import { PASSPHRASE_FILE, type Entry, type MigrationContext } from './context.js';
import type { FluentSection } from './tree.js';
import { fluentBool } from './values.js';

/** <transport tls>: fills files and entries with the ingest's ca, cert, key and passphrase file */
export function transport(
  ctx: MigrationContext,
  tls: FluentSection,
  files: { ca?: string; cert?: string; key?: string },
  entries: Entry[],
): void {
  let clientAuth = false;
  for (const p of tls.params) {
    switch (p.key) {
      case 'ca_path':
      case 'cert_path':
      case 'private_key_path': {
        const k = ({ ca_path: 'ca', cert_path: 'cert', private_key_path: 'key' } as const)[p.key];
        const file = ctx.path(p);
        if (file) {
          files[k] = file;
          entries.push({ key: k, value: file });
          const missing = ctx.missingFile(`${p.key} ${file}`, file, 'Fluentd', `ingest.${k}`);
          if (missing) ctx.warn(p.file, p.line, missing);
        }
        break;
      }
      case 'private_key_passphrase': {
        const s = ctx.secret(p, 'the tls key passphrase');
        if (s.env) {
          ctx.result.keyPassphraseEnv = s.env;
          ctx.warn(
            p.file,
            p.line,
            `the tls key passphrase came from the environment variable ${s.env}: the forwarder reads it from TDF_INGEST_KEY_PASSPHRASE (set that to the same value)`,
          );
        }
        if (s.value !== undefined) {
          ctx.result.keyPassphrase = s.value;
          if (!s.env && ctx.writeSecretFiles) {
            ctx.secretFiles.push({ name: PASSPHRASE_FILE, value: s.value, what: 'the passphrase of ingest.key' });
            entries.push({ key: 'key-passphrase-file', value: PASSPHRASE_FILE });
          }
        }
        break;
      }
      case 'client_cert_auth': {
        clientAuth = fluentBool(p.value) === true;
        if (!clientAuth)
          ctx.warn(
            p.file,
            p.line,
            '"client_cert_auth" is not true here, but the ingest always requires client certificates signed by ingest.ca: clients without one will be refused',
          );
        break;
      }
      case 'version':
      case 'min_version':
      case 'max_version':
      case 'ciphers':
      case 'insecure':
        ctx.info(
          p.file,
          p.line,
          `"${p.key}" is not carried over: the ingest uses Node's TLS defaults (TLS 1.2 and 1.3, secure ciphers)`,
        );
        break;
      case 'cert_verifier':
        ctx.warn(
          p.file,
          p.line,
          '"cert_verifier" (a ruby client certificate check) is not carried over: clients are checked against ingest.ca only',
        );
        break;
      default:
        ctx.warn(
          p.file,
          p.line,
          `"${p.key}" in <transport tls> is not carried over (certificate generation and the Windows certificate store are not supported)`,
        );
    }
  }
  if (!tls.params.some((p) => p.key === 'client_cert_auth')) {
    ctx.warn(
      tls.file,
      tls.line,
      'no "client_cert_auth true": fluentd did not ask for client certificates, but the ingest always requires them (signed by ingest.ca)',
    );
  }
  for (const s of tls.sections) ctx.warn(s.file, s.line, `<${s.name}> in <transport> is not carried over`);
}
