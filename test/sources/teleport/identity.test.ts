import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCA, createCert } from '../../../src/tls/certs.js';
import { TlsFileError } from '../../../src/errors.js';
import {
  IdentityExpiredError,
  formatIdentityFile,
  loadIdentity,
  parseIdentityFile,
  validateIdentity,
} from '../../../src/sources/teleport/identity.js';

const userCa = createCA({ commonName: 'tele.example.com' });
const hostCa = createCA({ commonName: 'tele.example.com' });
const client = createCert(userCa, { usage: 'client', commonName: 'bot-datadog' });
const SSH_CERT = 'ssh-rsa-cert-v01@openssh.com AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5jb20AAAAg bot';
const SSH_CA = '@cert-authority tele.example.com,*.tele.example.com ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ type=host';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tdf-identity-'));
}

test('parses a tctl identity file: key first, ssh cert and ssh CAs ignored, tls cert then tls CAs', () => {
  const text = formatIdentityFile({
    key: client.key,
    cert: client.cert,
    cas: [hostCa.cert, userCa.cert],
    sshCert: SSH_CERT,
    sshCas: [SSH_CA],
  });
  const lines = text.split('\n');
  assert.match(lines[0]!, /BEGIN RSA PRIVATE KEY/);
  assert.ok(lines.includes(SSH_CERT));
  assert.ok(lines.includes(SSH_CA));
  const parts = parseIdentityFile(text, 'identity');
  const norm = (s: string) => s.replace(/\r\n/g, '\n').trim();
  assert.equal(norm(parts.key), norm(client.key));
  assert.equal(norm(parts.cert), norm(client.cert));
  assert.deepEqual(parts.cas.map(norm), [norm(hostCa.cert), norm(userCa.cert)]);
});

test('tolerates CRLF line endings and a trailing newline-less file', () => {
  const text = formatIdentityFile({ key: client.key, cert: client.cert, cas: [hostCa.cert] })
    .replace(/\n/g, '\r\n')
    .trimEnd();
  const parts = parseIdentityFile(text, 'identity');
  assert.equal(parts.cas.length, 1);
  const id = validateIdentity(parts, { file: 'identity' });
  assert.equal(id.clusterName, 'tele.example.com');
  assert.equal(id.user, 'bot-datadog');
});

test('missing parts name the file and what to do', () => {
  assert.throws(
    () => parseIdentityFile(client.cert, '/etc/tdf/identity'),
    (e: unknown) => e instanceof TlsFileError && /\/etc\/tdf\/identity holds no private key/.test(e.message),
  );
  assert.throws(() => parseIdentityFile(client.key, 'id'), /holds no TLS certificate/);
  assert.throws(() => parseIdentityFile(client.key + client.cert, 'id'), /no TLS CA certificate/);
  const truncated = formatIdentityFile({ key: client.key, cert: client.cert, cas: [hostCa.cert] })
    .split('\n')
    .slice(0, -6)
    .join('\n');
  assert.throws(() => parseIdentityFile(truncated, 'id'), /truncated/);
});

