/**
 * SipUserAgent against a scripted UDP registrar (a dgram socket answering REGISTER as the test says):
 * what our REGISTER looks like, how each answer is reported, and that nothing from the network makes it
 * throw. Against a real registrar: test/integration/sip-register.test.ts.
 */
import assert from 'node:assert/strict';
import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import { SipAgentState, SipUserAgent, SipUserAgentOptions } from '../../lib/sip/sip-user-agent';
import { memoryLog } from '../helpers/at-harness';

type Answer = { status: string; headers?: string[] } | 'ignore';

/** A registrar whose answer to the n-th REGISTER is `script(request, n)`. */
class ScriptedRegistrar {
  readonly requests: string[] = [];
  /** Everything received. */
  readonly all: string[] = [];
  private socket!: Socket;
  lastFrom: RemoteInfo | undefined;

  /** How OPTIONS are answered (default 200). */
  optionsAnswer: { status: string; headers?: string[] } = { status: '200 OK' };

  constructor(private readonly script: (request: string, n: number) => Answer) {}

  async start(): Promise<number> {
    this.socket = createSocket('udp4');
    this.socket.on('message', (data, from) => this.onMessage(data.toString(), from));
    await new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', r));
    return this.socket.address().port;
  }

  send(text: string | Buffer): void {
    if (!this.lastFrom) throw new Error('no client yet');
    this.socket.send(text, this.lastFrom.port, this.lastFrom.address);
  }

  close(): void {
    this.socket.close();
  }

  private onMessage(text: string, from: RemoteInfo): void {
    this.lastFrom = from;
    this.all.push(text);
    const method = text.split(' ')[0];
    if (method !== 'REGISTER' && method !== 'OPTIONS') return;
    if (method === 'OPTIONS') return this.socket.send(response(text, this.optionsAnswer), from.port, from.address);
    this.requests.push(text);
    const answer = this.script(text, this.requests.length);
    if (answer === 'ignore') return;
    this.socket.send(response(text, answer), from.port, from.address);
  }
}

function header(text: string, name: string): string | undefined {
  return new RegExp(`^${name}:\\s*(.*?)\\r?$`, 'im').exec(text)?.[1];
}

function response(request: string, answer: { status: string; headers?: string[] }): string {
  const lines = request.split('\r\n');
  const copied = lines.filter((l) => /^(Via|From|Call-ID|CSeq):/i.test(l));
  const to = `${lines.find((l) => /^To:/i.test(l))};tag=reg`;
  const contact = header(request, 'Contact');
  const extra = answer.headers ?? (answer.status.startsWith('200') && contact ? [`Contact: ${contact}`] : []);
  return [`SIP/2.0 ${answer.status}`, ...copied, to, ...extra, 'Content-Length: 0', '', ''].join('\r\n');
}

