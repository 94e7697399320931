/**
 * SIP over UDP (node:dgram) behind sip.js's `Transport` interface.
 *
 * One socket, bound to the local port (Contact names it), used both ways so that replies to our
 * requests (RFC 3581 `rport`) and requests to our Contact arrive on it:
 * - requests go to the server (or the outbound proxy): sip.js does not tell a transport where a message
 *   goes, and a line sends everything through its server;
 * - responses go where their request came from: each request we receive gets `received`/`rport` in its
 *   top Via (what a server transport does), which sip.js copies into the response;
 * - "connected" means the socket is bound; UDP cannot tell that the server went away (the user agent's
 *   keep-alive does);
 * - retransmissions sip.js leaves out for unreliable transports are done here (transport-retransmit.ts).
 */
import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import { asError, LocalEndpoint, NodeTransport, NodeTransportOptions, SourceAddress } from './transport-base';
import { resolveHost } from './transport-address';
import { peekMessage, responseDestination, stampReceived } from './transport-message';
import { Destination, RetransmitTimers, RFC3261_TIMERS, UdpRetransmitter } from './transport-retransmit';

export interface UdpTransportOptions extends NodeTransportOptions {
  /** RFC 3261 T1/T2 for retransmissions (tests shorten them). */
  timers?: RetransmitTimers;
}

/** A UDP datagram carries one message; anything larger than this cannot be SIP over UDP. */
const MAX_DATAGRAM = 65507;

export class UdpTransport extends NodeTransport {
  readonly protocol = 'UDP';
  private socket: Socket | undefined;
  private server: Destination | undefined;
  private bound: LocalEndpoint | undefined;
  private readonly retransmitter: UdpRetransmitter;

  constructor(logger: unknown, options: UdpTransportOptions) {
    super(logger, options);
    this.retransmitter = new UdpRetransmitter((bytes, to) => this.sendBytes(bytes, to), options.timers ?? RFC3261_TIMERS);
  }

  get local(): LocalEndpoint | undefined {
    return this.bound;
  }

  /** Retransmission state, for tests. */
  get retransmissions(): UdpRetransmitter {
    return this.retransmitter;
  }

  protected async open(): Promise<void> {
    const remote = await resolveHost(this.options.server.host);
    this.server = { host: remote.address, port: this.options.server.port };
    const socket = createSocket({ type: remote.family === 6 ? 'udp6' : 'udp4' });
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: this.options.localPort ?? 0, address: this.options.localAddress, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    }).catch((err) => {
      this.forget(socket);
      throw new Error(`cannot bind UDP ${this.options.localAddress ?? '*'}:${this.options.localPort ?? 0}: ${asError(err).message}`);
    });
    const address = socket.address();
    this.bound = { address: address.address, port: address.port };
    socket.on('message', (data, rinfo) => this.onDatagram(socket, data, rinfo));
    socket.on('error', (err) => {
      if (socket === this.socket) this.lost(err);
    });
  }

  protected async close(): Promise<void> {
    this.retransmitter.clear();
    const socket = this.socket;
    this.socket = undefined;
    this.bound = undefined;
    if (socket) this.forget(socket);
  }

  protected write(message: string): Promise<void> {
    const bytes = Buffer.from(message, 'utf8');
    if (bytes.length > MAX_DATAGRAM) return Promise.reject(new Error(`message of ${bytes.length} bytes is too large for UDP`));
    const peek = peekMessage(message);
    let to = this.server as Destination;
    if (peek?.kind === 'response') {
      to = responseDestination(peek, 5060) ?? to;
    }
    if (peek) this.retransmitter.sent(peek, bytes, to);
    return new Promise((resolve, reject) => {
      const socket = this.socket;
      if (!socket) return reject(new Error('cannot send: UDP socket closed'));
      socket.send(bytes, to.port, to.host, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** A datagram is the server's when it comes from the address and port requests go to. */
  protected override fromServer(source: SourceAddress | undefined): boolean {
    return source !== undefined && source.address === this.server?.host && source.port === this.server.port;
  }

  private sendBytes(bytes: Buffer, to: Destination): void {
    this.socket?.send(bytes, to.port, to.host, (err) => {
      if (err) this.log.debug(`sip udp: retransmission to ${to.host}:${to.port} failed: ${err.message}`);
    });
  }

  private onDatagram(socket: Socket, data: Buffer, rinfo: RemoteInfo): void {
    if (socket !== this.socket) return;
    const from = `${rinfo.address}:${rinfo.port}`;
    // Keep-alives (RFC 5626 §4.4.1 CRLF, or STUN-less pings of some phones) carry no message.
    if (data.length <= 4 && /^[\r\n\0 ]*$/.test(data.toString('latin1'))) return;
    let text = data.toString('utf8');
    const peek = peekMessage(text);
    if (!peek) {
      this.malformed(from, `sip udp: dropped ${data.length} bytes from ${from} that are not a SIP message`);
      return;
    }
    if (!this.retransmitter.received(peek)) return;
    if (peek.kind === 'request') text = stampReceived(text, rinfo.address, rinfo.port);
    this.deliver(text, from, { address: rinfo.address, port: rinfo.port });
  }

  private forget(socket: Socket): void {
    socket.removeAllListeners('message');
    socket.removeAllListeners('error');
    socket.on('error', () => undefined);
    try {
      socket.close();
    } catch {
      // already closed
    }
  }
}
