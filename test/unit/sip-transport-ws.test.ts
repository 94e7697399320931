/**
 * The WebSocket transport (RFC 7118) against an in-process `ws` server playing the SIP server; and a
 * SipUserAgent registering over it (sip.js accepts the answers: Via and Contact are right for WS).
 */
import assert from 'node:assert/strict';
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import { TransportState } from 'sip.js';
import WebSocket from 'ws';
import { SipAgentState, SipUserAgent } from '../../lib/sip/sip-user-agent';
import { WsTransport } from '../../lib/sip/transport-ws';
import { memoryLog } from '../helpers/at-harness';
import { selfSignedCertificate } from '../helpers/sip-peers';

function message(n: number): string {
  return `OPTIONS sip:alice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS h.invalid;branch=z9hG4bK${n}\r\nFrom: <sip:bob@127.0.0.1>;tag=f${n}\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: c${n}\r\nCSeq: ${n} OPTIONS\r\nContent-Length: 0\r\n\r\n`;
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A WebSocket server on loopback; `accept: false` refuses the `sip` subprotocol. */
async function wsServer(options: { accept?: boolean; server?: HttpsServer } = {}): Promise<{ wss: WebSocket.Server; port: number; clients: WebSocket[]; received: string[]; close(): Promise<void> }> {
  const clients: WebSocket[] = [];
  const received: string[] = [];
  // ws 8 passes a Set, ws 7 an array.
  const handleProtocols = (protocols: Iterable<string>): string | false => (options.accept !== false && [...protocols].includes('sip') ? 'sip' : false);
  let wss: WebSocket.Server;
  let port: number;
  if (options.server) {
    wss = new WebSocket.Server({ server: options.server, handleProtocols });
    await new Promise<void>((r) => options.server!.listen(0, '127.0.0.1', r));
    port = (options.server.address() as AddressInfo).port;
  } else {
    wss = new WebSocket.Server({ host: '127.0.0.1', port: 0, handleProtocols });
    await new Promise<void>((r) => wss.once('listening', r));
    port = (wss.address() as AddressInfo).port;
  }
  wss.on('connection', (ws) => {
    clients.push(ws);
    ws.on('message', (d) => received.push(d.toString()));
  });
  return {
    wss,
    port,
    clients,
    received,
    close: async () => {
      for (const c of clients) c.terminate();
      await new Promise((r) => wss.close(r));
      if (options.server) await new Promise((r) => options.server!.close(r));
    },
  };
}

describe('WsTransport (SIP over WebSocket, RFC 7118)', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  function transport(port: number, extra: Record<string, unknown> = {}): WsTransport {
    const t = new WsTransport(undefined, { server: { host: '127.0.0.1', port }, path: '/sip', ...extra });
    closers.push(() => t.dispose());
    return t;
  }

  it('connects with the sip subprotocol and carries one SIP message per WebSocket message, both ways', async () => {
    const server = await wsServer();
    closers.push(server.close);
    const t = transport(server.port);
    const messages: string[] = [];
    t.onMessage = (m) => messages.push(m);
    assert.equal(t.url, `ws://127.0.0.1:${server.port}/sip`);
    await t.connect();
    assert.equal(t.protocol, 'WS');
    assert.ok((t.local?.port ?? 0) > 0);
    await t.send(message(1));
    await until(() => server.received.length === 1);
    assert.equal(server.received[0], message(1));
    server.clients[0].send(message(2));
    server.clients[0].send('\r\n\r\n'); // a keep-alive: not a message
    server.clients[0].send(Buffer.from(message(3)), { binary: true });
    await until(() => messages.length === 2);
    assert.deepEqual(messages, [message(2), message(3)]);
  });

  it('refuses a server that does not speak the sip subprotocol', async () => {
    const server = await wsServer({ accept: false });
    closers.push(server.close);
    const t = transport(server.port);
    await assert.rejects(t.connect(), /cannot connect WS to ws:\/\/127\.0\.0\.1:\d+\/sip: .*(subprotocol|no subprotocol)/i);
    assert.equal(t.state, TransportState.Disconnected);
  });

  it('reports the server closing the connection as a lost transport', async () => {
    const server = await wsServer();
    closers.push(server.close);
    const t = transport(server.port);
    const lost: Array<Error | undefined> = [];
    t.onDisconnect = (e) => lost.push(e);
    await t.connect();
    server.clients[0].close(1001);
    await until(() => lost.length === 1);
    assert.match(String(lost[0]?.message), /connection closed by ws:\/\/127\.0\.0\.1:\d+\/sip \(1001\)/);
  });

  it('a refused connection rejects connect()', async () => {
    const server = await wsServer();
    const port = server.port;
    await server.close();
    const t = transport(port);
    await assert.rejects(t.connect(), /cannot connect WS .*ECONNREFUSED/);
  });

  describe('wss', function () {
    let cert: Buffer;
    let key: Buffer;

    before(function () {
      ({ cert, key } = selfSignedCertificate(this));
    });

    it('checks the certificate: refused without the CA, connected with it', async () => {
      const server = await wsServer({ server: createHttpsServer({ cert, key }) });
      closers.push(server.close);
      await assert.rejects(
        transport(server.port, { secure: true }).connect(),
        /cannot connect WSS to wss:.*self.signed.*: the server's certificate is not trusted: give the line the CA certificate/i,
      );
      const t = transport(server.port, { secure: true, ca: cert });
      await t.connect();
      assert.equal(t.protocol, 'WSS');
      await t.send(message(7));
      await until(() => server.received.length === 1);
    });
  });

  it('a SipUserAgent registers over WS (sip.js takes the answers: Via and Contact fit)', async () => {
    const server = await wsServer();
    closers.push(server.close);
    const requests: string[] = [];
    server.wss.on('connection', (ws) =>
      ws.on('message', (d) => {
        const text = d.toString();
        if (!text.startsWith('REGISTER')) return;
        requests.push(text);
        const lines = text.split('\r\n');
        const keep = lines.filter((l) => /^(Via|From|Call-ID|CSeq|Contact):/i.test(l));
        const to = `${lines.find((l) => /^To:/i.test(l))};tag=r`;
        ws.send(['SIP/2.0 200 OK', ...keep, to, 'Content-Length: 0', '', ''].join('\r\n'));
      }),
    );
    const agent = new SipUserAgent({ server: `127.0.0.1:${server.port}`, transport: 'ws', wsPath: '/sip', username: 'alice', password: 'x', keepAliveSeconds: 0, log: memoryLog() });
    closers.push(() => agent.stop());
    const registered = new Promise<{ contact: string }>((resolve) => agent.once('registered', resolve));
    await agent.start();
    const { contact } = await registered;
    assert.equal(agent.state, SipAgentState.Ready);
    assert.match(requests[0], /^Via: SIP\/2\.0\/WS 127\.0\.0\.1;branch=z9hG4bK\w+;rport\r$/m);
    assert.equal(contact, `<sip:alice@127.0.0.1:${agent.transport?.local?.port};transport=ws>`);
  });
});
