/**
 * SIP over a connection (TCP, TLS) behind sip.js's `Transport` interface: one connection to the server
 * (or outbound proxy), opened by `connect()`. Requests and responses both travel on it; the server
 * reaches our Contact through it too (it is the connection it has for our address, RFC 5923 style), so
 * Contact names the connection's local port. Messages are framed by Content-Length
 * (transport-framer.ts); a double-CRLF ping from the server is answered with a CRLF pong.
 *
 * The connection closing, failing, or carrying bytes that cannot be framed is a lost transport
 * (`onDisconnect(error)`): recovering is the user agent's job.
 */
import { Socket } from 'node:net';
import { asError, closeWithin, LocalEndpoint, NodeTransport, NodeTransportOptions } from './transport-base';
import { FramedItem, SipStreamFramer, SipStreamFramerOptions } from './transport-framer';

export interface StreamTransportOptions extends NodeTransportOptions {
  framing?: SipStreamFramerOptions;
}

export abstract class StreamTransport extends NodeTransport {
  private socket: Socket | undefined;
  private localEnd: LocalEndpoint | undefined;

  get local(): LocalEndpoint | undefined {
    return this.localEnd;
  }

  /** Resolves on the socket's `event` ('connect', 'secureConnect'), rejects on its first error. */
  protected static readyOn(socket: Socket, event: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      socket.once(event, () => {
        socket.off('error', reject);
        resolve();
      });
      socket.once('error', reject);
    });
  }

  /** Opens the socket (net.connect / tls.connect). Resolves once it may carry messages. */
  protected abstract dial(timeoutMs: number): { socket: Socket; ready: Promise<void> };

  protected async open(): Promise<void> {
    const timeoutMs = (this.options as StreamTransportOptions).connectTimeoutMs ?? 10_000;
    const { socket, ready } = this.dial(timeoutMs);
    this.socket = socket;
    socket.setTimeout(timeoutMs);
    const onTimeout = (): void => {
      socket.destroy(new Error(`no connection after ${timeoutMs} ms`));
    };
    socket.once('timeout', onTimeout);
    try {
      await ready;
    } catch (err) {
      if (this.socket === socket) this.socket = undefined;
      socket.destroy();
      const where = `${this.options.server.host}:${this.options.server.port}`;
      throw new Error(`cannot connect ${this.protocol} to ${where}: ${asError(err).message}`);
    } finally {
      socket.off('timeout', onTimeout);
      socket.setTimeout(0);
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    this.localEnd = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    const framer = new SipStreamFramer((this.options as StreamTransportOptions).framing);
    const from = `${socket.remoteAddress}:${socket.remotePort}`;
    framer.on('data', (item: FramedItem) => {
      if (socket !== this.socket) return;
      if (item.kind === 'message') this.deliver(item.text, from);
      else if (item.kind === 'ping') socket.write('\r\n');
    });
    framer.on('error', (err) => {
      if (socket !== this.socket) return;
      this.lost(new Error(`unreadable SIP stream from ${from}: ${err.message}`));
    });
    socket.pipe(framer);
    socket.on('error', (err) => {
      if (socket === this.socket) this.lost(err);
    });
    socket.on('close', () => {
      if (socket === this.socket) this.lost(new Error(`connection closed by ${from}`));
    });
  }

  protected close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    this.localEnd = undefined;
    if (!socket || socket.destroyed) return Promise.resolve();
    return closeWithin(socket, () => socket.end(), () => socket.destroy());
  }

  protected write(message: string): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed) return Promise.reject(new Error(`cannot send: ${this.protocol} connection closed`));
    return new Promise((resolve, reject) => {
      socket.write(message, 'utf8', (err) => (err ? reject(err) : resolve()));
    });
  }
}
