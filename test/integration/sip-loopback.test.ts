/**
 * The two-line loopback: two VoiceLines with the SIP backend in one process, each in trunk mode with
 * the other as its "server", on 127.0.0.1 (no PBX). What a flow sees, end to end: events, causes,
 * who ended the call, SIP codes.
 */
import assert from 'node:assert/strict';
import { createSocket, Socket } from 'node:dgram';
import { once } from 'node:events';
import { randomInt } from 'node:crypto';
import { CallState } from '../../lib/call/call-state';
import { LineConfig, VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import { LineNotReadyError, NotSupportedError } from '../../lib/errors';
import { memoryLog } from '../helpers/at-harness';
import { pickPorts } from '../helpers/sip-peers';
import type { SipBackend } from '../../lib/sip/sip-backend';
import { sipLine } from '../helpers/sip-line';

const HOST = '127.0.0.1';
const WAIT_MS = 15_000;

/** Events of one line, with a wait for the next one of a topic (also one that came already). */
class Events {
  readonly seen: VoiceEvent[] = [];
  private taken = 0;
  constructor(line: VoiceLine) {
    line.on('event', (e: VoiceEvent) => this.seen.push(e));
  }
  /** The first event of `topic` not returned before (events of other topics are skipped over, not consumed). */
  async next(topic: string, timeoutMs = WAIT_MS): Promise<VoiceEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.seen.findIndex((e, k) => k >= this.taken && e.topic === topic);
      if (i >= 0) {
        this.taken = i + 1;
        return this.seen[i];
      }
      if (Date.now() > deadline) throw new Error(`no "${topic}" within ${timeoutMs} ms; seen: ${this.seen.map((e) => e.topic).join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  topics(): string[] {
    return this.seen.map((e) => e.topic);
  }
}

async function ready(line: VoiceLine): Promise<void> {
  if (line.backend?.ready) return;
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`line ${line.id} not ready: ${line.status.text}`)), WAIT_MS);
    const on = (): void => {
      if (!line.backend?.ready) return;
      clearTimeout(t);
      line.off('status', on);
      resolve();
    };
    line.on('status', on);
    on();
  });
}

describe('SIP backend: two voice lines calling each other on 127.0.0.1 (integration)', function () {
  this.timeout(60_000);
  const log = memoryLog();
  let a: VoiceLine;
  let b: VoiceLine;
  let evA: Events;
  let evB: Events;

  beforeEach(async function () {
    const base = await pickPorts(2);
    const rtp = 30000 + 32 * randomInt(0, 300);
    a = sipLine('line-a', '1001', base, base + 1, rtp, log, { displayName: 'Line A' });
    b = sipLine('line-b', '2002', base + 1, base, rtp + 16, log);
    evA = new Events(a);
    evB = new Events(b);
    await Promise.all([a.start(), b.start()]);
    await Promise.all([ready(a), ready(b)]);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(log.lines.slice(-60).join('\n'));
    log.lines.length = 0;
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('line-up on both; A dials B: incoming with A\'s number and name, answer, both answered; A hangs up: both ended normal', async function () {
    assert.equal((await evA.next('line-up')).payload.state, 'ready');
    await evB.next('line-up');
    const call = await a.dial('2002');
    assert.equal(call.state, CallState.Dialing);
    assert.equal((await evA.next('dialing')).call?.remote.number, '2002');
    const incoming = await evB.next('incoming');
    assert.equal(incoming.call?.remote.number, '1001');
    assert.equal(incoming.call?.remote.name, 'Line A');
    assert.equal(incoming.call?.direction, 'inbound');
    await evA.next('ringing');
    await b.answer(incoming.call?.id);
    await Promise.all([evA.next('answered'), evB.next('answered')]);
    await a.hangup(call.id);
    const [endA, endB] = await Promise.all([evA.next('ended'), evB.next('ended')]);
    assert.equal(endA.payload.cause, 'normal');
    assert.equal(endA.payload.by, 'local');
    assert.equal(endB.payload.cause, 'normal');
    assert.equal(endB.payload.by, 'remote');
    assert.equal(endB.payload.reason, 'Q.850;cause=16;text="Normal call clearing"', 'our BYE carried the Reason header');
    assert.equal(endB.payload.q850, 16);
    assert.equal(a.activeCalls().length + b.activeCalls().length, 0);
  });

  it('B hangs up an answered call: A ends normal by remote', async function () {
    const call = await a.dial('2002');
    const incoming = await evB.next('incoming');
    await b.answer(incoming.call?.id);
    await evA.next('answered');
    await b.hangup(incoming.call?.id);
    const endA = await evA.next('ended');
    assert.equal(endA.call?.id, call.id);
    assert.deepEqual([endA.payload.cause, endA.payload.by], ['normal', 'remote']);
    assert.deepEqual([(await evB.next('ended')).payload.by], ['local']);
  });

  it('B rejects busy: A\'s dial ends busy with sipCode 486', async function () {
    const dialing = a.dialAndWait('2002');
    const incoming = await evB.next('incoming');
    await b.hangup(incoming.call?.id, 'busy');
    const result = await dialing;
    assert.equal(result.answered, false);
    assert.equal(result.end?.cause, 'busy');
    assert.equal(result.end?.sipCode, 486);
    assert.equal(result.end?.by, 'remote');
    const endB = await evB.next('ended');
    assert.deepEqual([endB.payload.cause, endB.payload.by, endB.payload.sipCode], ['busy', 'local', 486]);
  });

  it('B rejects (603) and unavailable (480): rejected / unavailable at A', async function () {
    for (const [signal, cause, code] of [['rejected', 'rejected', 603], ['unavailable', 'unavailable', 480]] as const) {
      const dialing = a.dialAndWait('2002');
      const incoming = await evB.next('incoming');
      await b.hangup(incoming.call?.id, signal);
      const result = await dialing;
      assert.deepEqual([result.end?.cause, result.end?.sipCode], [cause, code]);
    }
  });

  it('ring timeout: A cancels, ends no-answer (487 kept); B sees ended cancelled by remote', async function () {
    const result = a.dialAndWait('2002', { ringTimeout: 1 });
    await evB.next('incoming');
    const end = (await result).end;
    assert.equal(end?.cause, 'no-answer');
    assert.equal(end?.by, 'local');
    assert.equal(end?.sipCode, 487);
    const endB = await evB.next('ended');
    assert.deepEqual([endB.payload.cause, endB.payload.by], ['cancelled', 'remote']);
  });

  it('A cancels while ringing: cancelled on both sides', async function () {
    const call = await a.dial('2002');
    await evB.next('incoming');
    await evA.next('ringing');
    await a.hangup(call.id);
    const [endA, endB] = await Promise.all([evA.next('ended'), evB.next('ended')]);
    assert.deepEqual([endA.payload.cause, endA.payload.by], ['cancelled', 'local']);
    assert.deepEqual([endB.payload.cause, endB.payload.by], ['cancelled', 'remote']);
  });

  it('trunk mode: a dialled number that is not B\'s user name still reaches B (Request-URI rewrite), the original kept as evidence', async function () {
    await a.dial('+4930123456');
    const incoming = await evB.next('incoming');
    assert.match(String(incoming.payload.evidence), /^INVITE sip:\+4930123456@127\.0\.0\.1:\d+/);
    await b.hangup(incoming.call?.id, 'busy');
    assert.equal((await evA.next('ended')).payload.cause, 'busy');
  });

  it('call waiting: a second call while one is connected arrives as waiting, becomes incoming when the first ends', async function () {
    const first = await a.dial('2002');
    const in1 = await evB.next('incoming');
    await b.answer(in1.call?.id);
    await evA.next('answered');
    await a.dial('2002');
    const waiting = await evB.next('waiting');
    assert.equal(waiting.call?.state, 'waiting');
    await a.hangup(first.id);
    await evB.next('ended');
    const rec = b.activeCalls().find((c) => c.id === waiting.call?.id);
    assert.equal(rec?.state, CallState.Incoming, 'the waiting call is a plain incoming call now');
    await b.answer(waiting.call?.id);
    assert.equal((await evA.next('answered')).call?.state, 'active');
  });

  it('no call waiting in trunk mode (callWaiting auto): a second call is incoming, and answering it leaves the first active', async function () {
    await b.stop();
    const port = Number(String(a.config.server).split(':')[1]);
    b = sipLine('line-b', '2002', port, a.config.localPort as number, b.config.rtpPortMin as number, log, { callWaiting: 'auto' });
    evB = new Events(b);
    await b.start();
    await ready(b);
    await a.dial('2002');
    const in1 = await evB.next('incoming');
    await b.answer(in1.call?.id);
    await evA.next('answered');
    await a.dial('2002');
    const in2 = await evB.next('incoming');
    assert.equal(in2.call?.state, 'incoming', 'a trunk takes independent calls: no waiting');
    await b.answer(in2.call?.id);
    await evA.next('answered');
    const states = b.activeCalls().map((c) => c.state);
    assert.deepEqual(states, [CallState.Active, CallState.Active], 'both calls active: the first was not held');
    assert.equal(evB.topics().includes('held'), false);
  });

  it('maximum concurrent calls: beyond it the caller gets 486 (busy)', async function () {
    await b.stop();
    const port = Number(String(a.config.server).split(':')[1]);
    const aPort = a.config.localPort as number;
    b = sipLine('line-b', '2002', port, aPort, (b.config.rtpPortMin as number), log, { maxCalls: 1 });
    evB = new Events(b);
    await b.start();
    await ready(b);
    await a.dial('2002');
    await evB.next('incoming');
    const second = await a.dialAndWait('2002');
    assert.deepEqual([second.end?.cause, second.end?.sipCode], ['busy', 486]);
    assert.equal(b.activeCalls().length, 1);
  });

  it('trunk mode: an INVITE from another address than the configured server gets 403 (forbidden at the caller)', async function () {
    await b.stop();
    const port = Number(String(a.config.server).split(':')[1]);
    // B trusts 127.0.0.2 only; A calls from 127.0.0.1.
    b = sipLine('line-b', '2002', port, a.config.localPort as number, b.config.rtpPortMin as number, log, { server: `127.0.0.2:${a.config.localPort}` });
    evB = new Events(b);
    await b.start();
    await ready(b);
    const result = await a.dialAndWait('2002');
    assert.deepEqual([result.end?.cause, result.end?.sipCode, result.end?.by], ['forbidden', 403, 'remote']);
    assert.equal(evB.topics().includes('incoming'), false, 'B never offered the call to its flow');
  });

  it('DTMF: A sends 12#9 (RFC 4733), B\'s gather collects 12 (finish key #), and B\'s flow gets one dtmf event per key', async function () {
    const call = await a.dial('2002');
    const incoming = await evB.next('incoming');
    await b.answer(incoming.call?.id);
    await Promise.all([evA.next('answered'), evB.next('answered')]);
    const gather = await b.dtmf.collect(incoming.call?.id, { maxDigits: 5, finishKey: '#' });
    await a.dtmf.send(call.id, '12#9');
    assert.deepEqual(await gather.result, { digits: '12', reason: 'finish-key' });
    for (const digit of ['1', '2', '#', '9']) {
      const e = await evB.next('dtmf');
      assert.deepEqual([e.payload.digit, e.payload.source], [digit, 'rfc4733']);
    }
    await assert.rejects(a.dtmf.send(call.id, '12;x'), /0-9/);
  });

  it('network forwarding rules say they are not supported on a SIP line (NotSupportedError naming the line)', async function () {
    await assert.rejects(
      a.forwarding.setRule('busy', 'enable', '2002'),
      (err: Error) => err instanceof NotSupportedError && /network forwarding rules are not supported on a SIP line \(sip:1001@127\.0\.0\.1/.test(err.message),
    );
  });

  it('a stopped line refuses to dial (LineNotReadyError); a bad number never reaches SIP', async function () {
    await assert.rejects(a.dial('123;x=1'), /not valid/);
    await b.stop();
    await a.stop();
    await assert.rejects(a.dial('2002'), LineNotReadyError);
  });
});

describe('SIP backend against a scripted UAS on 127.0.0.1 (integration)', function () {
  this.timeout(60_000);
  const log = memoryLog();
  let line: VoiceLine;
  let uas: Socket;
  /** The final response the scripted UAS answers every INVITE with. */
  let answer: { code: number; phrase: string; headers: string[] };

  beforeEach(async function () {
    const base = await pickPorts(2);
    uas = createSocket('udp4');
    uas.on('message', (data, rinfo) => {
      const text = data.toString();
      if (!text.startsWith('INVITE ')) return;
      const header = (name: string): string[] => text.split('\r\n').filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
      const lines = [
        `SIP/2.0 ${answer.code} ${answer.phrase}`,
        ...header('Via'),
        ...header('From'),
        ...header('To').map((t) => `${t};tag=uas1`),
        ...header('Call-ID'),
        ...header('CSeq'),
        ...answer.headers,
        'Content-Length: 0',
        '',
        '',
      ];
      uas.send(lines.join('\r\n'), rinfo.port, rinfo.address);
    });
    uas.bind(base + 1, HOST);
    await once(uas, 'listening');
    line = sipLine('line-s', '1001', base, base + 1, 30000 + 32 * randomInt(0, 300), log);
    await line.start();
    await ready(line);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(log.lines.slice(-60).join('\n'));
    log.lines.length = 0;
    await line.stop();
    uas.close();
  });

  const cases: Array<[number, string, string[], string, number | undefined]> = [
    [404, 'Not Found', ['Reason: Q.850;cause=1;text="Unallocated number"'], 'not-found', 1],
    [403, 'Forbidden', [], 'forbidden', undefined],
    [488, 'Not Acceptable Here', [], 'incompatible', undefined],
    [503, 'Service Unavailable', ['Reason: Q.850;cause=42'], 'congestion', 42],
    [503, 'Service Unavailable', ['Reason: Q.850;cause=34'], 'no-circuit', 34],
    [403, 'Forbidden', ['Reason: Q.850;cause=54'], 'barred', 54],
    [410, 'Gone', [], 'changed-number', undefined],
    [502, 'Bad Gateway', [], 'out-of-order', undefined],
    [302, 'Moved Temporarily', ['Contact: <sip:3003@127.0.0.1>'], 'redirected', undefined],
  ];
  for (const [code, phrase, headers, cause, q850] of cases) {
    it(`${code} ${phrase} → ${cause}, sipCode and Reason kept`, async function () {
      answer = { code, phrase, headers };
      const result = await line.dialAndWait('999');
      assert.equal(result.end?.cause, cause);
      assert.equal(result.end?.sipCode, code);
      assert.equal(result.end?.by, 'remote');
      assert.equal(result.end?.q850, q850);
      if (q850 !== undefined) assert.match(String(result.end?.reason), /^Q\.850;cause=/);
    });
  }
});

describe('SIP two-line loopback as a Node-RED flow (the example of docs/sip-backend.md)', function () {
  this.timeout(60_000);
  // Loaded lazily: the Node-RED test helper is heavy and only this block needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const flows = require('../nodes/flow-helpers') as typeof import('../nodes/flow-helpers');

  afterEach(async function () {
    await flows.helper.unload();
  });

  /** Two trunk-mode voice-lines on loopback calling each other: A dials, B answers and hangs up. */
  function loopbackFlow(base: number, rtp: number) {
    const line = (id: string, username: string, port: number, peer: number, rtpMin: number) => ({
      id, type: 'voice-line', name: `line ${username}`, backend: 'sip', server: `127.0.0.1:${peer}`, transport: 'udp',
      username, domain: '', register: false, localPort: port, rtpPortMin: rtpMin, rtpPortMax: rtpMin + 15, displayName: `Line ${username}`,
      autoAnswer: 0, autoReject: false,
    });
    const onTab = (n: Record<string, unknown>) => ({ ...n, z: 'tab' });
    return [
      { id: 'tab', type: 'tab', label: 'SIP loopback' },
      line('A', '1001', base, base + 1, rtp),
      line('B', '2002', base + 1, base, rtp + 16),
      ...[
      flows.voiceNode('dial', 'voice-dial', 'A', [['answered'], ['failed']], { number: '2002', ringTimeout: 30 }),
      // Ids unlike any property value: Node-RED takes a value equal to a node id for a reference.
      flows.voiceNode('inB', 'voice-events', 'B', [['answerB']], { events: ['incoming'] }),
      flows.voiceNode('answerB', 'voice-answer', 'B', [['hangupB']]),
      flows.voiceNode('hangupB', 'voice-hangup', 'B', [['hungup']], { mode: 'hangup' }),
      flows.voiceNode('evA', 'voice-events', 'A', [['eventsA']], { events: ['ended'] }),
      flows.sink('answered'), flows.sink('failed'), flows.sink('hungup'), flows.sink('eventsA'),
      ].map(onTab),
    ];
  }

  it('voice-dial on A reaches voice-answer on B; B hangs up; A\'s voice-events sees ended normal by remote', async function () {
    const base = await pickPorts(2);
    await flows.helper.load(flows.NODES, loopbackFlow(base, 30000 + 32 * randomInt(0, 300)), { A: { password: 'not-used-secret' } });
    await Promise.all([flows.waitReady('A'), flows.waitReady('B')]);
    const answered = new flows.Inbox('answered');
    const hungup = new flows.Inbox('hungup');
    const eventsA = new flows.Inbox('eventsA');
    flows.getNode('dial').receive({ payload: 'go' });
    const msg = await answered.next('the dial answered', () => true, WAIT_MS);
    assert.equal(msg.call.remote.number, '2002');
    assert.equal(msg.call.state, 'active');
    const done = await hungup.next('B hung up', () => true, WAIT_MS);
    assert.equal(done.call.remote.number, '1001');
    const ended = await eventsA.next('ended at A', (m) => m.topic === 'ended', WAIT_MS);
    assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'remote']);
    assert.equal(flows.errorsOf('dial').length + flows.errorsOf('answerB').length + flows.errorsOf('hangupB').length, 0);
    assert.equal(flows.lineOf('A').credentials.password, 'not-used-secret', 'the line got the password credential');
    const logged = JSON.stringify(flows.helper.log().args);
    assert.equal(logged.includes('not-used-secret'), false, 'no log line shows the password');
  });
});

describe('SIP line settings and dial options, two lines on 127.0.0.1 (integration)', function () {
  this.timeout(60_000);
  const log = memoryLog();
  const lines: VoiceLine[] = [];

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(log.lines.slice(-60).join('\n'));
    log.lines.length = 0;
    await Promise.all(lines.splice(0).map((l) => l.stop()));
  });

  /** A and B calling each other, with extra settings for each; both started and ready. */
  async function pair(extraA: Partial<LineConfig> = {}, extraB: Partial<LineConfig> = {}): Promise<{ a: VoiceLine; b: VoiceLine; evA: Events; evB: Events; base: number }> {
    const base = await pickPorts(3);
    const rtp = 30000 + 32 * randomInt(0, 300);
    const a = sipLine('line-a', '1001', base, base + 1, rtp, log, { displayName: 'Line A', ...extraA });
    const b = sipLine('line-b', '2002', base + 1, base, rtp + 16, log, extraB);
    lines.push(a, b);
    const evA = new Events(a);
    const evB = new Events(b);
    await Promise.all([a.start(), b.start()]);
    await Promise.all([ready(a), ready(b)]);
    return { a, b, evA, evB, base };
  }

  function rtpOf(line: VoiceLine, callId: string | undefined) {
    const call = line.activeCalls().find((c) => c.id === callId);
    assert.ok(call, `call ${callId} in progress on ${line.id}`);
    const rtp = (line.backend as SipBackend).rtpOf(call);
    assert.ok(rtp, 'the call has media');
    return rtp;
  }

  it('the caller ID and caller name of one dial are what B sees (From user and display name), instead of the line\'s', async function () {
    const { a, evA, evB } = await pair();
    const call = await a.dial('2002', { callerId: '+4930123456', callerName: 'Support Desk' });
    const incoming = await evB.next('incoming');
    assert.equal(incoming.call?.remote.number, '+4930123456');
    assert.equal(incoming.call?.remote.name, 'Support Desk');
    await a.hangup(call.id);
    await evA.next('ended');
    // The next dial without them is the line's own again.
    await a.dial('2002');
    const second = await evB.next('incoming');
    assert.deepEqual([second.call?.remote.number, second.call?.remote.name], ['1001', 'Line A']);
  });

  it('codecs: A offers PCMA only and B takes PCMU and PCMA: the call\'s audio is PCMA on both sides', async function () {
    const { a, b, evA, evB } = await pair({ codecs: 'PCMA' });
    const call = await a.dial('2002');
    const incoming = await evB.next('incoming');
    await b.answer(incoming.call?.id);
    await Promise.all([evA.next('answered'), evB.next('answered')]);
    assert.equal(rtpOf(a, call.id).media.codec, 'PCMA');
    assert.equal(rtpOf(b, incoming.call?.id).media.codec, 'PCMA');
  });

  it('codecs: A PCMA only, B PCMU only: B refuses the call 488 before it rings, A ends incompatible', async function () {
    const { a, evB } = await pair({ codecs: 'PCMA' }, { codecs: ['PCMU'] });
    const result = await a.dialAndWait('2002');
    assert.deepEqual([result.end?.cause, result.end?.sipCode], ['incompatible', 488]);
    assert.equal(evB.topics().includes('incoming'), false, 'B never offered the call to its flow');
  });

  it('outbound proxy: A\'s server is a port where nothing listens, its outbound proxy is B: the INVITE goes to B, B answers', async function () {
    const base = await pickPorts(3);
    const rtp = 30000 + 32 * randomInt(0, 300);
    // A sends everything to B (the proxy); B takes calls from its server, which is A.
    const a = sipLine('line-a', '1001', base, base + 2, rtp, log, { outboundProxy: `${HOST}:${base + 1}` });
    const b = sipLine('line-b', '2002', base + 1, base, rtp + 16, log);
    lines.push(a, b);
    const evA = new Events(a);
    const evB = new Events(b);
    await Promise.all([a.start(), b.start()]);
    await Promise.all([ready(a), ready(b)]);
    await a.dial('2002');
    const incoming = await evB.next('incoming');
    await b.answer(incoming.call?.id);
    await Promise.all([evA.next('answered'), evB.next('answered')]);
  });

  it('incoming REFER and maximum calls reach the backend as set', async function () {
    const { a, b } = await pair({ incomingRefer: 'follow', maxCalls: 1 });
    assert.equal((a.backend as SipBackend).forwarding.options.incomingRefer, 'follow');
    assert.equal((b.backend as SipBackend).forwarding.options.incomingRefer, undefined, 'B: the default (refuse)');
    await a.dial('2002');
    await assert.rejects(a.dial('2002'), /this line already has 1 calls, its maximum/);
  });
});

describe('SIP voice-dial as a Node-RED flow: caller ID, headers, ring timeout', function () {
  this.timeout(60_000);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const flows = require('../nodes/flow-helpers') as typeof import('../nodes/flow-helpers');

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      // eslint-disable-next-line no-console
      console.log(JSON.stringify({ errors: flows.errorsOf('dial').map(String), log: flows.helper.log().args.slice(-60) }, null, 1));
    }
    await flows.helper.unload();
  });

  function flow(base: number, rtp: number, dialProps: Record<string, unknown>) {
    const line = (id: string, username: string, port: number, peer: number, rtpMin: number) => ({
      id, type: 'voice-line', name: `line ${username}`, backend: 'sip', server: `127.0.0.1:${peer}`, transport: 'udp',
      username, register: false, localPort: port, rtpPortMin: rtpMin, rtpPortMax: rtpMin + 15, displayName: `Line ${username}`,
    });
    return [
      line('A', '1001', base, base + 1, rtp),
      line('B', '2002', base + 1, base, rtp + 16),
      flows.voiceNode('dial', 'voice-dial', 'A', [['answered'], ['failed']], { number: '2002', ringTimeout: 30, ...dialProps }),
      flows.voiceNode('evB', 'voice-events', 'B', [['eventsB']], { events: ['incoming', 'ended'] }),
      flows.sink('answered'), flows.sink('failed'), flows.sink('eventsB'),
    ];
  }

  it('msg.callerId / msg.callerName win over the node\'s settings; B sees them; msg.ringTimeout 3 s cancels: output 2 no-answer, B ended cancelled', async function () {
    const base = await pickPorts(2);
    await flows.helper.load(flows.NODES, flow(base, 30000 + 32 * randomInt(0, 300), { callerId: '555000', callerName: 'Node Setting' }));
    await Promise.all([flows.waitReady('A'), flows.waitReady('B')]);
    const failed = new flows.Inbox('failed');
    const eventsB = new flows.Inbox('eventsB');
    // 3 s: long enough for B to announce the call before A gives up, even on a loaded machine.
    flows.getNode('dial').receive({ payload: 'go', callerId: '+4930123456', callerName: 'Support Desk', sipHeaders: { 'X-Ticket': '4711' }, ringTimeout: 3 });
    const incoming = await eventsB.next('incoming at B', (m) => m.topic === 'incoming', WAIT_MS);
    assert.deepEqual([incoming.call.remote.number, incoming.call.remote.name], ['+4930123456', 'Support Desk']);
    const msg = await failed.next('not answered', () => true, WAIT_MS);
    assert.deepEqual([msg.payload.cause, msg.payload.by, msg.payload.sipCode], ['no-answer', 'local', 487]);
    const ended = await eventsB.next('ended at B', (m) => m.topic === 'ended', WAIT_MS);
    assert.deepEqual([ended.payload.cause, ended.payload.by], ['cancelled', 'remote']);
    assert.deepEqual(flows.errorsOf('dial'), []);
  });

  it('the node\'s caller ID and name are used when the message has none', async function () {
    const base = await pickPorts(2);
    await flows.helper.load(flows.NODES, flow(base, 30000 + 32 * randomInt(0, 300), { callerId: '555000', callerName: 'Node Setting' }));
    await Promise.all([flows.waitReady('A'), flows.waitReady('B')]);
    const eventsB = new flows.Inbox('eventsB');
    const failed = new flows.Inbox('failed');
    flows.getNode('dial').receive({ payload: 'go' });
    const incoming = await eventsB.next('incoming at B', (m) => m.topic === 'incoming', WAIT_MS);
    assert.deepEqual([incoming.call.remote.number, incoming.call.remote.name], ['555000', 'Node Setting']);
    await flows.lineOf('B').hangup(incoming.call.id, 'busy');
    const msg = await failed.next('not answered', () => true, WAIT_MS);
    assert.deepEqual([msg.payload.cause, msg.payload.sipCode], ['busy', 486]);
  });

  it('a bad msg.sipHeaders or msg.callerId fails the message (EINVAL) and nothing reaches B', async function () {
    const base = await pickPorts(2);
    await flows.helper.load(flows.NODES, flow(base, 30000 + 32 * randomInt(0, 300), {}));
    await Promise.all([flows.waitReady('A'), flows.waitReady('B')]);
    const eventsB = new flows.Inbox('eventsB');
    flows.getNode('dial').receive({ payload: 'go', sipHeaders: { 'Call-ID': 'mine' } });
    const err = await flows.nextError('dial');
    assert.equal(String(err), 'the header "Call-ID" cannot be set from a flow: the line writes it itself');
    assert.equal((err as Error & { code?: string }).code, 'EINVAL');
    flows.getNode('dial').receive({ payload: 'go', callerId: '1001\r\nX: y' });
    await flows.waitFor('a second error', () => flows.errorsOf('dial').length === 2);
    assert.match(String(flows.errorsOf('dial')[1]), /^the caller ID "1001\\r\\nX: y" is not valid/);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(eventsB.messages, []);
  });
});