function next<T = Record<string, unknown>>(agent: SipUserAgent, name: string, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} within ${timeoutMs} ms (state ${agent.state})`)), timeoutMs);
    agent.once(name, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

describe('SipUserAgent (registration logic against a scripted registrar)', () => {
  let registrar: ScriptedRegistrar | undefined;
  let agent: SipUserAgent | undefined;
  const log = memoryLog();

  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    registrar?.close();
    registrar = undefined;
  });

  async function start(script: (request: string, n: number) => Answer, options: Partial<SipUserAgentOptions> = {}): Promise<SipUserAgent> {
    const r = new ScriptedRegistrar(script);
    registrar = r;
    const port = await r.start();
    agent = new SipUserAgent({
      server: `127.0.0.1:${port}`,
      username: 'alice',
      password: 'pw-123',
      retryMinMs: 50,
      retryMaxMs: 400,
      keepAliveSeconds: 0,
      unregisterTimeoutMs: 300,
      timers: { t1Ms: 20, t2Ms: 80 },
      log,
      ...options,
    });
    return agent;
  }

  describe('options', () => {
    const base: SipUserAgentOptions = { server: '127.0.0.1', username: 'alice' };
    for (const [change, message] of [
      [{ server: '' }, /^server: expected host\[:port\]/],
      [{ server: 'pbx.example:99999' }, /^server: expected a port/],
      [{ transport: 'sctp' }, /^transport: expected one of udp, tcp, tls/],
      [{ username: 'a b' }, /^username: expected a SIP user name/],
      [{ domain: 'bad domain' }, /^domain: "bad domain" is not a host name/],
      [{ outboundProxy: '[::1' }, /^outboundProxy: /],
      [{ expires: 0 }, /^expires: expected a number >= 1/],
      [{ localPort: 70000 }, /^localPort: expected a port 0-65535/],
      [{ keepAliveSeconds: -1 }, /^keepAliveSeconds: /],
    ] as Array<[Partial<SipUserAgentOptions>, RegExp]>) {
      it(`refuses ${JSON.stringify(change)} with a TypeError naming the option`, () => {
        assert.throws(() => new SipUserAgent({ ...base, ...change } as SipUserAgentOptions), (err: Error) => err instanceof TypeError && message.test(err.message));
      });
    }

    it('describes itself without the password', () => {
      const a = new SipUserAgent({ ...base, server: 'pbx.example.test:5080', transport: 'tcp', password: 'secret' });
      assert.equal(a.description, 'sip:alice@pbx.example.test via pbx.example.test:5080 (tcp)');
      assert.equal(a.state, SipAgentState.Stopped);
      assert.throws(() => a.userAgent, /has not connected yet/);
    });
  });

  it('sends a REGISTER that sip.js will accept answers to: Via host = our address, no port, rport; Contact with our port', async () => {
    const a = await start(() => ({ status: '200 OK' }));
    const registered = next<{ contact: string }>(a, 'registered');
    await a.start();
    const { contact } = await registered;
    const port = a.transport?.local?.port;
    const req = registrar!.requests[0];
    assert.match(req, /^REGISTER sip:127\.0\.0\.1 SIP\/2\.0\r\n/);
    assert.match(String(header(req, 'Via')), /^SIP\/2\.0\/UDP 127\.0\.0\.1;branch=z9hG4bK\w+;rport$/);
    assert.equal(header(req, 'Contact'), `<sip:alice@127.0.0.1:${port};transport=udp>;expires=600`);
    assert.equal(contact, `<sip:alice@127.0.0.1:${port};transport=udp>`);
    assert.match(String(header(req, 'From')), /^<sip:alice@127\.0\.0\.1>;tag=/);
    // RFC 5626 is not done: no `outbound` option tag (sip.js adds one by itself).
    assert.doesNotMatch(String(header(req, 'Supported')), /outbound/);
  });

  it('answers the digest challenge, then reports 403 as an authentication failure, waiting the longest back-off', async () => {
    const challenge = { status: '401 Unauthorized', headers: ['WWW-Authenticate: Digest realm="127.0.0.1", nonce="abc", qop="auth"'] };
    const a = await start((_req, n) => (n === 1 ? challenge : { status: '403 Forbidden' }));
    const failed = next<{ code: number; authFailed: boolean; retryInMs: number; text: string }>(a, 'registration-failed');
    await a.start();
    const event = await failed;
    assert.match(String(header(registrar!.requests[1], 'Authorization')), /^Digest .*username="alice".*realm="127\.0\.0\.1".*nonce="abc"/);
    assert.equal(event.code, 403);
    assert.equal(event.authFailed, true);
    assert.equal(event.retryInMs, 400);
    assert.match(event.text, /403 Forbidden/);
    assert.ok(!log.lines.some((l) => l.includes('pw-123')), 'the password is never logged');
  });

  it('a registrar that challenges keep-alive OPTIONS gets one OPTIONS per keep-alive (the challenge is the answer), and the line stays ready', async () => {
    const a = await start(() => ({ status: '200 OK' }), { keepAliveSeconds: 1, password: 'pw-123' });
    registrar!.optionsAnswer = { status: '401 Unauthorized', headers: ['WWW-Authenticate: Digest realm="127.0.0.1", nonce="ka", qop="auth"'] };
    const registered = next(a, 'registered');
    await a.start();
    await registered;
    await new Promise((r) => setTimeout(r, 3500));
    const options = registrar!.all.filter((m) => m.startsWith('OPTIONS '));
    assert.ok(options.length >= 2 && options.length <= 4, `one OPTIONS a second: ${options.length} in 3.5 s`);
    assert.deepEqual(options.filter((m) => /^Authorization:/im.test(m)), [], 'no OPTIONS answered the challenge (a second one per keep-alive)');
    assert.equal(new Set(options.map((m) => header(m, 'Via'))).size, options.length, 'each keep-alive is a new OPTIONS (its own branch), none a retransmission');
    assert.equal(a.state, SipAgentState.Ready, 'a 401 is an answer: the server is there');
  });

  it('raises the expiry to Min-Expires after 423 Interval Too Brief, and registers', async () => {
    const a = await start((req) => (/expires=(\d+)/.exec(String(header(req, 'Contact')))?.[1] === '30' ? { status: '200 OK' } : { status: '423 Interval Too Brief', headers: ['Min-Expires: 30'] }), { expires: 10 });
    const registered = next<{ expires: number }>(a, 'registered');
    await a.start();
    assert.equal((await registered).expires, 30);
    assert.equal(registrar!.requests.length, 2);
  });

  it('takes the expiry the registrar granted from our Contact in the 200', async () => {
    const a = await start((req) => ({ status: '200 OK', headers: [`Contact: <sip:someone@10.9.9.9>;expires=999`, `Contact: ${String(header(req, 'Contact')).replace(/expires=\d+/, 'expires=120')}`] }));
    const registered = next<{ expires: number }>(a, 'registered');
    await a.start();
    assert.equal((await registered).expires, 120);
  });

  it('waits what Retry-After says after a 503', async () => {
    const a = await start(() => ({ status: '503 Service Unavailable', headers: ['Retry-After: 2'] }));
    const failed = next<{ code: number; retryInMs: number; authFailed: boolean }>(a, 'registration-failed');
    await a.start();
    const event = await failed;
    assert.deepEqual([event.code, event.retryInMs, event.authFailed], [503, 2000, false]);
  });

  it('stays registered whatever arrives on its port (garbage, bad responses, broken requests)', async () => {
    const a = await start(() => ({ status: '200 OK' }));
    const registered = next(a, 'registered');
    await a.start();
    await registered;
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      // Port 1 in Via: the answers must still come back to where the requests came from (rport).
      const via = `Via: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKjunk;rport`;
      for (const junk of [
        Buffer.from([0xff, 0xfe, 0, 1, 2]),
        'SIP/2.0 999 Way Out Of Range\r\n' + via + '\r\nCSeq: 1 REGISTER\r\nCall-ID: x\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n\r\n',
        'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKnotours\r\nCSeq: 1 REGISTER\r\nCall-ID: x\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n\r\n',
        'INVITE sip:alice@127.0.0.1 SIP/2.0\r\n' + via + '\r\n\r\n',
        'INVITE sip:alice@127.0.0.1 SIP/2.0\r\n' + via + '\r\nFrom: garbage\r\nTo: <<<\r\nCall-ID: 1\r\nCSeq: x INVITE\r\nContent-Length: 99\r\n\r\nv=0',
        'NOTIFY sip:alice@127.0.0.1 SIP/2.0\r\n' + via + '\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: n1\r\nCSeq: 1 NOTIFY\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n',
        'OPTIONS sip:alice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP [not-an-ip;branch=\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\n\r\n',
      ]) {
        registrar!.send(junk);
      }
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    assert.deepEqual(uncaught, []);
    assert.equal(a.state, SipAgentState.Ready);
    // The well-formed out-of-dialog NOTIFY reached sip.js, which refused it (RFC 6665), to our source port.
    assert.ok(registrar!.all.some((m) => /^SIP\/2\.0 481 .*\r\n[\s\S]*CSeq: 1 NOTIFY/.test(m)), registrar!.all.map((m) => m.split('\r\n')[0]).join(' | '));
  });

  it('closes within unregisterTimeoutMs when the server does not confirm the unregistration', async () => {
    const a = await start((_req, n) => (n === 1 ? { status: '200 OK' } : 'ignore'));
    const registered = next(a, 'registered');
    await a.start();
    await registered;
    const unregistered = next<{ reason: string }>(a, 'unregistered');
    const started = Date.now();
    await a.stop();
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.match((await unregistered).reason, /closed \(the server did not confirm/);
    assert.match(String(header(registrar!.requests[1], 'Contact')), /;expires=0$/);
    assert.equal(a.state, SipAgentState.Stopped);
  });
});
