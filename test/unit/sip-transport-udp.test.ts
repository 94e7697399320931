/**
 * The UDP transport against a plain dgram socket playing the server: sip.js's Transport contract, where
 * requests and responses go, what reaches sip.js (onMessage), and the retransmissions sip.js leaves out.
 */
import assert from 'node:assert/strict';
import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import { StateTransitionError, TransportState } from 'sip.js';
import { UdpTransport } from '../../lib/sip/transport-udp';
import { memoryLog } from '../helpers/at-harness';

const T = { t1Ms: 20, t2Ms: 80 };

function request(method: string, branch: string, cseq = 1, via = '127.0.0.1'): string {
  return [
    `${method} sip:bob@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/UDP ${via};branch=${branch};rport`,
    'From: <sip:alice@127.0.0.1>;tag=a',
    'To: <sip:bob@127.0.0.1>',
    'Call-ID: call-1',
    `CSeq: ${cseq} ${method}`,
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** A response to `req` (its Via headers copied, as sip.js does). */
function responseTo(req: string, status: string): string {
  const lines = req.split('\r\n');
  const keep = lines.filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
  return [`SIP/2.0 ${status}`, ...keep, 'Content-Length: 0', '', ''].join('\r\n');
}

interface Peer {
  socket: Socket;
  port: number;
  got: Array<{ text: string; from: RemoteInfo }>;
  next(timeoutMs?: number): Promise<{ text: string; from: RemoteInfo }>;
  send(text: string, port: number): void;
  close(): void;
}

async function peer(): Promise<Peer> {
  const socket = createSocket('udp4');
  const got: Peer['got'] = [];
  const waiters: Array<(m: { text: string; from: RemoteInfo }) => void> = [];
  socket.on('message', (data, from) => {
    const m = { text: data.toString(), from };
    got.push(m);
    waiters.shift()?.(m);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return {
    socket,
    port: socket.address().port,
    got,
    next: (timeoutMs = 2000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('nothing received')), timeoutMs);
        waiters.push((m) => {
          clearTimeout(timer);
          resolve(m);
        });
      }),
    send: (text, port) => socket.send(text, port, '127.0.0.1'),
    close: () => socket.close(),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('UdpTransport (SIP over node:dgram behind the sip.js Transport interface)', () => {
  let server: Peer;
  let transport: UdpTransport;
  let messages: string[];
  const log = memoryLog();

  beforeEach(async () => {
    server = await peer();
    transport = new UdpTransport(undefined, { server: { host: '127.0.0.1', port: server.port }, localAddress: '127.0.0.1', timers: T, log });
    messages = [];
    transport.onMessage = (m) => messages.push(m);
  });

  afterEach(async () => {
    await transport.dispose();
    server.close();
  });

  describe('the Transport contract', () => {
    it('starts Disconnected; connect() goes Connecting before returning, then Connected, calling onConnect once', async () => {
      const states: TransportState[] = [];
      let connects = 0;
      transport.stateChange.addListener((s) => states.push(s));
      transport.onConnect = () => connects++;
      assert.equal(transport.state, TransportState.Disconnected);
      const p = transport.connect();
      assert.equal(transport.state, TransportState.Connecting);
      await p;
      assert.equal(transport.state, TransportState.Connected);
      assert.equal(transport.isConnected(), true);
      assert.equal(connects, 1);
      assert.deepEqual(states, ['Connecting', 'Connected']);
      assert.equal(transport.local?.address, '127.0.0.1');
      assert.ok((transport.local?.port ?? 0) > 0);
      await transport.connect(); // already connected: no transition
      assert.deepEqual(states, ['Connecting', 'Connected']);
    });

    it('disconnect() goes Disconnecting before returning, then Disconnected, calling onDisconnect without an error', async () => {
      await transport.connect();
      const errors: Array<Error | undefined> = [];
      transport.onDisconnect = (e) => errors.push(e);
      const p = transport.disconnect();
      assert.equal(transport.state, TransportState.Disconnecting);
      await p;
      assert.equal(transport.state, TransportState.Disconnected);
      assert.deepEqual(errors, [undefined]);
      await assert.rejects(transport.send(request('OPTIONS', 'z9hG4bK1')), /cannot send: transport disconnected/);
    });

    it('rejects connect() called synchronously from a state callback (no loops), as the contract asks', async () => {
      let inner: Promise<void> | undefined;
      transport.onConnect = () => {
        inner = transport.connect();
      };
      await transport.connect();
      await assert.rejects(inner as Promise<void>, StateTransitionError);
      assert.equal(transport.state, TransportState.Connected);
    });

    it('connects again after a disconnect, on a new socket', async () => {
      await transport.connect();
      await transport.disconnect();
      await transport.connect();
      await transport.send(request('OPTIONS', 'z9hG4bKagain'));
      assert.match((await server.next()).text, /^OPTIONS /);
    });

    it('fails to connect when the local port is taken: rejects, Disconnected, with the reason', async () => {
      const other = new UdpTransport(undefined, { server: { host: '127.0.0.1', port: server.port }, localAddress: '127.0.0.1', localPort: server.port });
      await assert.rejects(other.connect(), /cannot bind UDP 127\.0\.0\.1:\d+: .*EADDRINUSE/);
      assert.equal(other.state, TransportState.Disconnected);
      assert.match(String(other.lastError?.message), /EADDRINUSE/);
    });
  });

  describe('where messages go', () => {
    it('sends requests to the server, byte for byte, from the bound port', async () => {
      await transport.connect();
      const req = request('REGISTER', 'z9hG4bKreg');
      await transport.send(req);
      const got = await server.next();
      assert.equal(got.text, req);
      assert.equal(got.from.port, transport.local?.port);
    });

    it('marks a received request with received/rport, and sends the response back to where it came from', async () => {
      await transport.connect();
      const caller = await peer();
      try {
        caller.send(request('OPTIONS', 'z9hG4bKin'), transport.local!.port);
        await until(() => messages.length === 1);
        assert.match(messages[0], new RegExp(`^Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1;branch=z9hG4bKin;received=127\\.0\\.0\\.1;rport=${caller.port}\\r$`, 'm'));
        await transport.send(responseTo(messages[0], '200 OK'));
        const answer = await caller.next();
        assert.match(answer.text, /^SIP\/2\.0 200 OK/);
        assert.equal(server.got.length, 0, 'nothing went to the server');
      } finally {
        caller.close();
      }
    });
  });

  describe('bytes from the network never make it throw', () => {
    it('drops datagrams that are not SIP and keep-alives; a throwing onMessage is logged, not thrown', async () => {
      await transport.connect();
      const port = transport.local!.port;
      server.send('\r\n\r\n', port);
      server.send('GET / HTTP/1.1\r\n\r\n', port);
      server.socket.send(Buffer.from([0, 1, 2, 255, 254]), port, '127.0.0.1');
      transport.onMessage = () => {
        throw new Error('sip.js choked');
      };
      server.send(request('OPTIONS', 'z9hG4bKthrow'), port);
      await until(() => log.lines.some((l) => l.includes('sip.js choked')));
      transport.onMessage = (m) => messages.push(m);
      server.send(request('OPTIONS', 'z9hG4bKafter'), port);
      await until(() => messages.length === 1);
      assert.match(messages[0], /branch=z9hG4bKafter/);
    });
  });

  describe('retransmissions (sip.js has no Timer A, E, G over UDP)', () => {
    it('re-sends a non-INVITE request until its final response, then stops', async () => {
      await transport.connect();
      const req = request('REGISTER', 'z9hG4bKretx');
      await transport.send(req);
      await until(() => server.got.length >= 3);
      assert.ok(server.got.every((g) => g.text === req));
      server.send(responseTo(req, '200 OK'), transport.local!.port);
      await until(() => messages.length === 1);
      const count = server.got.length;
      await sleep(T.t2Ms * 3);
      assert.equal(server.got.length, count, 'no retransmission after the final response');
      assert.equal(transport.retransmissions.pending.requests, 0);
    });

    it('stops re-sending an INVITE at its first provisional response', async () => {
      await transport.connect();
      const invite = request('INVITE', 'z9hG4bKinv');
      await transport.send(invite);
      await server.next();
      server.send(responseTo(invite, '100 Trying'), transport.local!.port);
      await until(() => messages.length === 1);
      const count = server.got.length;
      await sleep(T.t2Ms * 3);
      assert.equal(server.got.length, count);
    });

    it('never re-sends an ACK', async () => {
      await transport.connect();
      await transport.send(request('ACK', 'z9hG4bKack'));
      await server.next();
      await sleep(T.t2Ms * 2);
      assert.equal(server.got.length, 1);
    });

    it('re-sends a non-2xx final response to an INVITE until the ACK (Timer G)', async () => {
      await transport.connect();
      const invite = request('INVITE', 'z9hG4bKg');
      server.send(invite, transport.local!.port);
      await until(() => messages.length === 1);
      await transport.send(responseTo(messages[0], '486 Busy Here'));
      await until(() => server.got.length >= 3);
      assert.ok(server.got.every((g) => g.text.startsWith('SIP/2.0 486')));
      server.send(request('ACK', 'z9hG4bKg'), transport.local!.port);
      await until(() => messages.length === 2);
      const count = server.got.length;
      await sleep(T.t2Ms * 3);
      assert.equal(server.got.length, count, 'no 486 after the ACK');
    });

    it('answers a retransmitted request with the response already sent, without bothering sip.js (Timer J)', async () => {
      await transport.connect();
      const bye = request('BYE', 'z9hG4bKbye', 2);
      server.send(bye, transport.local!.port);
      await until(() => messages.length === 1);
      await transport.send(responseTo(messages[0], '200 OK'));
      await server.next();
      server.send(bye, transport.local!.port); // our 200 was "lost"
      const again = await server.next();
      assert.match(again.text, /^SIP\/2\.0 200 OK/);
      assert.equal(messages.length, 1, 'the retransmission did not reach sip.js');
    });
  });
});
