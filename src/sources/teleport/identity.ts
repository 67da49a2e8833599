// teleport client identity: an identity file (`tctl auth sign --out=identity`, tbot's `identity` output) or separate
// cert/key/ca files. parsing is pure; loading reads the files and validates (key matches cert, validity period).
// messages name the file and what to do; they never carry key material.
import { readFileSync } from 'node:fs';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { TlsFileError } from '../../errors.js';

export interface IdentityParts {
  /** PEM private key of the client certificate */
  key: string;
  /** PEM TLS client certificate */
  cert: string;
  /** PEM TLS CA certificates (the cluster's host CA, used to verify the auth service) */
  cas: string[];
}

export interface TlsIdentity extends IdentityParts {
  /** where it came from, for messages: the identity file, or the cert file */
  file: string;
  notBefore: Date;
  notAfter: Date;
  /** the cluster name, read from the client certificate's issuer (teleport's user CA is named after the cluster) */
  clusterName: string | undefined;
  /** subject common name of the client certificate (the teleport user or bot) */
  user: string | undefined;
  /** sha-256 over key, cert and cas: tells a rotated identity from the same one */
  fingerprint: string;
}

export type IdentitySource = { identityFile: string } | { certFile: string; keyFile: string; caFile: string };

const BEGIN = /^-----BEGIN ([A-Z0-9 ]+)-----\s*$/;
const END = /^-----END ([A-Z0-9 ]+)-----\s*$/;

interface PemBlock {
  type: string;
  pem: string;
}

/** splits text into its PEM blocks and other non-empty lines, in order */
function scan(text: string): Array<PemBlock | { line: string }> {
  const out: Array<PemBlock | { line: string }> = [];
  let open: { type: string; lines: string[] } | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (open) {
      open.lines.push(line);
      const end = END.exec(line);
      if (end) {
        out.push({ type: open.type, pem: open.lines.join('\n') + '\n' });
        open = null;
      }
      continue;
    }
    const begin = BEGIN.exec(line);
    if (begin) open = { type: begin[1]!, lines: [line] };
    else if (line.trim() !== '') out.push({ line: line.trim() });
  }
  if (open) out.push({ line: `unterminated ${open.type} block` });
  return out;
}

/**
 * parses an identity file: the PEM private key first; a line starting with an ssh certificate type (ignored);
 * the next PEM CERTIFICATE is the TLS client cert; `@cert-authority` lines are ssh CAs (ignored); any further
 * PEM certificates are TLS CAs.
 */
export function parseIdentityFile(text: string, file: string): IdentityParts {
  let key: string | undefined;
  let cert: string | undefined;
  const cas: string[] = [];
  for (const item of scan(text)) {
    if ('line' in item) {
      if (item.line.startsWith('unterminated ')) {
        throw new TlsFileError(
          `teleport identity file ${file}: ${item.line}; the file is truncated, write it again (tctl auth sign, or let tbot renew it)`,
        );
      }
      // ssh certificate, @cert-authority lines and anything else that is not PEM: not used for TLS
      continue;
    }
    if (item.type.endsWith('PRIVATE KEY')) {
      if (key === undefined) key = item.pem;
      continue;
    }
    if (item.type === 'CERTIFICATE') {
      if (cert === undefined) cert = item.pem;
      else cas.push(item.pem);
    }
  }
  if (key === undefined) {
    throw new TlsFileError(
      `teleport identity file ${file} holds no private key; expected the output of \`tctl auth sign --format=file\` or tbot's identity output`,
    );
  }
  if (cert === undefined) {
    throw new TlsFileError(
      `teleport identity file ${file} holds no TLS certificate; sign it again with \`tctl auth sign --format=file\` (the openssh-only formats cannot be used)`,
    );
  }
  if (cas.length === 0) {
    throw new TlsFileError(
      `teleport identity file ${file} holds no TLS CA certificate to verify the auth service; sign it again with \`tctl auth sign --format=file\``,
    );
  }
  return { key, cert, cas };
}

/** the inverse of parseIdentityFile, in the layout tctl writes; used by tests and the demo */
export function formatIdentityFile(parts: {
  key: string;
  cert: string;
  cas: string[];
  sshCert?: string;
  sshCas?: string[];
}): string {
  const lines: string[] = [parts.key.trim()];
  if (parts.sshCert) lines.push(parts.sshCert.trim());
  lines.push(parts.cert.trim());
  for (const ca of parts.sshCas ?? []) lines.push(ca.trim());
  for (const ca of parts.cas) lines.push(ca.trim());
  return lines.join('\n') + '\n';
}

/** splits a CA bundle file into its certificates */
export function splitCertificates(text: string): string[] {
  const out: string[] = [];
  for (const item of scan(text)) if (!('line' in item) && item.type === 'CERTIFICATE') out.push(item.pem);
  return out;
}

