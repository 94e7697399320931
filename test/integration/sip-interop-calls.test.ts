/**
 * Interop of a SIP line's calls with real peers on 127.0.0.1 (design §6): how a call that fails ends
 * (SIPp answering 603 / 404, SIPp ringing forever while our ring timeout cancels), early media (a 183
 * with SDP), the caller ID and an extra header as SIPp sees them, hold / resume as baresip sees them,
 * and the line's TLS settings against a node:tls server playing the registrar.
 *
 * Each test asserts what reached the other side: SIPp's own verdict on its scenario (exit code 0 only
 * when every message it expects came, and its `check_it` regexps matched), baresip's own account of
 * the call's media direction, the registrar's log of what it received. The SIPp scenarios are in
 * test/fixtures/sipp/.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTlsServer, Server as TlsServer, TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interopHarness } from '../helpers/interop-harness';
import { Baresip, LOOPBACK, Sipp, pickPorts, pickSippMediaPort, requirePeer, selfSignedCertificate, sippScenario, waitFor } from '../helpers/sip-peers';

const WAIT_MS = 20_000;

describe('SIP calls with real peers: failures, early media, caller ID, hold, TLS (integration)', function () {
  this.timeout(90_000);
  const { makeLine, startLine, startBaresip, startSipp, defer } = interopHarness('interop-calls');

  async function sipp(scenario: string, extraArgs: string[] = []): Promise<Sipp> {
    return startSipp({ scenario: sippScenario(scenario), calls: 1, extraArgs });
  }

  describe('SIPp', () => {
    before(function () {
      requirePeer(this, 'sipp');
    });

    it('a 603 Decline ends the call rejected, by remote, sipCode 603 (and SIPp got our ACK)', async () => {
      const uas = await sipp('reject-603-uas.xml');
      const { line, events } = await startLine({ server: uas.address });
      const result = await line.dialAndWait('2000');
      assert.equal(result.answered, false);
      assert.deepEqual([result.end?.cause, result.end?.sipCode, result.end?.by], ['rejected', 603, 'remote']);
      const ended = await events.next('ended');
      assert.deepEqual([ended.payload.cause, ended.payload.sipCode], ['rejected', 603]);
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });

    it('a 404 Not Found ends the call not-found, sipCode 404 (and SIPp got our ACK)', async () => {
      const uas = await sipp('not-found-404-uas.xml');
      const { line } = await startLine({ server: uas.address });
      const result = await line.dialAndWait('2000');
      assert.deepEqual([result.end?.cause, result.end?.sipCode, result.end?.by], ['not-found', 404, 'remote']);
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });

    it('no answer: SIPp rings forever; our 1 s ring timeout sends a CANCEL (SIPp answers 487 and exits 0): ended no-answer', async () => {
      const uas = await sipp('ring-forever-uas.xml');
      const { line, events } = await startLine({ server: uas.address });
      const call = await line.dial('2000', { ringTimeout: 1 });
      await events.next('ringing');
      const ended = await events.next('ended');
      assert.equal(ended.call?.id, call.id);
      // Our cause, with SIPp's 487 to our CANCEL kept as the evidence.
      assert.deepEqual([ended.payload.cause, ended.payload.by, ended.payload.sipCode], ['no-answer', 'local', 487]);
      // The scenario only completes when our CANCEL came (and the ACK of its 487): SIPp's exit code 0.
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });

    it('early media: a 183 with SDP is the early-media event (it reaches the flow), then the 200 answers the call', async () => {
      const media = await pickSippMediaPort();
      const uas = await sipp('early-media-uas.xml', ['-mp', String(media)]);
      const { line, events } = await startLine({ server: uas.address });
      const call = await line.dial('2000');
      const early = await events.next('early-media');
      assert.equal(early.call?.id, call.id);
      assert.equal(early.call?.state, 'early-media');
      assert.match(String(early.payload.evidence), /^SIP\/2\.0 183 Session Progress/);
      const answered = await events.next('answered');
      assert.equal(answered.call?.state, 'active');
      assert.deepEqual(
        events.events.filter((e) => e.call && e.topic !== 'dialing').map((e) => e.topic),
        ['early-media', 'answered'],
        'early media first, then answered, each once',
      );
      await line.hangup(call.id);
      const ended = await events.next('ended');
      assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'local']);
      // SIPp's scenario ends with our BYE answered: exit code 0.
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });

    it('the caller ID, caller name and an extra header of one dial reach SIPp as sent (its From and X-Ticket checks pass)', async () => {
      const uas = await sipp('caller-id-uas.xml');
      const { line } = await startLine({ server: uas.address, displayName: 'Line 1001' });
      const result = await line.dialAndWait('2000', { callerId: '4930123456', callerName: 'Support Desk', headers: { 'X-Ticket': 4711 } });
      assert.deepEqual([result.end?.cause, result.end?.sipCode], ['unavailable', 480]);
      // check_it: a From or X-Ticket that does not match fails SIPp's call (exit code 1).
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });

    it('the same check fails when the dial does not set them: the scenario really checks', async () => {
      const uas = await sipp('caller-id-uas.xml');
      const { line } = await startLine({ server: uas.address, displayName: 'Line 1001' });
      await line.dialAndWait('2000');
      assert.notEqual(await uas.exitCode(), 0, 'SIPp must refuse a From of the account and no X-Ticket');
    });

    it('a header that would inject a line, or override From, is refused before anything is sent (the first INVITE SIPp gets is the good one)', async () => {
      const uas = await sipp('caller-id-uas.xml');
      const { line, events } = await startLine({ server: uas.address });
      await assert.rejects(line.dial('2000', { headers: { 'X-Ticket': '1\r\nFrom: <sip:evil@x>' } }), {
        name: 'InvalidInputError',
        message: /the value of header "X-Ticket" contains a line break/,
      });
      await assert.rejects(line.dial('2000', { headers: { from: 'x' } }), { name: 'InvalidInputError', message: /the header "from" cannot be set from a flow/ });
      await assert.rejects(line.dial('2000', { callerId: '1001@evil' }), { name: 'InvalidInputError', message: /the caller ID "1001@evil" is not valid/ });
      await assert.rejects(line.dial('2000', { callerName: 'Desk"\r\nX-Ticket: 4711' }), { name: 'InvalidInputError', message: /the caller name .* is not valid/ });
      assert.deepEqual(events.events.filter((e) => e.call), [], 'no call was created');
      // SIPp takes one call (-m 1) and checks it: had a refused dial sent an INVITE, that would have
      // been its call, failing its checks. The good dial is the one it checks, and passes.
      const result = await line.dialAndWait('2000', { callerId: '4930123456', callerName: 'Support Desk', headers: { 'X-Ticket': '4711' } });
      assert.equal(result.end?.sipCode, 480);
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });
  });

  describe('SIPp, through a Node-RED flow', () => {
    // Loaded lazily: the Node-RED test helper is heavy and only this block needs it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const flows = require('../nodes/flow-helpers') as typeof import('../nodes/flow-helpers');

    before(function () {
      requirePeer(this, 'sipp');
    });

    afterEach(async () => {
      await flows.helper.unload();
    });

    it('voice-events sends the early-media event of a voice-dial call (183 with SDP), then voice-dial sends it answered', async () => {
      const media = await pickSippMediaPort();
      const uas = await sipp('early-media-uas.xml', ['-mp', String(media)]);
      const rtp = 40000 + 32 * randomInt(0, 300);
      await flows.helper.load(flows.NODES, [
        { id: 'L', type: 'voice-line', name: 'sip', backend: 'sip', server: uas.address, transport: 'udp', username: '1001', register: false, localPort: 0, rtpPortMin: rtp, rtpPortMax: rtp + 15 },
        flows.voiceNode('dial', 'voice-dial', 'L', [['answered'], ['failed']], { number: '2000', ringTimeout: 30 }),
        flows.voiceNode('ev', 'voice-events', 'L', [['events']], { events: ['early-media', 'answered'] }),
        flows.sink('answered'), flows.sink('failed'), flows.sink('events'),
      ]);
      await flows.waitReady('L');
      const events = new flows.Inbox('events');
      const answered = new flows.Inbox('answered');
      flows.getNode('dial').receive({ payload: 'go' });
      const early = await events.next('early-media', (m) => m.topic === 'early-media', WAIT_MS);
      assert.equal(early.call.state, 'early-media');
      assert.match(early.payload.evidence, /^SIP\/2\.0 183/);
      const msg = await answered.next('answered', () => true, WAIT_MS);
      assert.equal(msg.call.id, early.call.id);
      assert.deepEqual(events.topics(), ['early-media', 'answered']);
      await flows.lineOf('L').hangup(msg.call.id);
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });
  });

  describe('baresip', () => {
    before(function () {
      requirePeer(this, 'baresip');
    });

    /** baresip's own view of the call's audio stream: `audio dir=<direction>` from its audio_debug command. */
    async function baresipAudioDirection(b: Baresip): Promise<string> {
      const reply = await b.command('audio_debug');
      const m = /audio dir=(\w+)/.exec(reply.data);
      assert.ok(m, `baresip's audio_debug names the direction: ${reply.data}`);
      return m[1];
    }

    it('hold and resume as baresip sees them: its audio goes recvonly (our a=sendonly) on hold, sendrecv again on resume', async () => {
      const b = await startBaresip({ account: `<sip:2000@${LOOPBACK}>;regint=0`, autoAnswer: true });
      const { line, events } = await startLine({ server: b.address });
      const call = await line.dial('2000');
      await events.next('answered');
      await b.nextEvent('CALL_ESTABLISHED');
      assert.equal(await baresipAudioDirection(b), 'sendrecv');

      await line.control.hold(call.id);
      await events.next('held');
      // hold() resolves on baresip's 200 to the re-INVITE: it has taken our offer by then.
      assert.equal((await b.nextEvent('CALL_REMOTE_SDP')).param, 'offer');
      assert.equal(await baresipAudioDirection(b), 'recvonly');

      await line.control.resume(call.id);
      await events.next('resumed');
      assert.equal((await b.nextEvent('CALL_REMOTE_SDP')).param, 'offer');
      assert.equal(await baresipAudioDirection(b), 'sendrecv');

      await line.hangup(call.id);
      await b.nextEvent('CALL_CLOSED');
    });
  });

  describe('TLS settings (a node:tls server as registrar, self-signed certificate for 127.0.0.1)', () => {
    let cert: Buffer;
    let key: Buffer;
    let dir: string;
    let caFile: string;

    before(function () {
      ({ cert, key } = selfSignedCertificate(this));
      dir = mkdtempSync(join(tmpdir(), 'sip-tls-ca-'));
      caFile = join(dir, 'ca.pem');
      writeFileSync(caFile, cert);
      writeFileSync(join(dir, 'not-a-cert.txt'), 'hello\n');
    });

    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function registrar(): Promise<TlsRegistrar> {
      const r = await TlsRegistrar.listen(cert, key);
      defer(() => r.close(), () => r.received.join('\n---\n'));
      return r;
    }

    it('with the CA file, the line connects over TLS and registers (the registrar got our REGISTER)', async () => {
      const r = await registrar();
      const { line, events } = makeLine({ server: r.address, transport: 'tls', username: 'alice', register: true, tlsCa: caFile }, 0, { password: 'tls-Secret-7' });
      await line.start();
      const registered = await events.next('registered');
      assert.equal(registered.payload.aor, 'sip:alice@127.0.0.1');
      assert.equal(line.status.state, 'ready');
      assert.ok(r.received.some((m) => /^REGISTER sip:127\.0\.0\.1 SIP\/2\.0/.test(m) && /transport=tls/i.test(m)), r.received.join('\n'));
    });

    it('without the CA file, the line says the server certificate is not trusted, and sends nothing', async () => {
      const r = await registrar();
      const { line, events } = makeLine({ server: r.address, transport: 'tls', username: 'alice', register: true }, 0, { password: 'tls-Secret-7' });
      // The line retries (and says "connecting" again): keep the first error it shows.
      const error = new Promise<string>((resolve) => line.on('status', (s: { state: string; text: string }) => s.state === 'error' && resolve(s.text)));
      await line.start();
      const text = await error;
      assert.match(text, /self.signed certificate: the server's certificate is not trusted: give the line the CA certificate/);
      assert.doesNotMatch(text, /tls-Secret-7/);
      assert.deepEqual(r.received, []);
      assert.deepEqual(events.topics(), []);
    });

    it('with certificate verification off, the line registers without a CA', async () => {
      const r = await registrar();
      const { line, events } = makeLine({ server: r.address, transport: 'tls', username: 'alice', register: true, tlsVerify: false }, 0);
      await line.start();
      await events.next('registered');
      assert.ok(r.received.some((m) => m.startsWith('REGISTER ')));
    });

    it('a CA file that cannot be read, or holds no certificate, is the line\'s error status, naming the file', async () => {
      const r = await registrar();
      const missing = join(dir, 'missing.pem');
      const a = makeLine({ server: r.address, transport: 'tls', username: 'alice', tlsCa: missing }, 0).line;
      await a.start();
      assert.deepEqual(a.status, { state: 'error', text: `the TLS CA file "${missing}" cannot be read: there is no such file` });
      const b = makeLine({ server: r.address, transport: 'tls', username: 'alice', tlsCa: join(dir, 'not-a-cert.txt') }, 0).line;
      await b.start();
      assert.equal(b.status.state, 'error');
      assert.match(b.status.text, /not-a-cert\.txt" holds no PEM certificate/);
      // A CA path on a UDP line is not read: nothing to check there.
      const c = makeLine({ server: r.address, transport: 'udp', username: 'alice', register: false, tlsCa: missing }, await pickPorts(1)).line;
      await c.start();
      await waitFor(`udp line ready (${c.status.text})`, () => c.status.state === 'ready', WAIT_MS);
      assert.deepEqual(r.received, []);
    });
  });
});

