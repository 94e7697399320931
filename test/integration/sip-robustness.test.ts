/**
 * Malformed SIP, SDP and RTP never crash Node and leave the line usable (the developers' guide: "a
 * malformed modem line or SIP message never crashes Node-RED").
 *
 * Two VoiceLines in trunk mode on 127.0.0.1, as in sip-loopback.test.ts, except that line B names a
 * {@link RawSipRelay} as its server: the relay passes B's traffic on to line A and back, and sends
 * the attacks to B from the very address B trusts. After every test: no uncaught exception and no
 * unhandled rejection in the process, B still `ready`. At the end a real call between A and B, with
 * audio both ways. The TCP attacks go to a third line whose server is a raw TCP server in the test.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket, Socket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, Server, Socket as TcpSocket } from 'node:net';
import type { Call } from '../../lib/call/call';
import { CallState } from '../../lib/call/call-state';
import { CommandFailedError } from '../../lib/errors';
import { VoiceLine } from '../../lib/line/voice-line';
import { serializeRtp } from '../../lib/media/rtp-packet';
import type { RtpSession } from '../../lib/sip/rtp-session';
import type { SipBackend } from '../../lib/sip/sip-backend';
import { memoryLog } from '../helpers/at-harness';
import { EventLog } from '../helpers/event-log';
import { buildRequest, buildResponse, parseRawSip, RawSipMessage, RawSipRelay, RequestParts, sdpOffer, tagOf, token } from '../helpers/raw-sip';
import { malformedRtp, mutate, seededRandom } from '../helpers/sip-fuzz';
import { LOOPBACK, pickPorts, waitFor } from '../helpers/sip-peers';
import { sipLine } from '../helpers/sip-line';

const WAIT_MS = 15_000;

/** Resolves with the datagram socket bound on 127.0.0.1 (a random port). */
async function udpSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(0, LOOPBACK);
  await once(s, 'listening');
  return s;
}

function sendTo(s: Socket, data: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) => s.send(data, port, LOOPBACK, (err) => (err ? reject(err) : resolve())));
}

/** An RTP packet as bytes, any field as given (built by hand where serializeRtp refuses the mistake). */
function rtp(seq: number, ssrc: number, payloadType = 0, payload: Buffer = Buffer.alloc(160, 0xff)): Buffer {
  return serializeRtp({ payloadType, sequenceNumber: seq & 0xffff, timestamp: (seq * 160) >>> 0, ssrc, payload });
}

