/**
 * Attended transfer that succeeds, end to end, and dialling SIP addresses (docs/forwarding.md, "SIP
 * lines"; docs/sip-backend.md, "Dial options").
 *
 * Three lines A (1001), B (2002) and C (3003) registered at Kamailio on 127.0.0.1 (a proxy, not a
 * B2BUA: Call-IDs and tags are end to end, as Replaces needs). A line sends every request to its server
 * (lib/sip/transport-udp.ts), so three trunk-mode lines cannot reach each other directly; the proxy
 * routes by Request-URI: a number to the registered contact, a contact address (the Refer-To of an
 * attended transfer) straight to that UA. A calls B and C; A transfers B to C (`transferToCall`); B
 * (incomingRefer: follow) sends INVITE sip:<C's contact> with the Refer-To's Replaces; C answers it
 * at once and BYEs its call with A. What is asserted is what each line saw, and that B and C talk (DTMF
 * both ways) once A is gone.
 *
 * Dialling a SIP address is tested on two trunk-mode lines (each the other's server, as in
 * sip-forwarding.test.ts): the Request-URI is the address as given, the remote number its user.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { CallState } from '../../lib/call/call-state';
import { LineConfig, VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import { SipBackend } from '../../lib/sip/sip-backend';
import { memoryLog } from '../helpers/at-harness';
import { EventLog, transferSteps } from '../helpers/event-log';
import { Kamailio, LOOPBACK, pickPorts, requirePeer, waitFor } from '../helpers/sip-peers';

const WAIT_MS = 20_000;
const NO_TIMEOUTS = { firstDigitTimeoutMs: 0, interDigitTimeoutMs: 0 };
const PASSWORDS: Record<string, string> = { '1001': 'a-Secret-1', '2002': 'b-Secret-2', '3003': 'c-Secret-3' };

interface Party {
  line: VoiceLine;
  events: EventLog;
}

/** The `transfer` events' statuses (and codes) of one call, in order. */
function ended(e: VoiceEvent): [unknown, unknown] {
  return [e.payload.cause, e.payload.by];
}

