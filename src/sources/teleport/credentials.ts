// grpc channel credentials for teleport: mTLS with the identity's cert/key, the identity's TLS CAs as the only
// roots, the server name `teleport.cluster.local`, and the ALPN protocols we choose.
//
// why a ChannelCredentials subclass: grpc-js hard-codes `ALPNProtocols = ['h2']` in the connection options it
// builds for createSsl() and createFromSecureContext() (channel-credentials.js, getConnectionOptions), and no
// channel option changes it. proxy tls routing needs `teleport-auth@<hex(cluster)>.teleport.cluster.local`
// offered before `h2`. grpc-js declares ChannelCredentials as an abstract class whose `_isSecure`, `_equals` and
// `_createSecureConnector` are part of its public typings, and exports the SecureConnector type in
// `experimental`; the subchannel only calls `_createSecureConnector(target, options)` and then
// `connector.connect(tcpSocket)`, so implementing that one method gives us the tls handshake (checked against
// grpc-js 1.14). the http2 session is then created by grpc-js on the socket we return, as usual.
import * as tls from 'node:tls';
import type { Socket } from 'node:net';
import { ChannelCredentials, CallCredentials, experimental } from '@grpc/grpc-js';
import type { TlsIdentity } from './identity.js';

/** teleport's api domain: the name on the auth service's certificate */
export const TELEPORT_API_DOMAIN = 'teleport.cluster.local';

/** the ALPN protocol that asks a teleport proxy (tls routing) to forward the connection to the auth service */
export function authAlpnProtocol(clusterName: string): string {
  return `teleport-auth@${Buffer.from(clusterName, 'utf8').toString('hex')}.${TELEPORT_API_DOMAIN}`;
}

export interface TeleportTlsOptions {
  identity: TlsIdentity;
  /** name to verify on the server certificate and send as SNI */
  serverName: string;
  /** ALPN protocols offered, in order; `h2` must be among them */
  alpnProtocols: string[];
}

type CreateSecureConnector = ChannelCredentials['_createSecureConnector'];

export class TeleportChannelCredentials extends ChannelCredentials {
  private readonly secureContext: tls.SecureContext;
  constructor(private readonly o: TeleportTlsOptions) {
    super();
    this.secureContext = tls.createSecureContext({ key: o.identity.key, cert: o.identity.cert, ca: o.identity.cas });
  }

  override _isSecure(): boolean {
    return true;
  }

  override _equals(other: ChannelCredentials): boolean {
    return other === this;
  }

  override _createSecureConnector(
    _target: Parameters<CreateSecureConnector>[0],
    _options: Parameters<CreateSecureConnector>[1],
    callCredentials?: CallCredentials,
  ): experimental.SecureConnector {
    const { secureContext } = this;
    const { serverName, alpnProtocols } = this.o;
    const creds = callCredentials ?? CallCredentials.createEmpty();
    return {
      connect(socket: Socket) {
        return new Promise((resolve, reject) => {
          const tlsSocket = tls.connect({
            socket,
            secureContext,
            servername: serverName,
            ALPNProtocols: alpnProtocols,
            // verify the name teleport puts on its auth certificates, whatever address we dialled
            checkServerIdentity: (_host, cert) => tls.checkServerIdentity(serverName, cert),
          });
          const onError = (err: Error) => reject(err);
          const onClose = () => reject(new Error('connection closed during the TLS handshake'));
          tlsSocket.once('error', onError);
          tlsSocket.once('close', onClose);
          tlsSocket.once('secureConnect', () => {
            tlsSocket.removeListener('error', onError);
            tlsSocket.removeListener('close', onClose);
            if (!tlsSocket.authorized) {
              tlsSocket.destroy();
              reject(tlsSocket.authorizationError ?? new Error('server certificate not trusted'));
              return;
            }
            resolve({ socket: tlsSocket, secure: true });
          });
        });
      },
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => creds,
      destroy() {},
    };
  }
}
