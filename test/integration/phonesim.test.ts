import assert from 'node:assert/strict';
import voiceControl = require('../../nodes/voice-control');
import voiceDtmf = require('../../nodes/voice-dtmf');
import voiceForward = require('../../nodes/voice-forward');
import { Phonesim, phonesimSuite } from '../helpers/phonesim';
import { FlowNode, Inbox, Msg, NODES, errorsOf, getNode, helper, lineNode, sink, voiceNode, waitFor } from '../nodes/flow-helpers';

/**
 * The package's nodes against oFono's phonesim with its default profile (`default.xml`, as shipped),
 * through socat's pty and the real `serialport` binding: a modem we did not write. Runs when `PHONESIM`
 * names the binary (docs/at-interop.md); skipped with the reason otherwise, also on CI. A failed test
 * prints the wire (`PHONESIM_WIRE=1`: every test).
 *
 * phonesim's own numbers (its src/callmanager.cpp), which the cases below use:
 * - `6789`: answered after 1 s, without ringing first;
 * - `06123xx`: ringing after 1 s, answered xx s later;
 * - `05123xx`: answered after 1 s, the other side hangs up xx s later (`NO CARRIER`);
 * - `155`: `BUSY`; `12377`: refused by call control, `NO CARRIER`;
 * - `199`: `NO CARRIER`, then 5 s later an incoming call from 1234567 ("Alice");
 * - `166`: `NO CARRIER`, then 1 s later an incoming call from 1234567 that its caller abandons 4 s later;
 * - any other number stays "dialling" for ever: no `NO ANSWER` ever comes, the ring timeout ends it.
 * An incoming call arrives as `+CRING: VOICE` + `+CLIP` (`+CCWA` while a call is up), with phonesim's
 * `*ECAV` state URCs, which the backend does not know and leaves to its `AT+CLCC` polling.
 */
const CALLER = '1234567';

/** The line on phonesim's pty, every node of the package wired to its own sink, all events → EV. */
function flow(device: string): FlowNode[] {
  return [
    lineNode('L', { serialPort: device }),
    voiceNode('E', 'voice-events', 'L', [['EV']]),
    voiceNode('D', 'voice-dial', 'L', [['DOK'], ['DNO']], { number: '', ringTimeout: 30 }),
    voiceNode('A', 'voice-answer', 'L', [['ANS']]),
    voiceNode('H', 'voice-hangup', 'L', [['HUP']], { mode: 'hangup', cause: 'normal' }),
    voiceNode('C', 'voice-control', 'L', [['CTL']], { action: 'swap' }),
    voiceNode('T', 'voice-dtmf', 'L', [['DT']], { mode: 'send', digits: '', duration: 100 }),
    voiceNode('F', 'voice-forward', 'L', [['FWD']], { mode: 'rule', reason: 'unconditional', forwardMode: 'query', number: '', time: '' }),
    ...['EV', 'DOK', 'DNO', 'ANS', 'HUP', 'CTL', 'DT', 'FWD'].map(sink),
  ];
}

interface Rig {
  sim: Phonesim;
  ev: Inbox;
  dialled: Inbox;
  notDialled: Inbox;
  answered: Inbox;
  hungUp: Inbox;
  /** The first event `topic` of call `id` (any call without). */
  event(topic: string, id?: string, ms?: number): Promise<Msg>;
}

