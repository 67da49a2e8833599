// mutual tls for the ingest: checks the server's material up front so a bad file or passphrase is a clear error,
// and decides whether a verified client certificate may be used for client authentication.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import tls from 'node:tls';
import { TlsFileError } from '../../errors.js';

export interface IngestTls {
  /** PEM CA certificate(s) that client certificates must chain to */
  ca: string | Buffer;
  /** PEM server certificate (chain) */
  cert: string | Buffer;
  /** PEM server key, possibly encrypted (legacy `Proc-Type: 4,ENCRYPTED` or PKCS#8) */
  key: string | Buffer;
  passphrase?: string;
}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';
// our names for the passphrase (fluent.conf's private_key_passphrase is read into the first)
const PASSPHRASE_SETTINGS = 'ingest.key-passphrase-file or ingest.key-passphrase (env TDF_INGEST_KEY_PASSPHRASE)';
const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

function reasonOf(err: unknown): string {
  const e = err as { reason?: unknown; message?: unknown };
  return String(e.reason ?? e.message ?? err);
}

/**
 * a secure context for the server, after checking each part so the error names the problem. never puts key
 * material or the passphrase into a message.
 */
export function secureContextOptions(t: IngestTls, now = Date.now()): tls.SecureContextOptions {
  const caBlocks = String(t.ca).match(PEM_CERT) ?? [];
  if (caBlocks.length === 0)
    throw new TlsFileError('ingest TLS: the CA file holds no PEM certificate (BEGIN CERTIFICATE)');
  for (const block of caBlocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new TlsFileError(`ingest TLS: a certificate in the CA file does not parse: ${reasonOf(err)}`, {
        cause: err,
      });
    }
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(t.cert);
  } catch (err) {
    throw new TlsFileError(`ingest TLS: the server certificate is not a valid PEM certificate: ${reasonOf(err)}`, {
      cause: err,
    });
  }
  if (Date.parse(cert.validTo) < now) {
    throw new TlsFileError(
      `ingest TLS: the server certificate (${cert.subject.replace(/\n/g, ', ')}) expired on ${cert.validTo}; renew it`,
    );
  }
  let key: KeyObject;
  const encrypted = /ENCRYPTED/.test(String(t.key));
  try {
    key = createPrivateKey({ key: t.key, format: 'pem', passphrase: t.passphrase });
  } catch (err) {
    if (encrypted && (t.passphrase === undefined || t.passphrase === '')) {
      throw new TlsFileError(
        `ingest TLS: the server key is encrypted and no passphrase was given: set ${PASSPHRASE_SETTINGS}`,
      );
    }
    if (encrypted) {
      throw new TlsFileError(
        `ingest TLS: the server key could not be decrypted: the passphrase is wrong: check ${PASSPHRASE_SETTINGS}`,
      );
    }
    throw new TlsFileError(`ingest TLS: the server key is not a valid PEM private key: ${reasonOf(err)}`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new TlsFileError('ingest TLS: the server key does not match the server certificate');
  }
  const options: tls.SecureContextOptions = { ca: t.ca, cert: t.cert, key: t.key, passphrase: t.passphrase };
  try {
    tls.createSecureContext(options);
  } catch (err) {
    throw new TlsFileError(`ingest TLS: the TLS material was refused: ${reasonOf(err)}`);
  }
  return options;
}

/**
 * why a client certificate that chains to the CA must still be refused, or null when it may authenticate:
 * an extended key usage that exists must allow clientAuth (no extension at all means any usage).
 */
export function clientCertRefusal(cert: X509Certificate | undefined): string | null {
  if (cert === undefined) return 'no client certificate';
  const eku = cert.keyUsage; // node names the extended key usage oids `keyUsage`
  if (eku === undefined || eku.length === 0) return null;
  if (eku.includes(CLIENT_AUTH) || eku.includes(ANY_EKU)) return null;
  return `client certificate's extended key usage (${eku.join(', ')}) does not allow clientAuth`;
}