describe('SIP robustness: malformed SIP, SDP and RTP against a running line (integration)', function () {
  this.timeout(90_000);
  const log = memoryLog();
  const crashes: string[] = [];
  const onCrash = (err: unknown): void => {
    crashes.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
  };
  let relay: RawSipRelay;
  let a: VoiceLine;
  let b: VoiceLine;
  let evA: EventLog;
  let evB: EventLog;
  let portB: number;

  /** The Via sent-by of everything the relay sends. */
  const via = (): RequestParts['via'] => ({ host: LOOPBACK, port: relay.port });
  const bUri = (): string => `sip:2002@${LOOPBACK}:${portB}`;

  /** An out-of-dialog request to B from the relay, on a Call-ID the relay keeps for the test. */
  function request(method: string, parts: Partial<RequestParts> = {}): { callId: string; text: string } {
    const callId = parts.callId ?? relay.own();
    return { callId, text: buildRequest({ method, ruri: bUri(), via: via(), callId, cseq: 1, to: `sip:2002@${LOOPBACK}`, ...parts }) };
  }

  /** The ACK for a non-2xx final response to an out-of-dialog INVITE (same branch: RFC 3261 §17.1.1.3), so that B stops re-sending it. */
  function ackFor(final: RawSipMessage, fromTag: string): string {
    const branch = /;branch=([^;]+)/.exec(final.header('via'))?.[1];
    return buildRequest({ method: 'ACK', ruri: bUri(), via: via(), callId: final.header('call-id'), cseq: 1, fromTag, to: `sip:2002@${LOOPBACK}`, toTag: tagOf(final.header('to')), branch });
  }

  /** B answers an OPTIONS with 200: the line reads and answers SIP. */
  async function probe(): Promise<void> {
    const { callId, text } = request('OPTIONS');
    await relay.send(text);
    assert.equal((await relay.final(callId, 'OPTIONS')).status, 200, 'the line still answers an OPTIONS');
  }

  before(async function () {
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    relay = await RawSipRelay.open();
    const base = await pickPorts(2);
    portB = base + 1;
    const rtpBase = 30000 + 32 * randomInt(0, 300);
    // A reaches B through the relay too: B takes calls from its server's address and port only.
    a = sipLine('line-a', '1001', base, `${LOOPBACK}:${relay.port}`, rtpBase, log);
    b = sipLine('line-b', '2002', portB, `${LOOPBACK}:${relay.port}`, rtpBase + 16, log);
    relay.relay(portB, base);
    evA = new EventLog(a, WAIT_MS);
    evB = new EventLog(b, WAIT_MS);
    await Promise.all([a.start(), b.start()]);
    await waitFor('both lines ready', () => a.backend?.ready === true && b.backend?.ready === true, WAIT_MS);
  });

  after(async function () {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    await Promise.all([a?.stop(), b?.stop()]);
    relay?.close();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(log.lines.slice(-80).join('\n'));
    log.lines.length = 0;
    // Rejections are reported a turn later: let them come before looking.
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(crashes, [], 'no uncaught exception or unhandled rejection');
    assert.equal(b.backend?.ready, true, `line B is still ready (${b.status.text})`);
    assert.equal(b.status.state, 'ready');
  });

  it('garbage, a request line alone, missing mandatory headers, a CSeq without number, wrong Content-Length, a 60 KB header, NUL bytes, responses to nothing: dropped or refused', async function () {
    const drop: string[] = [];
    drop.push(randomBytes(300).toString('latin1'));
    drop.push(`INVITE ${bUri()} SIP/2.0\r\n\r\n`);
    drop.push(`OPTIONS ${bUri()} SIP/2.0`);
    // Without a Via that reads, no answer can find its sender.
    drop.push(request('OPTIONS', { omit: ['via'] }).text);
    drop.push(request('OPTIONS', { omit: ['via'], headers: ['Via: this is not a via'] }).text);
    drop.push(request('INVITE', { omit: ['from'], headers: ['From: <<<>>>;tag='] }).text);
    drop.push(`OPTIONS ${bUri()}\0 SIP/2.0\r\n\r\n`);
    drop.push(request('OPTIONS', { headers: ['X-Nul: a\0b'] }).text);
    drop.push(request('OPTIONS', { body: 'a\0b\0c', contentType: 'text/plain' }).text);
    drop.push(request('OPTIONS', { headers: ['Content-Length: -5'], contentLength: null }).text);
    drop.push(request('OPTIONS', { headers: [`X-Big: ${'x'.repeat(60_000)}`] }).text);
    drop.push(request('OPTIONS', { omit: ['call-id'] }).text);
    // Responses to requests B never sent (one with a status code sip.js refuses to handle).
    for (const status of ['200 OK', '180 Ringing', '487 Request Terminated', '999 Nonsense', '1 Tiny']) {
      drop.push(
        `SIP/2.0 ${status}\r\nVia: SIP/2.0/UDP ${LOOPBACK};branch=z9hG4bK${token()}\r\nFrom: <sip:2002@${LOOPBACK}>;tag=${token()}\r\n` +
          `To: <sip:x@${LOOPBACK}>;tag=${token()}\r\nCall-ID: ${token()}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`,
      );
    }
    for (const text of drop) await relay.send(text);

    // A mandatory header missing or twice, a CSeq that is not a 32-bit number or names another
    // method: 400 with a reason phrase that names the fault (RFC 3261 §8.2), never silence.
    const refused: Array<[string, Partial<RequestParts>, string]> = [
      ['OPTIONS', { omit: ['from'] }, 'Missing From Header'],
      ['OPTIONS', { omit: ['to'] }, 'Missing To Header'],
      ['INVITE', { omit: ['cseq'] }, 'Missing CSeq Header'],
      ['OPTIONS', { headers: ['CSeq: 2 OPTIONS'] }, 'More Than One CSeq Header'],
      ['OPTIONS', { omit: ['cseq'], headers: ['CSeq: OPTIONS'] }, 'Bad CSeq Header'],
      ['OPTIONS', { omit: ['cseq'], headers: ['CSeq: 99999999999999999999999 OPTIONS'] }, 'CSeq Number Out Of Range'],
      ['INVITE', { omit: ['cseq'], headers: [`CSeq: ${2 ** 31} INVITE`] }, 'CSeq Number Out Of Range'],
      ['OPTIONS', { omit: ['cseq'], headers: ['CSeq: -1 OPTIONS'] }, 'Bad CSeq Header'],
      ['OPTIONS', { cseqMethod: 'INVITE' }, 'CSeq Method Mismatch'],
    ];
    for (const [method, parts, reason] of refused) {
      const fromTag = token();
      const bad = request(method, { fromTag, ...parts });
      await relay.send(bad.text);
      const r = await relay.next((m) => m.status !== undefined && m.header('call-id') === bad.callId, WAIT_MS, `the answer to ${method} (${reason})`);
      assert.equal(r.startLine, `SIP/2.0 400 ${reason}`);
    }
    // (No Call-ID: answered too, test/unit/sip-transport-bad-request.test.ts; the relay here sorts by Call-ID.)

    // Content-Length past the body: refused with 400 (sip.js's check); short of the body: the rest is cut off.
    const long = request('OPTIONS', { body: 'hello', contentType: 'text/plain', contentLength: 50 });
    await relay.send(long.text);
    assert.equal((await relay.final(long.callId, 'OPTIONS')).status, 400);
    const short = request('OPTIONS', { body: 'hello world', contentType: 'text/plain', contentLength: 5 });
    await relay.send(short.text);
    assert.equal((await relay.final(short.callId, 'OPTIONS')).status, 200);
    // A header sip.js parses as it reads (Contact, Content-Type, Max-Forwards...) that does not parse:
    // 400, not silence (lib/sip/transport-bad-request.ts); an ACK is never answered.
    for (const header of ['Contact: <<<sip:', 'Content-Type: ///', 'Max-Forwards: many', 'Record-Route: nonsense<']) {
      const name = header.split(':')[0].toLowerCase();
      for (const method of ['OPTIONS', 'INVITE']) {
        const fromTag = token();
        const bad = request(method, { fromTag, omit: [name], headers: [header] });
        await relay.send(bad.text);
        const r = await relay.final(bad.callId, method);
        assert.equal(r.startLine, `SIP/2.0 400 Bad ${header.split(':')[0]} Header`, `${method} with "${header}"`);
        assert.ok(tagOf(r.header('to')), 'the 400 has a To tag');
        if (method === 'INVITE') await relay.send(ackFor(r, fromTag));
      }
    }
    // A request line sip.js cannot read, in a request whose other headers can be answered.
    const badLine = request('OPTIONS');
    await relay.send(badLine.text.replace(/^OPTIONS /, 'OPTIONS  '));
    assert.equal((await relay.final(badLine.callId, 'OPTIONS')).startLine, 'SIP/2.0 400 Malformed Request-Line');
    const badAck = request('ACK', { omit: ['contact'], headers: ['Contact: <<<'] });
    await relay.send(badAck.text);
    assert.equal(await relay.none((m) => m.header('call-id') === badAck.callId, 300), undefined, 'no answer to an ACK');
    // A header as large as a datagram holds: read and answered.
    const big = request('OPTIONS', { headers: [`X-Big: ${'y'.repeat(60_000)}`] });
    await relay.send(big.text);
    assert.equal((await relay.final(big.callId, 'OPTIONS')).status, 200);

    await probe();
    assert.equal(b.activeCalls().length, 0, 'nothing became a call');
    assert.equal(evB.topics().filter((t) => t === 'incoming').length, 0);
  });

  it('INVITEs whose SDP cannot be read, offers only unknown codecs, or is not IPv4: 488, no call rings', async function () {
    const offers: Record<string, string> = {
      unreadable: 'this is not SDP\r\n\0\xff\r\nm=audio banana RTP/AVP\r\n',
      'binary garbage': randomBytes(200).toString('latin1'),
      'unknown codecs': sdpOffer(LOOPBACK, 40000, { codecs: '96 97', extra: ['a=rtpmap:96 opus/48000/2', 'a=rtpmap:97 speex/16000'] }),
      'unknown static codec': sdpOffer(LOOPBACK, 40000, { codecs: '18' }),
      'IPv6 address': sdpOffer('::1', 40000, { addrType: 'IP6' }),
      'a host name': sdpOffer('media.example.com', 40000),
      'no port': sdpOffer(LOOPBACK, 40000).replace('m=audio 40000', 'm=audio'),
    };
    for (const [what, body] of Object.entries(offers)) {
      const fromTag = token();
      const invite = request('INVITE', { fromTag, contentType: 'application/sdp', body });
      await relay.send(invite.text);
      const final = await relay.final(invite.callId, 'INVITE');
      assert.equal(final.status, 488, `${what}: 488 Not Acceptable Here, got ${final.startLine}`);
      await relay.send(ackFor(final, fromTag));
    }
    await probe();
    assert.equal(b.activeCalls().length, 0);
    assert.equal(evB.topics().filter((t) => t === 'incoming').length, 0, 'no call rang');
  });

  it('trunk mode: an INVITE from the server\'s address but another port: 403, no call rings (our requests go to the server\'s port)', async function () {
    const stranger = await udpSocket();
    try {
      const callId = `stranger-${token()}`;
      const fromTag = token();
      const port = stranger.address().port;
      const invite = buildRequest({ method: 'INVITE', ruri: bUri(), via: { host: LOOPBACK, port }, callId, cseq: 1, fromTag, to: `sip:2002@${LOOPBACK}`, contentType: 'application/sdp', body: sdpOffer(LOOPBACK, 40000) });
      const answers: RawSipMessage[] = [];
      stranger.on('message', (m: Buffer) => answers.push(parseRawSip(m.toString('latin1'))));
      await sendTo(stranger, Buffer.from(invite), portB);
      await waitFor('a final answer', () => answers.some((m) => (m.status ?? 0) >= 200), WAIT_MS);
      const final = answers.find((m) => (m.status ?? 0) >= 200) as RawSipMessage;
      assert.equal(final.status, 403, final.startLine);
      const branch = /;branch=([^;]+)/.exec(final.header('via'))?.[1];
      await sendTo(stranger, Buffer.from(buildRequest({ method: 'ACK', ruri: bUri(), via: { host: LOOPBACK, port }, callId, cseq: 1, fromTag, to: `sip:2002@${LOOPBACK}`, toTag: tagOf(final.header('to')), branch })), portB);
      assert.match(log.lines.join('\n'), new RegExp(`refused a call .* with 403: trunk mode takes calls from 127\\.0\\.0\\.1:${relay.port} only, this came from 127\\.0\\.0\\.1:${port}`));
    } finally {
      stranger.close();
    }
    assert.equal(evB.topics().filter((t) => t === 'incoming').length, 0, 'no call rang');
  });

  it('an answered INVITE never ACKed, then the caller\'s BYE: the call ends once, and sip.js\'s ACK timeout 32 s later is no crash', async function () {
    this.timeout(60_000);
    const fromTag = token();
    const invite = request('INVITE', { fromTag, contentType: 'application/sdp', body: sdpOffer(LOOPBACK, 40000) });
    await relay.send(invite.text);
    const incoming = await evB.next('incoming', (e) => e.call?.remote.uri?.includes('attacker') === true);
    await b.answer(incoming.call?.id);
    const ok = await relay.final(invite.callId, 'INVITE');
    assert.equal(ok.status, 200);
    const contact = /<([^>]+)>/.exec(ok.header('contact'))?.[1] as string;
    await relay.send(buildRequest({ method: 'BYE', ruri: contact, via: via(), callId: invite.callId, cseq: 2, fromTag, to: `sip:2002@${LOOPBACK}`, toTag: tagOf(ok.header('to')) }));
    assert.equal((await relay.final(invite.callId, 'BYE')).status, 200);
    await evB.next('ended', (e) => e.call?.id === incoming.call?.id);
    // sip.js waits 64 × T1 = 32 s for the ACK of its 200 (core/timers.js TIMER_H), then ends the session again.
    await new Promise((r) => setTimeout(r, 34_000));
    assert.deepEqual(crashes, [], 'no exception from the ACK timeout');
    assert.equal(evB.events.filter((e) => e.topic === 'ended' && e.call?.id === incoming.call?.id).length, 1, 'ended once');
  });

  it('the same INVITE again on another branch while the first rings (a merged request, RFC 3261 8.2.2.2): 482, one call rings', async function () {
    // sip.js's check, found by Call-ID here (lib/sip/sip-merged-request.ts), on a real line.
    const fromTag = token();
    const body = sdpOffer(LOOPBACK, 40000);
    const first = request('INVITE', { fromTag, contentType: 'application/sdp', body });
    const ringing = evB.events.filter((e) => e.topic === 'incoming').length;
    await relay.send(first.text);
    const incoming = await evB.next('incoming', (e) => e.call?.remote.uri?.includes('attacker') === true);
    const merged = request('INVITE', { callId: first.callId, fromTag, contentType: 'application/sdp', body });
    assert.notEqual(merged.text.match(/branch=[^;]+/)?.[0], first.text.match(/branch=[^;]+/)?.[0]);
    await relay.send(merged.text);
    assert.equal((await relay.final(first.callId, 'INVITE')).status, 482);
    await b.hangup(incoming.call?.id);
    const refused = await relay.final(first.callId, 'INVITE');
    assert.ok((refused.status ?? 0) >= 400 && refused.status !== 482, refused.startLine);
    await relay.send(ackFor(refused, fromTag));
    await evB.next('ended', (e) => e.call?.id === incoming.call?.id);
    assert.equal(evB.events.filter((e) => e.topic === 'incoming').length, ringing + 1, 'one call rang');
  });

  it('BYE, CANCEL, INFO, NOTIFY, REFER for a dialog that does not exist: 481', async function () {
    for (const method of ['BYE', 'CANCEL', 'INFO', 'NOTIFY', 'REFER']) {
      const headers = method === 'NOTIFY' ? ['Event: refer', 'Subscription-State: active'] : method === 'REFER' ? [`Refer-To: <sip:3003@${LOOPBACK}>`] : [];
      const withTag = request(method, { toTag: token(), headers });
      await relay.send(withTag.text);
      assert.equal((await relay.final(withTag.callId, method)).status, 481, `${method} with a To tag of no dialog`);
    }
    for (const method of ['BYE', 'CANCEL']) {
      const noTag = request(method);
      await relay.send(noTag.text);
      assert.equal((await relay.final(noTag.callId, method)).status, 481, `${method} outside any dialog or transaction`);
    }
    await probe();
  });

  describe('on a connected call from a raw peer', function () {
    interface RawDialog {
      callId: string;
      fromTag: string;
      toTag: string;
      contact: string;
      cseq: number;
      call: Call;
      /** Our RTP socket (the one B latches to). */
      media: Socket;
      /** B's RTP address from its SDP answer. */
      lineRtp: number;
      session: RtpSession;
    }
    let d: RawDialog;

    function inDialog(method: string, parts: Partial<RequestParts> = {}): string {
      d.cseq++;
      return buildRequest({ method, ruri: d.contact, via: via(), callId: d.callId, cseq: d.cseq, fromTag: d.fromTag, to: `sip:2002@${LOOPBACK}`, toTag: d.toTag, ...parts });
    }

    /** Sends an in-dialog request and returns its final response. */
    async function ask(method: string, parts: Partial<RequestParts> = {}): Promise<RawSipMessage> {
      await relay.send(inDialog(method, parts));
      return relay.final(d.callId, method);
    }

    async function stillConnected(): Promise<void> {
      assert.equal(d.call.state, CallState.Active, 'the call goes on');
      const seen = evB.events.length;
      assert.equal((await ask('INFO', { contentType: 'application/dtmf-relay', body: 'Signal=7\r\nDuration=100\r\n' })).status, 200, 'the dialog still answers');
      const key = await evB.next('dtmf', (e) => e.call?.id === d.call.id && evB.events.indexOf(e) >= seen);
      assert.equal(key.payload.digit, '7');
    }

    beforeEach(async function () {
      const media = await udpSocket();
      const callId = relay.own();
      const fromTag = token();
      const invite = buildRequest({
        method: 'INVITE', ruri: bUri(), via: via(), callId, cseq: 1, fromTag, to: `sip:2002@${LOOPBACK}`,
        contentType: 'application/sdp', body: sdpOffer(LOOPBACK, media.address().port),
      });
      await relay.send(invite);
      const incoming = await evB.next('incoming');
      const call = await b.answer(incoming.call?.id);
      const ok = await relay.final(callId, 'INVITE');
      assert.equal(ok.status, 200);
      const contact = /<([^>]+)>/.exec(ok.header('contact'))?.[1] as string;
      const toTag = tagOf(ok.header('to')) as string;
      await relay.send(buildRequest({ method: 'ACK', ruri: contact, via: via(), callId, cseq: 1, fromTag, to: `sip:2002@${LOOPBACK}`, toTag }));
      const lineRtp = Number(/^m=audio (\d+)/m.exec(ok.body)?.[1]);
      await evB.next('answered', (e) => e.call?.id === call.id);
      const session = (b.backend as SipBackend).rtpOf(call) as RtpSession;
      assert.ok(session, 'the call has its RTP session');
      d = { callId, fromTag, toTag, contact, cseq: 1, call, media, lineRtp, session };
    });

    afterEach(async function () {
      if (!d.call.ended) {
        const bye = await ask('BYE');
        assert.equal(bye.status, 200);
        await evB.next('ended', (e) => e.call?.id === d.call.id);
      }
      d.media.close();
    });

    it('BYE with a CSeq out of 32 bits, not a number, or naming another method: 400 naming the fault, the call goes on; a CSeq below the last: 500', async function () {
      const cases: Array<[string, string, string]> = [
        ['99999999999999999999999 BYE', 'BYE', 'CSeq Number Out Of Range'],
        [`${2 ** 32} BYE`, 'BYE', 'CSeq Number Out Of Range'],
        ['1e23 BYE', 'BYE', 'Bad CSeq Header'],
        ['-1 BYE', 'BYE', 'Bad CSeq Header'],
        ['abc BYE', 'BYE', 'Bad CSeq Header'],
        ['1.5 BYE', 'BYE', 'Bad CSeq Header'],
        [`${d.cseq + 13} INVITE`, 'INVITE', 'CSeq Method Mismatch'],
      ];
      for (const [cseq, method, reason] of cases) {
        await relay.send(inDialog('BYE', { omit: ['cseq'], headers: [`CSeq: ${cseq}`] }));
        const r = await relay.final(d.callId, method);
        assert.equal(r.startLine, `SIP/2.0 400 ${reason}`, `BYE with CSeq: ${cseq}`);
        assert.equal(r.header('cseq'), cseq, 'the CSeq copied as it came');
        assert.equal(d.call.state, CallState.Active, `BYE with CSeq: ${cseq} ended nothing`);
      }
      // RFC 3261 §12.2.2: an in-dialog request numbered below the last one is answered 500.
      await stillConnected();
      const low = d.cseq - 1;
      await relay.send(buildRequest({ method: 'BYE', ruri: d.contact, via: via(), callId: d.callId, cseq: low, fromTag: d.fromTag, to: `sip:2002@${LOOPBACK}`, toTag: d.toTag }));
      assert.equal((await relay.final(d.callId, 'BYE')).status, 500, 'a BYE numbered below the last request: 500');
      assert.equal(d.call.state, CallState.Active);
      await stillConnected();
    });

    it('fuzz: 600 mutated requests in and out of the dialog and 1,000 malformed RTP packets: answered or dropped, few log lines, the call and its audio go on', async function () {
      const seed = Number(process.env.SIP_FUZZ_SEED ?? randomInt(0, 2 ** 31));
      const random = seededRandom(seed);
      this.test!.title += ` (seed ${seed}: SIP_FUZZ_SEED=${seed} runs it again)`;
      const ssrc = 0x5eed0001;
      let seq = 1;
      for (let i = 0; i < 5; i++) await sendTo(d.media, rtp(seq++, ssrc), d.lineRtp);
      await waitFor('B latched to us', () => d.session.stats().packetsReceived >= 5, WAIT_MS);
      const keepSending = setInterval(() => void sendTo(d.media, rtp(seq++, ssrc), d.lineRtp).catch(() => undefined), 20);
      const warningsBefore = log.lines.filter((l) => l.startsWith('warn ')).length;
      const invalidBefore = d.session.stats().invalid + d.session.stats().rtcp;
      const sent: string[][] = [];
      try {
        const inDialogMethods = ['BYE', 'INVITE', 'INFO', 'OPTIONS', 'NOTIFY', 'ACK', 'UPDATE', 'MESSAGE', 'CANCEL', 'REFER'];
        for (let i = 0; i < 600; i++) {
          const method = inDialogMethods[Math.floor(random() * inDialogMethods.length)];
          const base =
            random() < 0.8
              ? inDialog(method, { contentType: 'application/dtmf-relay', body: 'Signal=5\r\nDuration=100\r\n' })
              : request(method, { cseq: 1 + Math.floor(random() * 1000), contentType: 'application/sdp', body: sdpOffer(LOOPBACK, d.media.address().port) }).text;
          const fuzz = mutate(base, random);
          sent.push(fuzz.mutations);
          await relay.send(Buffer.from(fuzz.text, 'latin1'));
          if (i % 2 === 0) await sendTo(d.media, malformedRtp(random), d.lineRtp);
          if (i % 3 === 0) await sendTo(d.media, malformedRtp(random), d.lineRtp);
          if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
        }
        for (let i = 0; i < 1000 - 500; i++) {
          await sendTo(d.media, malformedRtp(random), d.lineRtp);
          if (i % 25 === 0) await new Promise((r) => setTimeout(r, 5));
        }
        // Everything sent has been read by now: B answers a probe sent after it (the kernel may have
        // dropped a datagram or two of the barrage, the probe among them: three tries).
        let answered = false;
        for (let attempt = 0; attempt < 3 && !answered; attempt++) {
          const { callId, text } = request('OPTIONS');
          await relay.send(text);
          answered = (await relay.final(callId, 'OPTIONS', 5000).catch(() => undefined))?.status === 200;
        }
        assert.ok(answered, 'the line answers an OPTIONS after the barrage');
        relay.clear();
        const stats = d.session.stats();
        // The kernel may drop some of a burst to a socket of this busy process: most, not all, are counted.
        assert.ok(stats.invalid + stats.rtcp - invalidBefore >= 500, `most malformed RTP counted as such: ${JSON.stringify(stats)}`);
        assert.equal(stats.ssrcChanges, 0, 'no malformed packet was taken for a stream');
        assert.equal(d.call.state, CallState.Active, 'the call goes on');
        let decoded = 0;
        const onAudio = (): void => void decoded++;
        d.session.on('audio', onAudio);
        await waitFor('B decodes our audio after the barrage', () => decoded >= 10, WAIT_MS);
        d.session.off('audio', onAudio);
      } finally {
        clearInterval(keepSending);
      }
      const warnings = log.lines.filter((l) => l.startsWith('warn ')).slice(warningsBefore);
      assert.ok(warnings.length <= 40, `at most a few warnings per source and 10 s, got ${warnings.length}:\n${warnings.slice(0, 60).join('\n')}`);
      assert.equal(b.activeCalls().length, 1, 'no call came of it');
      await stillConnected();
    });

    it('INFO with a broken application/dtmf-relay body: 400, the call goes on', async function () {
      for (const body of ['garbage', 'Signal=\r\n', 'Signal=ZZ\r\nDuration=abc\r\n', '=\r\n=\r\n', 'Signal=5'.padEnd(600, 'x'), '\0\0\0']) {
        const r = await ask('INFO', { contentType: 'application/dtmf-relay', body });
        assert.equal(r.status, 400, `body ${JSON.stringify(body.slice(0, 20))}`);
      }
      assert.equal((await ask('INFO', { contentType: 'application/dtmf-relay' })).status, 400, 'no body at all');
      assert.equal((await ask('INFO', { contentType: 'image/png', body: 'PNG' })).status, 415);
      assert.deepEqual(evB.events.filter((e) => e.topic === 'dtmf' && e.call?.id === d.call.id), [], 'no key reported');
      await stillConnected();
    });

    it('re-INVITE with a broken SDP: 488, the call and its media go on', async function () {
      for (const body of ['not sdp at all', sdpOffer(LOOPBACK, 40000, { codecs: '96', extra: ['a=rtpmap:96 opus/48000/2'] }), sdpOffer('::1', 40000, { addrType: 'IP6' })]) {
        const reinvite = inDialog('INVITE', { contentType: 'application/sdp', body });
        const cseq = d.cseq;
        await relay.send(reinvite);
        const r = await relay.final(d.callId, 'INVITE');
        assert.equal(r.status, 488, `got ${r.startLine}`);
        await relay.send(buildRequest({ method: 'ACK', ruri: d.contact, via: { ...via() }, callId: d.callId, cseq, fromTag: d.fromTag, to: `sip:2002@${LOOPBACK}`, toTag: d.toTag, branch: /;branch=([^;]+)/.exec(r.header('via'))?.[1] }));
      }
      assert.equal(d.session.closed, false, 'the media is still open');
      assert.deepEqual(d.session.target, { address: LOOPBACK, port: d.media.address().port }, 'B still sends to us');
      await stillConnected();
    });

    it('REFER with a Refer-To that is not a URI: refused (400), the call goes on', async function () {
      for (const referTo of ['not a uri', '<>', '<sip:>', '\0']) {
        const r = await ask('REFER', { headers: [`Refer-To: ${referTo}`] });
        assert.equal(r.status, 400, `Refer-To ${JSON.stringify(referTo)}: got ${r.startLine}`);
      }
      // No Refer-To at all: sip.js refuses it itself (480, api/session.js onReferRequest).
      const none = await ask('REFER');
      assert.ok(none.status !== undefined && none.status >= 400 && none.status < 500, `no Refer-To at all: got ${none.startLine}`);
      await stillConnected();
    });

    it('NOTIFY with a broken sipfrag during our transfer: accepted, the transfer fails, the call goes on', async function () {
      const transfer = (b.backend as SipBackend).forwarding.transfer(d.call, '3003');
      transfer.catch(() => undefined);
      const refer = await relay.next((m) => m.method === 'REFER' && m.header('call-id') === d.callId, WAIT_MS, 'the REFER');
      await relay.send(buildResponse(refer, 202, 'Accepted'));
      const notify = (body: string, state: string): string =>
        inDialog('NOTIFY', { headers: ['Event: refer', `Subscription-State: ${state}`], contentType: 'message/sipfrag;version=2.0', body });
      for (const body of ['garbage', 'SIP/2.0 abc Weird\r\n', 'SIP/2.0 99999 Huge\r\n', '\0\0', '']) {
        await relay.send(notify(body, 'active;expires=60'));
        assert.equal((await relay.final(d.callId, 'NOTIFY')).status, 200);
      }
      assert.equal(d.call.state, CallState.Active, 'progress that cannot be read ends nothing');
      await relay.send(notify('SIP/2.0 what\r\n', 'terminated;reason=noresource'));
      assert.equal((await relay.final(d.callId, 'NOTIFY')).status, 200);
      await assert.rejects(transfer, (err: Error) => err instanceof CommandFailedError && /without a final answer/.test(err.message));
      await stillConnected();
    });

    it('RTP: short, wrong version, CSRC / extension / padding past the end, short telephone-event, a stranger, a burst of 10 000: counted and dropped, never hijacked, audio goes on', async function () {
      const ssrc = 0x1234abcd;
      let seq = 1000;
      const heard: number[] = [];
      d.media.on('message', (m: Buffer) => heard.push(m.length));
      // Latch B to our socket.
      for (let i = 0; i < 5; i++) await sendTo(d.media, rtp(seq++, ssrc), d.lineRtp);
      await waitFor('B latched to us', () => d.session.stats().packetsReceived >= 5, WAIT_MS);
      const ours = { address: LOOPBACK, port: d.media.address().port };
      assert.deepEqual(d.session.target, ours);

      const before = d.session.stats();
      const good = rtp(seq++, ssrc);
      const malformed = [
        Buffer.alloc(0),
        good.subarray(0, 11),
        Buffer.concat([Buffer.from([0x40]), good.subarray(1)]), // version 1
        Buffer.concat([Buffer.from([0x8f]), good.subarray(1, 20)]), // 15 CSRCs in 20 bytes
        Buffer.concat([Buffer.from([0x90]), good.subarray(1, 12), Buffer.from([0xbe, 0xde, 0xff, 0xff]), Buffer.alloc(8)]), // extension of 256 KB
        Buffer.concat([Buffer.from([0xa0]), good.subarray(1, 12), Buffer.from([1, 2, 3, 200])]), // 200 bytes of padding in 4
        Buffer.concat([Buffer.from([0xa0]), good.subarray(1, 12), Buffer.from([1, 2, 3, 0])]), // padding count 0
      ];
      for (const m of malformed) await sendTo(d.media, m, d.lineRtp);
      // A telephone event (PT 101 as offered) too short to hold one: parsed as RTP, not as an event.
      await sendTo(d.media, rtp(seq++, ssrc, 101, Buffer.from([5, 0x80])), d.lineRtp);
      await sendTo(d.media, rtp(seq++, ssrc, 101, Buffer.alloc(0)), d.lineRtp);
      await waitFor('the malformed packets counted', () => d.session.stats().invalid - before.invalid === malformed.length, WAIT_MS);

      // A stranger sends while we keep sending: dropped as foreign, the latch stays with us.
      const stranger = await udpSocket();
      const keepSending = setInterval(() => void sendTo(d.media, rtp(seq++, ssrc), d.lineRtp).catch(() => undefined), 20);
      try {
        const foreignBefore = d.session.stats().foreign;
        for (let i = 0; i < 100; i++) await sendTo(stranger, rtp(5000 + i, 0xdeadbeef), d.lineRtp);
        await waitFor('the stranger\'s packets counted', () => d.session.stats().foreign - foreignBefore === 100, WAIT_MS);
        assert.deepEqual(d.session.target, ours, 'a stranger does not take the call\'s audio');
      } finally {
        clearInterval(keepSending);
        stranger.close();
      }

      // A burst of 10 000 packets from the latched source (the kernel may drop some: no count asserted).
      const burst: Promise<void>[] = [];
      for (let i = 0; i < 10_000; i++) burst.push(sendTo(d.media, rtp(seq++, ssrc), d.lineRtp).catch(() => undefined));
      await Promise.all(burst);
      // The call's audio goes on both ways: B decodes what we send and keeps sending to us.
      let decoded = 0;
      const onAudio = (): void => void decoded++;
      d.session.on('audio', onAudio);
      const heardBefore = heard.length;
      const keep = setInterval(() => void sendTo(d.media, rtp(seq++, ssrc), d.lineRtp).catch(() => undefined), 20);
      try {
        await waitFor('B decodes our audio after the burst', () => decoded >= 10, WAIT_MS);
        await waitFor('B still sends to us', () => heard.length - heardBefore >= 10, WAIT_MS);
      } finally {
        clearInterval(keep);
        d.session.off('audio', onAudio);
      }
      assert.deepEqual(d.session.target, ours);
      assert.deepEqual(evB.events.filter((e) => e.topic === 'dtmf' && e.call?.id === d.call.id), [], 'the short telephone events made no key');
      await stillConnected();
    });
  });

  describe('over TCP (a line whose server is a raw TCP socket in the test)', function () {
    let server: Server;
    let line: VoiceLine;
    const conns: TcpSocket[] = [];
    let port: number;

    /** The newest connection from the line, once it is there and the line is ready. */
    async function connection(after = 0): Promise<TcpSocket> {
      await waitFor('the line connected', () => conns.length > after && line.backend?.ready === true, WAIT_MS);
      return conns[conns.length - 1];
    }

    /** An OPTIONS on `conn` is answered 200 on it. */
    async function probeTcp(conn: TcpSocket): Promise<void> {
      const callId = `tcp-${token()}`;
      let got = '';
      const onData = (chunk: Buffer): void => void (got += chunk.toString('latin1'));
      conn.on('data', onData);
      try {
        conn.write(buildRequest({ method: 'OPTIONS', ruri: `sip:3003@${LOOPBACK}`, via: { host: LOOPBACK, port, transport: 'TCP' }, callId, cseq: 1, to: `sip:3003@${LOOPBACK}` }));
        await waitFor('the OPTIONS answered', () => got.includes(`Call-ID: ${callId}`) || got.includes(`i: ${callId}`), WAIT_MS);
        const start = got.lastIndexOf('SIP/2.0 ', got.indexOf(callId));
        assert.equal(parseRawSip(got.slice(start)).status, 200);
      } finally {
        conn.off('data', onData);
      }
    }

    before(async function () {
      server = createServer((s) => {
        s.on('error', () => undefined);
        conns.push(s);
      });
      server.listen(0, LOOPBACK);
      await once(server, 'listening');
      port = (server.address() as { port: number }).port;
      line = new VoiceLine({ id: 'line-tcp', backend: 'sip', server: `${LOOPBACK}:${port}`, transport: 'tcp', username: '3003', register: false, localAddress: LOOPBACK }, { log });
      await line.start();
      await connection();
    });

    after(async function () {
      await line?.stop();
      for (const c of conns) c.destroy();
      server?.close();
    });

    afterEach(async function () {
      assert.equal(line.backend?.ready, true, `the TCP line is ready (${line.status.text})`);
    });

    it('a message that stops half-way waits for the rest; a connection closed mid-message is a lost transport, reconnected', async function () {
      let conn = await connection();
      const callId = `tcp-${token()}`;
      const text = buildRequest({ method: 'OPTIONS', ruri: `sip:3003@${LOOPBACK}`, via: { host: LOOPBACK, port, transport: 'TCP' }, callId, cseq: 1, to: `sip:3003@${LOOPBACK}` });
      let got = '';
      conn.on('data', (c: Buffer) => void (got += c.toString('latin1')));
      conn.write(text.slice(0, 60));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(got, '', 'nothing read yet');
      conn.write(text.slice(60));
      await waitFor('the completed OPTIONS answered', () => got.includes(callId), WAIT_MS);
      assert.match(got, /^SIP\/2\.0 200 /);

      const count = conns.length;
      conn.end(text.slice(0, 80));
      conn = await connection(count);
      await probeTcp(conn);
    });

    it('a Content-Length of 10^9 and a header block over 64 KiB: the connection is dropped and made again', async function () {
      for (const poison of [
        `OPTIONS sip:3003@${LOOPBACK} SIP/2.0\r\nCall-ID: x\r\nContent-Length: 1000000000\r\n\r\n`,
        `OPTIONS sip:3003@${LOOPBACK} SIP/2.0\r\nX-Big: ${'z'.repeat(70_000)}\r\n\r\n`,
      ]) {
        const conn = await connection();
        const count = conns.length;
        const closed = once(conn, 'close');
        conn.write(poison);
        await closed;
        await probeTcp(await connection(count));
      }
    });

    it('a torrent of CRLF keep-alives: each ping answered, the connection kept', async function () {
      const conn = await connection();
      const count = conns.length;
      let pongs = 0;
      const onData = (c: Buffer): void => void (pongs += c.length);
      conn.on('data', onData);
      const pings = 100_000;
      conn.write(Buffer.alloc(pings * 4, '\r\n\r\n'));
      await waitFor('every ping answered', () => pongs >= pings * 2, WAIT_MS * 2);
      conn.off('data', onData);
      await probeTcp(conn);
      assert.equal(conns.length, count, 'no reconnection');
    });
  });

  // Mocha runs a suite's own tests before its nested suites: this one is a suite so that it runs last.
  describe('at the end', function () {
  it('after all that: a real call between the two lines, with audio both ways', async function () {
    const callA = await a.dial('2002');
    const incoming = await evB.next('incoming', (e) => e.call?.remote.number === '1001');
    const callB = await b.answer(incoming.call?.id);
    await Promise.all([evA.next('answered', (e) => e.call?.id === callA.id), evB.next('answered', (e) => e.call?.id === callB.id)]);
    const rtpA = (a.backend as SipBackend).rtpOf(callA) as RtpSession;
    const rtpB = (b.backend as SipBackend).rtpOf(callB) as RtpSession;
    await waitFor('audio both ways', () => rtpA.stats().packetsReceived >= 10 && rtpB.stats().packetsReceived >= 10, WAIT_MS);
    await a.hangup(callA.id);
    const [endA, endB] = await Promise.all([evA.next('ended', (e) => e.call?.id === callA.id), evB.next('ended', (e) => e.call?.id === callB.id)]);
    assert.deepEqual([endA.payload.cause, endB.payload.cause, endB.payload.by], ['normal', 'normal', 'remote']);
  });
  });
});