describe('AT line against oFono phonesim (default profile, socat pty, real serialport)', function () {
  this.timeout(40000);
  const phonesim = phonesimSuite(() => helper.unload());

  /** phonesim, the flow on its pty, and the line up. */
  async function rig(): Promise<Rig> {
    const sim = await phonesim.start();
    await helper.load([...NODES, voiceControl, voiceDtmf, voiceForward], flow(sim.device));
    const ev = new Inbox('EV');
    const r: Rig = {
      sim,
      ev,
      dialled: new Inbox('DOK'),
      notDialled: new Inbox('DNO'),
      answered: new Inbox('ANS'),
      hungUp: new Inbox('HUP'),
      event: (topic, id, ms = 12000) => ev.next(`event ${topic}${id ? ` of ${id}` : ''}`, (m) => m.topic === topic && (!id || m.call?.id === id), ms),
    };
    await r.event('line-up', undefined, 15000);
    return r;
  }

  const dial = (number: string, extra: Msg = {}): void => getNode('D').receive({ payload: number, ...extra });

  /** Dials `number` and waits for the not-answered output. */
  async function dialFails(r: Rig, number: string): Promise<Msg> {
    dial(number);
    return r.notDialled.next(`${number} not answered`, (m) => m.call.remote.number === number);
  }

  it('brings the line up: phonesim refuses a bare AT, answers the rest', async function () {
    const r = await rig();
    const commands = r.sim.commands();
    assert.ok(commands.includes('ATE0'), commands.join(' '));
    assert.ok(commands.includes('AT+CLIP=1'), commands.join(' '));
    assert.match(r.sim.transcript(), /MeeGo Synthetic Phone/, 'ATI was answered');
    assert.deepEqual(errorsOf('L'), []);
  });

  it('dial answered (06123xx): ringing, then answered on output 1; a local hang-up ends it normal', async function () {
    const r = await rig();
    dial('0612302');
    const msg = await r.dialled.next('answered');
    assert.equal(msg.call.state, 'active');
    assert.equal(msg.call.direction, 'outbound');
    assert.equal(msg.call.remote.number, '0612302');
    const id = msg.call.id as string;
    const topics = r.ev.messages.filter((m) => m.call?.id === id).map((m) => m.topic);
    assert.deepEqual(topics.filter((t) => t !== 'early-media'), ['dialing', 'ringing', 'answered']);
    getNode('H').receive({ call: msg.call });
    const ended = await r.event('ended', id);
    assert.equal(ended.payload.cause, 'normal');
    assert.equal(ended.payload.by, 'local');
    assert.equal(r.notDialled.messages.length, 0);
  });

  it('dial busy (155): output 2, cause busy, the modem\'s BUSY kept', async function () {
    const r = await rig();
    const msg = await dialFails(r, '155');
    assert.equal(msg.payload.cause, 'busy');
    assert.equal(msg.payload.by, 'remote');
    assert.equal(msg.payload.finalResult, 'BUSY');
    assert.equal(r.dialled.messages.length, 0);
  });

  it('dial no answer (06123xx ringing for longer than the ring timeout): output 2, cause no-answer, and phonesim\'s call is released', async function () {
    const r = await rig();
    dial('0612399', { ringTimeout: 4 });
    const msg = await r.notDialled.next('not answered');
    assert.equal(msg.payload.cause, 'no-answer');
    assert.ok(r.ev.messages.some((m) => m.topic === 'ringing' && m.call.id === msg.call.id), 'it rang first');
    const atd = r.sim.commands().indexOf('ATD0612399;');
    assert.ok(atd >= 0);
    assert.ok(r.sim.commands().slice(atd).some((c) => c === 'AT+CHUP' || c.startsWith('ATH') || c.startsWith('AT+CHLD=1')), 'the call was released on the modem');
  });

  it('dial not reachable (12377, refused by the network with NO CARRIER): output 2, cause failed', async function () {
    const r = await rig();
    const msg = await dialFails(r, '12377');
    assert.equal(msg.payload.cause, 'failed');
    assert.equal(msg.payload.finalResult, 'NO CARRIER');
    assert.equal(r.dialled.messages.length, 0);
  });

  it('an incoming call with the caller\'s number, answered, then hung up here', async function () {
    const r = await rig();
    await dialFails(r, '199'); // phonesim calls back in 5 s
    const incoming = await r.event('incoming');
    assert.equal(incoming.call.remote.number, CALLER);
    assert.equal(incoming.call.direction, 'inbound');
    getNode('A').receive({ call: incoming.call });
    const answered = await r.answered.next('answered');
    assert.equal(answered.call.state, 'active');
    assert.ok(r.sim.commands().includes('ATA'));
    getNode('H').receive({ call: answered.call });
    const ended = await r.event('ended', incoming.call.id);
    assert.equal(ended.payload.cause, 'normal');
    assert.equal(ended.payload.by, 'local');
  });

  it('remote hang-up (05123xx): answered, then ended normal by the other side', async function () {
    const r = await rig();
    dial('0512302');
    const msg = await r.dialled.next('answered');
    const ended = await r.event('ended', msg.call.id);
    assert.equal(ended.payload.cause, 'normal');
    assert.equal(ended.payload.by, 'remote');
    assert.ok(ended.call.answeredAt);
  });

  it('an incoming call its caller abandons (166) ends cancelled', async function () {
    const r = await rig();
    await dialFails(r, '166'); // phonesim calls in 1 s, and gives up 4 s later
    const incoming = await r.event('incoming');
    assert.equal(incoming.call.remote.number, CALLER);
    const ended = await r.event('ended', incoming.call.id);
    assert.equal(ended.payload.by, 'remote');
    assert.equal(ended.payload.cause, 'cancelled');
    assert.equal(ended.call.answeredAt, undefined);
  });

  it('call waiting: a second call waits during a call, is answered (AT+CHLD=2), and voice-control swaps them', async function () {
    const r = await rig();
    await dialFails(r, '199'); // the call-back arrives in 5 s, into the next call
    dial('6789');
    const first = await r.dialled.next('6789 answered');
    const waiting = await r.event('waiting');
    assert.equal(waiting.call.remote.number, CALLER);
    assert.equal(waiting.call.direction, 'inbound');
    assert.equal(r.ev.messages.filter((m) => m.topic === 'incoming').length, 0, 'a waiting call is not announced as incoming');
    getNode('A').receive({ call: waiting.call });
    const answered = await r.answered.next('waiting call answered');
    assert.equal(answered.call.state, 'active');
    await r.event('held', first.call.id);
    getNode('C').receive({});
    const swapped = await new Inbox('CTL').next('swapped');
    assert.equal(swapped.payload.active.id, first.call.id);
    assert.equal(swapped.payload.active.state, 'active');
    assert.equal(swapped.payload.held.id, waiting.call.id);
    assert.equal(swapped.payload.held.state, 'held');
    assert.equal(r.sim.commands().filter((c) => c === 'AT+CHLD=2').length, 2, 'answer and swap are both AT+CHLD=2');
    assert.deepEqual(errorsOf('C'), []);
  });

  it('DTMF: voice-dtmf sends 12# into the answered call, and phonesim takes every tone', async function () {
    const r = await rig();
    dial('6789');
    const call = (await r.dialled.next('answered')).call;
    getNode('T').receive({ call, payload: '12#' });
    const sent = await new Inbox('DT').next('sent');
    assert.equal(sent.call.id, call.id);
    const vts = r.sim.commands().filter((c) => c.startsWith('AT+VTS=') && c !== 'AT+VTS=?');
    const tones = vts.map((c) => /^AT\+VTS="?([0-9*#A-D]+)/.exec(c)?.[1] ?? '').join('');
    assert.equal(tones, '12#', vts.join(' '));
    assert.deepEqual(errorsOf('T'), []);
  });

  it('call forwarding query: voice-forward gives phonesim\'s rules (none active)', async function () {
    const r = await rig();
    getNode('F').receive({ topic: 'keep me' });
    const msg = await new Inbox('FWD').next('queried');
    assert.equal(msg.topic, 'keep me');
    assert.ok(Array.isArray(msg.payload), JSON.stringify(msg.payload));
    assert.ok(msg.payload.length > 0, 'phonesim lists one rule per class');
    for (const rule of msg.payload) {
      assert.equal(rule.reason, 'unconditional');
      assert.equal(rule.active, false);
    }
    assert.ok(r.sim.commands().includes('AT+CCFC=0,2'));
    assert.deepEqual(errorsOf('F'), []);
  });

  it('dial right after a local hang-up gets its own outcome; an incoming call right after is incoming', async function () {
    const r = await rig();
    dial('6789');
    const first = (await r.dialled.next('first answered')).call;
    getNode('H').receive({ call: first });
    await r.hungUp.next('hung up');
    dial('155'); // at once
    const busy = await r.notDialled.next('155 busy', (m) => m.call.remote.number === '155');
    assert.notEqual(busy.call.id, first.id);
    assert.equal(busy.payload.cause, 'busy', 'the new call gets its own BUSY');
    const firstEnd = await r.event('ended', first.id);
    assert.equal(firstEnd.payload.cause, 'normal');
    assert.equal(firstEnd.payload.by, 'local');

    await dialFails(r, '199'); // and phonesim calls back 5 s later
    const incoming = await r.event('incoming');
    assert.equal(incoming.call.remote.number, CALLER);
    assert.equal(r.ev.messages.filter((m) => m.topic === 'waiting').length, 0, 'no phantom call makes it a waiting call');
    getNode('A').receive({ call: incoming.call });
    await r.answered.next('answered');
    getNode('H').receive({ call: incoming.call });
    await r.event('ended', incoming.call.id);
    await waitFor('no call left', () => getNode('L').line!.activeCalls().length === 0);
  });
});