function commonName(dn: string): string | undefined {
  for (const part of dn.split(/\n|,\s*/)) {
    const m = /^CN=(.*)$/.exec(part.trim());
    if (m) return m[1];
  }
  return undefined;
}

export interface ValidateOptions {
  /** the file to name in messages (identity file, or the cert file) */
  file: string;
  /** the key file when separate from the cert file */
  keyFile?: string;
  /** the CA file when separate */
  caFile?: string;
  now?: number;
}

/**
 * a well-formed identity past its expiry. `identity` is what the file holds: with refresh on, the poller starts
 * with it and waits for tbot to renew the file instead of exiting (an exit 2 is not restarted by systemd)
 */
export class IdentityExpiredError extends TlsFileError {
  declare readonly identity: TlsIdentity;
  constructor(message: string, identity: TlsIdentity) {
    super(message);
    this.name = 'IdentityExpiredError';
    // not enumerable: an error logged whole must not carry the private key
    Object.defineProperty(this, 'identity', { value: identity, enumerable: false });
  }
}

const renew = (file: string, user: string | undefined) =>
  `renew it: tbot rewrites it before it expires, or run \`tctl auth sign --user=${user ?? '<its user>'} --format=file --ttl=720h --out=${file}\``;

/** checks the parts and derives the identity; throws TlsFileError naming the file and what to do */
export function validateIdentity(parts: IdentityParts, o: ValidateOptions): TlsIdentity {
  const now = o.now ?? Date.now();
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(parts.cert);
  } catch (err) {
    throw new TlsFileError(`teleport client certificate in ${o.file} cannot be parsed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let key;
  try {
    key = createPrivateKey(parts.key);
  } catch (err) {
    // the openssl message never contains the key itself
    throw new TlsFileError(
      `teleport private key in ${o.keyFile ?? o.file} cannot be read (${(err as Error).message}); an encrypted key is not supported, write the identity again`,
      { cause: err },
    );
  }
  if (!x509.checkPrivateKey(key)) {
    throw new TlsFileError(
      `teleport private key in ${o.keyFile ?? o.file} does not match the client certificate in ${o.file}; use the key and certificate written together by tctl auth sign or tbot`,
    );
  }
  for (const ca of parts.cas) {
    try {
      new X509Certificate(ca);
    } catch (err) {
      throw new TlsFileError(
        `a teleport CA certificate in ${o.caFile ?? o.file} cannot be parsed: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  const notBefore = new Date(x509.validFrom);
  const notAfter = new Date(x509.validTo);
  const fingerprint = createHash('sha256')
    .update(parts.key)
    .update('\0')
    .update(parts.cert)
    .update('\0')
    .update(parts.cas.join('\0'))
    .digest('hex');
  const identity: TlsIdentity = {
    ...parts,
    file: o.file,
    notBefore,
    notAfter,
    clusterName: commonName(x509.issuer),
    user: commonName(x509.subject),
    fingerprint,
  };
  if (now >= notAfter.getTime()) {
    throw new IdentityExpiredError(
      `teleport client certificate in ${o.file} expired at ${notAfter.toISOString()} (now ${new Date(now).toISOString()}); ${renew(o.file, identity.user)}`,
      identity,
    );
  }
  if (now < notBefore.getTime()) {
    throw new TlsFileError(
      `teleport client certificate in ${o.file} is not valid before ${notBefore.toISOString()} (now ${new Date(now).toISOString()}); check this machine's clock, or ${renew(o.file, identity.user)}`,
    );
  }
  return identity;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable by this user'
          : (err as Error).message;
    throw new TlsFileError(`teleport ${what} ${file} ${why}`, { cause: err });
  }
}

/** reads and validates an identity from files */
export function loadIdentity(source: IdentitySource, now?: number): TlsIdentity {
  if ('identityFile' in source) {
    const parts = parseIdentityFile(readText(source.identityFile, 'identity file'), source.identityFile);
    return validateIdentity(parts, { file: source.identityFile, now });
  }
  const cert = readText(source.certFile, 'certificate file');
  const key = readText(source.keyFile, 'key file');
  const caText = readText(source.caFile, 'CA file');
  const certs = splitCertificates(cert);
  if (certs.length === 0)
    throw new TlsFileError(`teleport certificate file ${source.certFile} holds no PEM certificate`);
  const cas = splitCertificates(caText);
  if (cas.length === 0) throw new TlsFileError(`teleport CA file ${source.caFile} holds no PEM certificate`);
  return validateIdentity(
    { key, cert: certs.join(''), cas },
    { file: source.certFile, keyFile: source.keyFile, caFile: source.caFile, now },
  );
}
