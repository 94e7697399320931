/**
 * SIP over WebSocket (RFC 7118), `ws://` or `wss://`, with the `ws` package, behind the same
 * NodeTransport state machine as UDP/TCP/TLS.
 *
 * Why not sip.js's own `Web.Transport` (node_modules/sip.js/lib/platform/web/transport/transport.js):
 * it calls the global `WebSocket` (absent in Node 20; installing one in a shared Node-RED process would
 * change what every other package sees), with no way to pass TLS settings (a private CA, the
 * certificate check), and it recovers nothing we do not already do. One WebSocket message is one SIP
 * message, so there is no framing; the `sip` subprotocol is required of the server.
 */
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { explainCertificateError } from './certificate-error';
import { asError, closeWithin, LocalEndpoint, NodeTransport, NodeTransportOptions } from './transport-base';
import type { TlsTransportOptions } from './transport-tls';

export interface WsTransportOptions extends NodeTransportOptions, Pick<TlsTransportOptions, 'ca' | 'rejectUnauthorized' | 'servername' | 'cert' | 'key'> {
  /** `wss` for WebSocket over TLS. Default `ws`. */
  secure?: boolean;
  /** The path of the WebSocket URL (default `/`). */
  path?: string;
}

export class WsTransport extends NodeTransport {
  readonly protocol: string;
  private socket: WebSocket | undefined;
  private localEnd: LocalEndpoint | undefined;

  constructor(logger: unknown, options: WsTransportOptions) {
    super(logger, options);
    this.protocol = options.secure ? 'WSS' : 'WS';
  }

  get local(): LocalEndpoint | undefined {
    return this.localEnd;
  }

  /** `ws://host:port/path`. */
  get url(): string {
    const o = this.options as WsTransportOptions;
    const host = o.server.host.includes(':') ? `[${o.server.host}]` : o.server.host;
    const path = o.path ? (o.path.startsWith('/') ? o.path : `/${o.path}`) : '/';
    return `${o.secure ? 'wss' : 'ws'}://${host}:${o.server.port}${path}`;
  }

  protected async open(): Promise<void> {
    const o = this.options as WsTransportOptions;
    const timeoutMs = o.connectTimeoutMs ?? 10_000;
    const socket = new WebSocket(this.url, 'sip', {
      handshakeTimeout: timeoutMs,
      localAddress: o.localAddress,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      rejectUnauthorized: o.rejectUnauthorized !== false,
      // Passed on to tls.connect: the name the certificate must carry (ws types omit it).
      ...(o.servername ? ({ servername: o.servername } as object) : {}),
    });
    this.socket = socket;
    let local: LocalEndpoint | undefined;
    socket.once('upgrade', (response: IncomingMessage) => {
      local = { address: response.socket.localAddress ?? '', port: response.socket.localPort ?? 0 };
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
        socket.once('close', (code) => reject(new Error(`closed during the handshake (${code})`)));
        socket.once('unexpected-response', (_req, res: IncomingMessage) => reject(new Error(`HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim())));
      });
    } catch (err) {
      if (this.socket === socket) this.socket = undefined;
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.terminate();
      throw new Error(`cannot connect ${this.protocol} to ${this.url}: ${explainCertificateError(asError(err)).message}`);
    }
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    if (socket.protocol !== 'sip') {
      socket.terminate();
      throw new Error(`cannot connect ${this.protocol} to ${this.url}: the server did not accept the "sip" subprotocol`);
    }
    this.localEnd = local;
    const from = this.url;
    socket.on('message', (data: WebSocket.RawData) => {
      if (socket !== this.socket) return;
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      // RFC 5626 CRLF keep-alives may come as messages of their own.
      if (/^[\r\n]*$/.test(text)) return;
      this.deliver(text, from);
    });
    socket.on('error', (err) => {
      if (socket === this.socket) this.lost(err);
    });
    socket.on('close', (code) => {
      if (socket === this.socket) this.lost(new Error(`connection closed by ${from} (${code})`));
    });
  }

  protected close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    this.localEnd = undefined;
    if (!socket || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return closeWithin(socket, () => socket.close(1000), () => socket.terminate());
  }

  protected write(message: string): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error(`cannot send: ${this.protocol} connection closed`));
    return new Promise((resolve, reject) => socket.send(message, (err) => (err ? reject(err) : resolve())));
  }
}