describe('SIP attended transfer end to end: three lines at Kamailio on 127.0.0.1 (integration)', function () {
  this.timeout(90_000);
  const log = memoryLog();
  let kamailio: Kamailio | undefined;
  const lines: VoiceLine[] = [];
  let parties: Record<'a' | 'b' | 'c', Party> | undefined;

  before(async function () {
    requirePeer(this, 'kamailio');
    kamailio = await Kamailio.start({ users: PASSWORDS });
  });

  after(async () => {
    await kamailio?.stop();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      const topics = parties ? Object.entries(parties).map(([k, p]) => `${k}: ${p.events.topics().join(', ')}`) : [];
      // eslint-disable-next-line no-console
      console.log([...log.lines.slice(-120), ...topics, kamailio?.log().slice(-3000) ?? ''].join('\n'));
    }
    log.lines.length = 0;
    parties = undefined;
    await Promise.all(lines.splice(0).map((l) => l.stop()));
  });

  /** A registered line; `traceSip`: its SIP messages go to the log (a backend option, not a line setting). */
  async function party(username: string, extra: Partial<LineConfig> = {}, traceSip = false): Promise<Party> {
    const port = await pickPorts(1);
    const rtp = 30000 + 32 * randomInt(0, 600);
    const config: LineConfig = { id: `line-${username}`, backend: 'sip', server: kamailio?.address, transport: 'udp', username, register: true, localPort: port, localAddress: LOOPBACK, rtpPortMin: rtp, rtpPortMax: rtp + 15, ...extra };
    const backendFactory = (l: VoiceLine): SipBackend =>
      new SipBackend({
        lineId: l.id,
        server: config.server ?? '',
        transport: 'udp',
        username,
        password: PASSWORDS[username],
        register: true,
        localPort: port,
        localAddress: LOOPBACK,
        rtpPortMin: rtp,
        rtpPortMax: rtp + 15,
        incomingRefer: config.incomingRefer,
        traceSip,
        log,
      });
    const line = new VoiceLine(config, { log, credentials: { password: PASSWORDS[username] }, ...(traceSip ? { backendFactory } : {}) });
    lines.push(line);
    const events = new EventLog(line, WAIT_MS);
    await line.start();
    await waitFor(`line ${username} registered (${line.status.text})`, () => line.backend?.ready === true, WAIT_MS);
    return { line, events };
  }

  /** `from` calls `number` at `to` (which has no other call), `to` answers; both calls' ids. */
  async function call(from: Party, to: Party, number: string): Promise<{ out: string; in: string }> {
    const placed = await from.line.dial(number);
    const arrived = await to.events.next('incoming');
    await to.line.answer(arrived.call?.id);
    await Promise.all([
      from.events.next('answered', (e) => e.call?.id === placed.id),
      to.events.next('answered', (e) => e.call?.id === arrived.call?.id),
    ]);
    return { out: placed.id, in: arrived.call?.id as string };
  }

  it('A calls B and C, transfers B to C attended: B follows with INVITE + Replaces to C, C\'s call with A ends replaced, A\'s two calls end transferred, B and C talk (DTMF both ways)', async () => {
    const a = await party('1001');
    const b = await party('2002', { incomingRefer: 'follow' });
    const c = await party('3003', {}, true);
    parties = { a, b, c };

    const ab = await call(a, b, '2002');
    // A's second call: C has nothing else, so it rings as `incoming`; A's first call goes on meanwhile.
    const acPlaced = await a.line.dial('3003');
    const acIncoming = await c.events.next('incoming');
    await c.line.answer(acIncoming.call?.id);
    await a.events.next('answered', (e) => e.call?.id === acPlaced.id);
    const ac = { out: acPlaced.id, in: acIncoming.call?.id as string };

    const done = await a.line.forwarding.transferToCall(ab.out, ac.out);
    assert.equal(done.other?.id, ac.out);

    // A: both calls end transferred; the REFER's steps as B reported them.
    const endAB = await a.events.next('ended', (e) => e.call?.id === ab.out);
    const endAC = await a.events.next('ended', (e) => e.call?.id === ac.out);
    assert.deepEqual(ended(endAB), ['transferred', 'local']);
    // C ends it (its BYE of the replaced dialog), whether that BYE or B's final NOTIFY reached A first.
    assert.deepEqual(ended(endAC), ['transferred', 'remote']);
    const stepsA = transferSteps(a.events, ab.out);
    assert.deepEqual([stepsA[0], stepsA[stepsA.length - 1]], ['started', 'succeeded 200 normal']);
    const reportA = a.events.events.find((e) => e.topic === 'transfer' && e.payload.status === 'succeeded');
    assert.deepEqual([reportA?.payload.method, reportA?.payload.role, reportA?.payload.target], ['attended', 'transferor', ac.out]);

    // B: the REFER was followed (attended: it had Replaces); its old call ends transferred by A.
    const endBA = await b.events.next('ended', (e) => e.call?.id === ab.in);
    assert.deepEqual(ended(endBA), ['transferred', 'remote']);
    const stepsB = transferSteps(b.events, ab.in);
    assert.deepEqual([stepsB[0], stepsB[stepsB.length - 1]], ['accepted 202', 'succeeded 200 normal']);
    assert.equal(b.events.events.find((e) => e.topic === 'transfer')?.payload.method, 'attended');

    // C: the call from B arrived while C had A (waiting), was answered at once, and replaced A's.
    const newC = await c.events.next('waiting');
    assert.equal(newC.call?.remote.number, '2002');
    const endCA = await c.events.next('ended', (e) => e.call?.id === ac.in);
    assert.deepEqual(ended(endCA), ['replaced', 'remote']);
    assert.match(String(endCA.payload.text), new RegExp(`replaced by call ${String(newC.call?.id)}`));

    // Left: B and C connected to each other, A with nothing.
    await waitFor('B and C each have one active call', () => b.line.activeCalls().length === 1 && c.line.activeCalls().length === 1 && b.line.activeCalls()[0].state === CallState.Active && c.line.activeCalls()[0].state === CallState.Active, WAIT_MS);
    assert.equal(a.line.activeCalls().length, 0);
    const callB = b.line.activeCalls()[0];
    const callC = c.line.activeCalls()[0];
    assert.equal(callC.id, newC.call?.id);
    assert.equal(callB.remote.number, '3003', 'B dialled C\'s contact address: the remote number is its user part');
    // What reached C (its SIP trace): B's INVITE to C's contact, with the Replaces naming C's dialog
    // with A and the Referred-By of A's REFER (sip.js writes <A's address of record>).
    const invite = log.lines.find((l) => /sip receive \(UDP\)[^\n]*\nINVITE sip:3003@127\.0\.0\.1:\d+/.test(l) && /\r?\nReplaces: /i.test(l));
    assert.ok(invite, 'C received an INVITE with Replaces');
    const dialogAC = /\r?\nCall-ID: *([^\r\n]+)/i.exec(log.lines.find((l) => /sip receive \(UDP\)[^\n]*\nINVITE sip:3003@/.test(l) && !/\r?\nReplaces: /i.test(l)) ?? '')?.[1];
    assert.ok(dialogAC, 'C\'s trace has A\'s INVITE');
    assert.match(invite, new RegExp(`\\r?\\nReplaces: *${dialogAC.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')};`, 'i'));
    assert.match(invite, /\r?\nReferred-By: *<sip:1001@127\.0\.0\.1(?::\d+)?>/i);

    // They talk: DTMF (RFC 4733, in the RTP between B and C) both ways.
    const gatherC = await c.line.dtmf.collect(callC.id, { maxDigits: 10, finishKey: '#', ...NO_TIMEOUTS });
    await b.line.dtmf.send(callB.id, '42#', { durationMs: 100 });
    assert.deepEqual(await gatherC.result, { digits: '42', reason: 'finish-key' });
    const gatherB = await b.line.dtmf.collect(callB.id, { maxDigits: 10, finishKey: '#', ...NO_TIMEOUTS });
    await c.line.dtmf.send(callC.id, '7*#', { durationMs: 100 });
    assert.deepEqual(await gatherB.result, { digits: '7*', reason: 'finish-key' });

    await b.line.hangup(callB.id);
    assert.deepEqual(ended(await c.events.next('ended', (e) => e.call?.id === callC.id)), ['normal', 'remote']);
    // No secret in any log line.
    assert.equal(log.lines.some((l) => Object.values(PASSWORDS).some((p) => l.includes(p))), false);
  });

  describe('the same as a Node-RED flow', () => {
    // Loaded lazily: the Node-RED test helper is heavy and only this block needs it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const flows = require('../nodes/flow-helpers') as typeof import('../nodes/flow-helpers');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const voiceForward = require('../../nodes/voice-forward');

    afterEach(async function () {
      await flows.helper.unload();
    });

    it('voice-dial on A calls B and C (voice-answer there); voice-forward with msg.target transfers B to C; B and C end up connected, A with nothing', async () => {
      const ports = await pickPorts(3);
      const rtp = 30000 + 32 * randomInt(0, 600);
      const line = (id: string, username: string, n: number, extra: Record<string, unknown> = {}) => ({
        id, type: 'voice-line', name: `line ${username}`, backend: 'sip', server: kamailio?.address, transport: 'udp', username, domain: '', register: true,
        localPort: ports + n, localAddress: LOOPBACK, rtpPortMin: rtp + 16 * n, rtpPortMax: rtp + 16 * n + 15, autoAnswer: 0, autoReject: false, ...extra,
      });
      const onTab = (node: Record<string, unknown>) => ({ ...node, z: 'tab' });
      const flow = [
        { id: 'tab', type: 'tab', label: 'attended transfer' },
        line('A', '1001', 0),
        line('B', '2002', 1, { incomingRefer: 'follow' }),
        line('C', '3003', 2),
        ...[
          flows.voiceNode('dialB', 'voice-dial', 'A', [['upB'], ['downB']], { number: '2002', ringTimeout: 30 }),
          flows.voiceNode('dialC', 'voice-dial', 'A', [['upC'], ['downC']], { number: '3003', ringTimeout: 30 }),
          flows.voiceNode('inB', 'voice-events', 'B', [['answerB']], { events: ['incoming'] }),
          flows.voiceNode('answerB', 'voice-answer', 'B', [[]]),
          flows.voiceNode('inC', 'voice-events', 'C', [['answerC']], { events: ['incoming'] }),
          flows.voiceNode('answerC', 'voice-answer', 'C', [[]]),
          flows.voiceNode('fwd', 'voice-forward', 'A', [['transferred']], { mode: 'transfer', number: '' }),
          flows.voiceNode('evA', 'voice-events', 'A', [['endedA']], { events: ['ended'] }),
          flows.sink('upB'), flows.sink('downB'), flows.sink('upC'), flows.sink('downC'), flows.sink('transferred'), flows.sink('endedA'),
        ].map(onTab),
      ];
      const credentials = Object.fromEntries([['A', '1001'], ['B', '2002'], ['C', '3003']].map(([id, user]) => [id, { password: PASSWORDS[user] }]));
      await flows.helper.load([...flows.NODES, voiceForward], flow, credentials);
      await Promise.all(['A', 'B', 'C'].map((id) => flows.waitReady(id)));
      await waitFor('all three registered', () => ['A', 'B', 'C'].every((id) => flows.lineOf(id).backend?.ready === true), WAIT_MS);
      const upB = new flows.Inbox('upB');
      const upC = new flows.Inbox('upC');
      const transferred = new flows.Inbox('transferred');
      const endedA = new flows.Inbox('endedA');

      flows.getNode('dialB').receive({ payload: 'go' });
      const toB = await upB.next('A–B answered', () => true, WAIT_MS);
      flows.getNode('dialC').receive({ payload: 'go' });
      const toC = await upC.next('A–C answered', () => true, WAIT_MS);
      flows.getNode('fwd').receive({ call: toB.call, target: toC.call.id });
      const out = await transferred.next('voice-forward\'s output', () => true, WAIT_MS);
      assert.equal(out.call.id, toB.call.id);
      assert.equal(out.payload.target.id, toC.call.id);
      await endedA.next('both of A\'s calls ended', () => endedA.messages.length === 2, WAIT_MS);
      assert.deepEqual(endedA.messages.map((m) => m.payload.cause), ['transferred', 'transferred']);

      const [b, c] = [flows.lineOf('B'), flows.lineOf('C')];
      await waitFor('B and C connected to each other', () => b.activeCalls().length === 1 && c.activeCalls().length === 1 && b.activeCalls()[0].state === CallState.Active && c.activeCalls()[0].state === CallState.Active, WAIT_MS);
      assert.equal(flows.lineOf('A').activeCalls().length, 0);
      const gather = await c.dtmf.collect(c.activeCalls()[0].id, { maxDigits: 10, finishKey: '#', ...NO_TIMEOUTS });
      await b.dtmf.send(b.activeCalls()[0].id, '58#', { durationMs: 100 });
      assert.deepEqual(await gather.result, { digits: '58', reason: 'finish-key' });
      assert.equal(['dialB', 'dialC', 'answerB', 'answerC', 'fwd'].reduce((n, id) => n + flows.errorsOf(id).length, 0), 0);
      const logged = JSON.stringify(flows.helper.log().args);
      assert.equal(Object.values(PASSWORDS).some((p) => logged.includes(p)), false, 'no log line shows a password');
    });
  });
});

