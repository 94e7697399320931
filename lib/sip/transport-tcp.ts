/** SIP over TCP (node:net): see transport-stream.ts for how the connection is used. */
import { connect, Socket } from 'node:net';
import { StreamTransport, StreamTransportOptions } from './transport-stream';

export type TcpTransportOptions = StreamTransportOptions;

export class TcpTransport extends StreamTransport {
  readonly protocol = 'TCP';

  constructor(logger: unknown, options: TcpTransportOptions) {
    super(logger, options);
  }

  protected dial(): { socket: Socket; ready: Promise<void> } {
    const socket = connect({
      host: this.options.server.host,
      port: this.options.server.port,
      localAddress: this.options.localAddress,
      localPort: this.options.localPort || undefined,
    });
    return { socket, ready: StreamTransport.readyOn(socket, 'connect') };
  }
}