test('a valid identity file loads; fingerprint changes when the file changes', () => {
  const dir = tmpdir();
  try {
    const file = path.join(dir, 'identity');
    fs.writeFileSync(
      file,
      formatIdentityFile({ key: client.key, cert: client.cert, cas: [hostCa.cert], sshCert: SSH_CERT }),
    );
    const a = loadIdentity({ identityFile: file });
    assert.equal(a.file, file);
    assert.ok(a.notAfter.getTime() > Date.now());
    const other = createCert(userCa, { usage: 'client', commonName: 'bot-datadog' });
    fs.writeFileSync(file, formatIdentityFile({ key: other.key, cert: other.cert, cas: [hostCa.cert] }));
    const b = loadIdentity({ identityFile: file });
    assert.notEqual(a.fingerprint, b.fingerprint);
    assert.equal(loadIdentity({ identityFile: file }).fingerprint, b.fingerprint);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an expired certificate is refused with its expiry time and how to renew, and no key material', () => {
  const old = createCert(userCa, {
    usage: 'client',
    commonName: 'bot',
    notBefore: new Date(Date.now() - 10 * 3600_000),
    ttlHours: 1,
  });
  const parts = { key: old.key, cert: old.cert, cas: [hostCa.cert] };
  const expiry = validateIdentityExpiry(old.cert);
  assert.throws(
    () => validateIdentity(parts, { file: '/var/lib/tbot/identity' }),
    (e: unknown) => {
      assert.ok(e instanceof TlsFileError);
      assert.equal(e.code, 'TDF_TLS');
      assert.match(e.message, /\/var\/lib\/tbot\/identity/);
      assert.ok(e.message.includes(`expired at ${expiry}`), e.message);
      assert.match(e.message, /tbot|tctl auth sign/);
      assert.ok(!e.message.includes('PRIVATE KEY'));
      assert.ok(!e.message.includes(old.key.split('\n')[1]!));
      return true;
    },
  );
});

test('the expiry error carries the identity read (for a poller that waits for its renewal), never enumerable', () => {
  const old = createCert(userCa, {
    usage: 'client',
    commonName: 'bot',
    notBefore: new Date(Date.now() - 10 * 3600_000),
    ttlHours: 1,
  });
  const parts = { key: old.key, cert: old.cert, cas: [hostCa.cert] };
  assert.throws(
    () => validateIdentity(parts, { file: 'id' }),
    (e: unknown) => {
      assert.ok(e instanceof IdentityExpiredError && e instanceof TlsFileError);
      assert.equal(e.identity.user, 'bot');
      assert.equal(e.identity.notAfter.toISOString(), validateIdentityExpiry(old.cert));
      assert.equal(
        e.identity.fingerprint,
        validateIdentity(parts, { file: 'id', now: Date.now() - 9 * 3600_000 }).fingerprint,
      );
      // an error logged whole (JSON, or pino's serializer of own properties) shows no key
      assert.ok(!Object.keys(e).includes('identity'));
      assert.ok(!JSON.stringify(e).includes('PRIVATE KEY'));
      return true;
    },
  );
  // not valid yet is another problem: no identity to wait with
  const future = createCert(userCa, { usage: 'client', notBefore: new Date(Date.now() + 10 * 3600_000) });
  assert.throws(
    () => validateIdentity({ key: future.key, cert: future.cert, cas: [hostCa.cert] }, { file: 'id' }),
    (e: unknown) => !(e instanceof IdentityExpiredError),
  );
});

function validateIdentityExpiry(certPem: string): string {
  return new Date(new X509Certificate(certPem).validTo).toISOString();
}

test('a certificate not valid yet is refused with its start time', () => {
  const future = createCert(userCa, { usage: 'client', notBefore: new Date(Date.now() + 10 * 3600_000) });
  assert.throws(
    () => validateIdentity({ key: future.key, cert: future.cert, cas: [hostCa.cert] }, { file: 'id' }),
    /not valid before \d{4}-\d\d-\d\dT/,
  );
});

test('a key that does not match the certificate is refused, naming both files', () => {
  const dir = tmpdir();
  try {
    const other = createCert(userCa, { usage: 'client' });
    const cert = path.join(dir, 'tls.crt');
    const key = path.join(dir, 'tls.key');
    const ca = path.join(dir, 'tls.cas');
    fs.writeFileSync(cert, client.cert);
    fs.writeFileSync(key, other.key);
    fs.writeFileSync(ca, hostCa.cert + userCa.cert);
    assert.throws(
      () => loadIdentity({ certFile: cert, keyFile: key, caFile: ca }),
      (e: unknown) =>
        e instanceof TlsFileError &&
        e.message.includes(key) &&
        e.message.includes(cert) &&
        /does not match/.test(e.message),
    );
    fs.writeFileSync(key, client.key);
    const id = loadIdentity({ certFile: cert, keyFile: key, caFile: ca });
    assert.equal(id.cas.length, 2);
    assert.throws(
      () => loadIdentity({ certFile: cert, keyFile: path.join(dir, 'nope'), caFile: ca }),
      /nope does not exist/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