/**
 * A registrar over TLS, as small as a test needs: every REGISTER and OPTIONS is answered 200 (our
 * Contact echoed with the expiry asked for); every request is kept in `received`. Written here because
 * Kamailio's TLS module is not packaged on this machine.
 */
class TlsRegistrar {
  readonly received: string[] = [];
  private readonly sockets = new Set<TLSSocket>();

  private constructor(
    private readonly server: TlsServer,
    readonly port: number,
  ) {}

  static async listen(cert: Buffer, key: Buffer): Promise<TlsRegistrar> {
    let registrar: TlsRegistrar | undefined;
    const server = createTlsServer({ cert, key }, (socket) => registrar?.accept(socket));
    server.on('tlsClientError', () => undefined); // a client refusing our certificate: expected in one test
    await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
    registrar = new TlsRegistrar(server, (server.address() as { port: number }).port);
    return registrar;
  }

  get address(): string {
    return `${LOOPBACK}:${this.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: TLSSocket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = '';
    socket.on('data', (data: Buffer) => {
      buffer += data.toString('utf8');
      for (;;) {
        buffer = buffer.replace(/^(\r\n)+/, '');
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.slice(0, end);
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        buffer = buffer.slice(end + 4 + length);
        this.received.push(head);
        const reply = this.answer(head);
        if (reply) socket.write(reply);
      }
    });
  }

  private answer(head: string): string | undefined {
    const lines = head.split('\r\n');
    const method = lines[0].split(' ')[0];
    if (method !== 'REGISTER' && method !== 'OPTIONS') return undefined;
    const all = (name: string): string[] => lines.filter((l) => l.toLowerCase().startsWith(`${name}:`));
    const contact = all('contact')[0];
    return [
      'SIP/2.0 200 OK',
      ...all('via'),
      ...all('from'),
      `${all('to')[0]};tag=registrar`,
      ...all('call-id'),
      ...all('cseq'),
      ...(method === 'REGISTER' && contact ? [contact] : []),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  }
}