describe('SIP: dialling a SIP address (two trunk-mode lines on 127.0.0.1, integration)', function () {
  this.timeout(60_000);
  const log = memoryLog();
  const lines: VoiceLine[] = [];

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      // eslint-disable-next-line no-console
      console.log(log.lines.slice(-60).join('\n'));
    }
    log.lines.length = 0;
    await Promise.all(lines.splice(0).map((l) => l.stop()));
  });

  it('A dials sip:bob@<B> with parameters: B sees the Request-URI as given (user bob), A\'s remote number is bob; the call works', async () => {
    const base = await pickPorts(2);
    const rtp = 30000 + 32 * randomInt(0, 600);
    const make = (id: string, username: string, port: number, peer: number, rtpBase: number): VoiceLine => {
      const line = new VoiceLine(
        { id, backend: 'sip', server: `${LOOPBACK}:${peer}`, transport: 'udp', username, register: false, localPort: port, localAddress: LOOPBACK, rtpPortMin: rtpBase, rtpPortMax: rtpBase + 15 },
        { log },
      );
      lines.push(line);
      return line;
    };
    const a = make('line-a', '1001', base, base + 1, rtp);
    const b = make('line-b', '2002', base + 1, base, rtp + 16);
    const evA = new EventLog(a, WAIT_MS);
    const evB = new EventLog(b, WAIT_MS);
    await Promise.all([a.start(), b.start()]);
    await waitFor('both lines ready', () => a.backend?.ready === true && b.backend?.ready === true, WAIT_MS);

    const address = `sip:bob@${LOOPBACK}:${base + 1};transport=udp`;
    const placed = await a.dial(address);
    assert.equal(placed.remote.number, 'bob');
    assert.equal(placed.remote.uri, address);
    const dialling = await evA.next('dialing');
    assert.equal(dialling.payload.evidence, `INVITE ${address}`);
    const incoming = await evB.next('incoming');
    // Trunk mode keeps the Request-URI as it came in the evidence.
    assert.equal(incoming.payload.evidence, `INVITE ${address}`);
    assert.equal(incoming.payload.number, '1001');
    await b.answer(incoming.call?.id);
    await evA.next('answered');
    await a.hangup(placed.id);
    assert.deepEqual(ended(await evB.next('ended')), ['normal', 'remote']);
  });
});
