/**
 * SIP over TLS (node:tls): see transport-stream.ts for how the connection is used. The server's
 * certificate is checked against the system's CAs, or the given `ca`, and must name the server
 * (`servername`, default the server host); `rejectUnauthorized: false` turns the check off (for a test
 * PBX with a self-signed certificate: the connection is then encrypted but not authenticated).
 */
import { connect as netConnect, isIP, Socket } from 'node:net';
import { connect } from 'node:tls';
import { explainCertificateError } from './certificate-error';
import { StreamTransport, StreamTransportOptions } from './transport-stream';

export interface TlsTransportOptions extends StreamTransportOptions {
  /** Trusted CA certificates (PEM), instead of the system's. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Check the server's certificate (default true). */
  rejectUnauthorized?: boolean;
  /** The name the certificate must carry (default: the server host, unless it is an IP address). */
  servername?: string;
  /** A client certificate and its key (PEM), for servers that authenticate clients by certificate. */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export class TlsTransport extends StreamTransport {
  readonly protocol = 'TLS';

  constructor(logger: unknown, options: TlsTransportOptions) {
    super(logger, options);
  }

  protected dial(): { socket: Socket; ready: Promise<void> } {
    const options = this.options as TlsTransportOptions;
    const host = options.server.host;
    // The TCP connection is made first so that the local address and port can be chosen.
    const raw = netConnect({ host, port: options.server.port, localAddress: options.localAddress, localPort: options.localPort || undefined });
    const socket = connect({
      socket: raw,
      host, // with `socket`, only used to check the certificate names this host
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      rejectUnauthorized: options.rejectUnauthorized !== false,
      servername: options.servername ?? (isIP(host) ? undefined : host),
    });
    raw.on('error', (err) => socket.destroy(err));
    const ready = StreamTransport.readyOn(socket, 'secureConnect').catch((err: NodeJS.ErrnoException) => {
      throw explainCertificateError(err);
    });
    return { socket, ready };
  }
}
