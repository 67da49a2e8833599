// the ingest's tls connections before http sees them: client certificates not meant for client auth are refused,
// failed handshakes are counted and logged by how much they say about a misconfigured client
import type { Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../log.js';
import { clientCertRefusal } from './tls.js';

export interface GuardDeps {
  log: Logger;
  counters: { tlsRefused: number; tlsFailed: number };
  /** a connection let through to http (the server tags it with its tls generation) */
  accepted(socket: TLSSocket): void;
}

/** refuses a verified client certificate that is not meant for client auth, before http sees the socket */
export function guardConnections(server: HttpsServer, { log, counters, accepted }: GuardDeps): void {
  const httpListeners = server.listeners('secureConnection') as Array<(s: TLSSocket) => void>;
  server.removeAllListeners('secureConnection');
  server.on('secureConnection', (socket: TLSSocket) => {
    const cert = socket.getPeerX509Certificate();
    const refusal = clientCertRefusal(cert);
    if (refusal !== null) {
      counters.tlsRefused++;
      log.warn(
        {
          remote: socket.remoteAddress,
          subject: cert?.subject.replace(/\n/g, ', '),
          issuer: cert?.issuer.replace(/\n/g, ', '),
        },
        `refused a client connection: ${refusal}`,
      );
      socket.destroy();
      return;
    }
    accepted(socket);
    for (const l of httpListeners) l.call(server, socket);
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    counters.tlsFailed++;
    // a certificate that failed verification is a misconfigured client: warn with openssl's reason
    // (CERT_HAS_EXPIRED, INVALID_PURPOSE, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...). scanners and tcp probes: debug
    const refusal = socket.authorizationError;
    if (refusal) {
      log.warn({ code: err.code, reason: String(refusal) }, `refused a client certificate: ${String(refusal)}`);
    } else if (err.code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') {
      log.warn(
        { remote: socket.remoteAddress, code: err.code },
        'refused a client without a certificate (mutual TLS is required)',
      );
    } else {
      log.debug(
        { remote: socket.remoteAddress, code: err.code, reason: err.message },
        'TLS handshake with a client failed',
      );
    }
  });
}
