/**
 * The TCP and TLS transports against a plain node:net / node:tls server playing the SIP server: the
 * stream framing as it arrives from a real socket (partial and several messages per chunk), keep-alives,
 * and a connection that closes, fails or carries garbage.
 */
import assert from 'node:assert/strict';
import { AddressInfo, createServer, Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { TransportState } from 'sip.js';
import { NodeTransport } from '../../lib/sip/transport-base';
import { TcpTransport } from '../../lib/sip/transport-tcp';
import { TlsTransport } from '../../lib/sip/transport-tls';
import { memoryLog } from '../helpers/at-harness';
import { selfSignedCertificate } from '../helpers/sip-peers';

function message(n: number, body = ''): string {
  return `OPTIONS sip:alice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK${n}\r\nFrom: <sip:bob@127.0.0.1>;tag=f${n}\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: c${n}\r\nCSeq: ${n} OPTIONS\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A server that hands each accepted connection to the test, and records what it received. */
class FakeServer {
  sockets: Socket[] = [];
  received = '';
  constructor(readonly server: Server) {
    server.on('connection', (s: Socket) => this.accept(s));
    server.on('secureConnection', (s: Socket) => this.accept(s));
  }
  static async listen(server: Server): Promise<FakeServer> {
    const f = new FakeServer(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return f;
  }
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  get socket(): Socket {
    return this.sockets[this.sockets.length - 1];
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
  private accept(s: Socket): void {
    this.sockets.push(s);
    s.on('data', (d) => (this.received += d.toString()));
    s.on('error', () => undefined);
  }
}

describe('TcpTransport (SIP over node:net, framed by Content-Length)', () => {
  let server: FakeServer;
  let transport: TcpTransport;
  let messages: string[];
  let disconnects: Array<Error | undefined>;
  const log = memoryLog();

  beforeEach(async () => {
    server = await FakeServer.listen(createServer());
    transport = new TcpTransport(undefined, { server: { host: '127.0.0.1', port: server.port }, log });
    messages = [];
    disconnects = [];
    transport.onMessage = (m) => messages.push(m);
    transport.onDisconnect = (e) => disconnects.push(e);
  });

  afterEach(async () => {
    await transport.dispose();
    await server.close();
  });

  it('connects, knows its local end, and writes requests byte for byte', async () => {
    await transport.connect();
    assert.equal(transport.state, TransportState.Connected);
    await until(() => server.sockets.length === 1);
    assert.equal(transport.local?.port, server.socket.remotePort);
    await transport.send(message(1, 'é'));
    await until(() => server.received.length > 0 && server.received.endsWith('é'));
    assert.equal(server.received, message(1, 'é'));
  });

  it('delivers whole messages: several in one chunk, and one split across chunks', async () => {
    await transport.connect();
    await until(() => server.sockets.length === 1);
    const [a, b, c] = [message(1, 'first'), message(2), message(3, 'third body')];
    server.socket.write(a + b + c.slice(0, 25));
    await until(() => messages.length === 2);
    assert.deepEqual(messages, [a, b]);
    server.socket.write(c.slice(25));
    await until(() => messages.length === 3);
    assert.equal(messages[2], c);
  });

  it('answers a double-CRLF ping with a CRLF pong (RFC 5626), delivering nothing', async () => {
    await transport.connect();
    await until(() => server.sockets.length === 1);
    server.socket.write('\r\n\r\n');
    await until(() => server.received === '\r\n');
    assert.deepEqual(messages, []);
  });

  it('reports the server closing the connection as a lost transport (onDisconnect with an error)', async () => {
    await transport.connect();
    await until(() => server.sockets.length === 1);
    server.socket.end();
    await until(() => disconnects.length === 1);
    assert.match(String(disconnects[0]?.message), /connection closed by 127\.0\.0\.1:\d+/);
    assert.equal(transport.state, TransportState.Disconnected);
    await assert.rejects(transport.send(message(9)), /cannot send/);
  });

  it('drops the connection when the stream cannot be framed, without throwing', async () => {
    await transport.connect();
    await until(() => server.sockets.length === 1);
    server.socket.write(message(1));
    server.socket.write('INVITE sip:x SIP/2.0\r\nContent-Length: lots\r\n\r\n');
    await until(() => disconnects.length === 1);
    assert.deepEqual(messages, [message(1)]);
    assert.match(String(disconnects[0]?.message), /unreadable SIP stream .*not a number/);
    await until(() => server.socket.destroyed || server.socket.readableEnded);
  });

  it('a refused connection rejects connect() and leaves the transport Disconnected', async () => {
    const port = server.port;
    await server.close();
    const refused = new TcpTransport(undefined, { server: { host: '127.0.0.1', port } });
    await assert.rejects(refused.connect(), /cannot connect TCP to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    assert.equal(refused.state, TransportState.Disconnected);
    server = await FakeServer.listen(createServer()); // for afterEach
  });

  it('disconnect() closes the connection and calls onDisconnect without an error', async () => {
    await transport.connect();
    await until(() => server.sockets.length === 1);
    await transport.disconnect();
    assert.deepEqual(disconnects, [undefined]);
    await until(() => server.socket.readableEnded);
  });
});

describe('TlsTransport (SIP over node:tls, certificate checked)', function () {
  let cert: Buffer;
  let key: Buffer;
  let server: FakeServer;
  const transports: NodeTransport[] = [];

  before(function () {
    ({ cert, key } = selfSignedCertificate(this));
  });

  beforeEach(async () => {
    server = await FakeServer.listen(createTlsServer({ cert, key }));
  });

  afterEach(async () => {
    for (const t of transports.splice(0)) await t.dispose();
    await server.close();
  });

  function tls(options: { ca?: Buffer; rejectUnauthorized?: boolean }): TlsTransport {
    const t = new TlsTransport(undefined, { server: { host: '127.0.0.1', port: server.port }, ...options });
    transports.push(t);
    return t;
  }

  it('refuses a certificate it cannot verify (self-signed, no CA given)', async () => {
    const t = tls({});
    await assert.rejects(t.connect(), /cannot connect TLS to 127\.0\.0\.1:\d+: self.signed certificate/i);
    assert.equal(t.state, TransportState.Disconnected);
  });

  it('connects with the server certificate given as CA, and carries framed messages both ways', async () => {
    const t = tls({ ca: cert });
    const messages: string[] = [];
    t.onMessage = (m) => messages.push(m);
    await t.connect();
    await t.send(message(1));
    await until(() => server.received === message(1));
    server.socket.write(message(2) + message(3));
    await until(() => messages.length === 2);
    assert.deepEqual(messages, [message(2), message(3)]);
  });

  it('connects without checking when rejectUnauthorized is false', async () => {
    const t = tls({ rejectUnauthorized: false });
    await t.connect();
    assert.equal(t.state, TransportState.Connected);
  });
});
