import assert from 'node:assert/strict';
import voiceConference = require('../../nodes/voice-conference');
import { Phonesim, phonesimSuite } from '../helpers/phonesim';
import { FlowNode, Inbox, Msg, NODES, errorsOf, getNode, helper, lineNode, nextError, sink, voiceNode } from '../nodes/flow-helpers';

/**
 * voice-conference on an AT line against oFono's phonesim (a modem we did not write; how it is run
 * and skipped: test/integration/phonesim.test.ts, docs/at-interop.md): the network's multiparty call.
 * phonesim (src/callmanager.cpp) joins with `AT+CHLD=3` (every held call becomes active), splits with
 * `AT+CHLD=2<x>` (the other active calls go on hold), releases one call with `AT+CHLD=1<x>`, and lists
 * `<mpty>` 1 in `+CLCC` for a call whose state (active / held) another call shares. Its numbers used
 * here: `199` says `NO CARRIER` and calls back 5 s later (from 1234567); `6789` is answered after 1 s; `05123xx` is answered after 1 s, and xx s later phonesim says
 * `NO CARRIER` and releases every active call (its `hangup()`: all the parties of an active multiparty
 * call at once).
 */
function flow(device: string): FlowNode[] {
  return [
    lineNode('L', { serialPort: device }),
    voiceNode('E', 'voice-events', 'L', [['EV']]),
    voiceNode('D', 'voice-dial', 'L', [['DOK'], ['DNO']], { number: '', ringTimeout: 30 }),
    voiceNode('A', 'voice-answer', 'L', [['ANS']]),
    voiceNode('H', 'voice-hangup', 'L', [['HUP']], { mode: 'hangup', cause: 'normal' }),
    voiceNode('C', 'voice-conference', 'L', [['OUT'], ['ROOM']], { action: 'join', room: 'r' }),
    ...['EV', 'DOK', 'DNO', 'ANS', 'HUP', 'OUT', 'ROOM'].map(sink),
  ];
}

describe('voice-conference on an AT line against oFono phonesim: the network\'s multiparty call', function () {
  this.timeout(60000);
  const phonesim = phonesimSuite(() => helper.unload());

  interface Rig {
    sim: Phonesim;
    ev: Inbox;
    out: Inbox;
    room: Inbox;
    dialled: Inbox;
    /** Dials `number` and waits until it is answered: its call. */
    dial(number: string): Promise<Msg>;
    /** Sends the conference node a message and waits for its output 1. */
    act(msg: Msg): Promise<Msg>;
    /** The AT+CHLD commands sent since the last call. */
    chld(): string[];
    /** Room events so far, as `topic [number] [reason]`. */
    topics(): string[];
  }

  async function rig(): Promise<Rig> {
    const s = await phonesim.start();
    await helper.load([...NODES, voiceConference], flow(s.device));
    const ev = new Inbox('EV');
    const out = new Inbox('OUT');
    const dialled = new Inbox('DOK');
    await ev.next('line-up', (m) => m.topic === 'line-up', 15000);
    let mark = s.commands().length;
    let acted = 0;
    const r: Rig = {
      sim: s,
      ev,
      out,
      room: new Inbox('ROOM'),
      dialled,
      dial: async (number) => {
        const before = dialled.messages.length;
        getNode('D').receive({ payload: number });
        return dialled.next(`${number} answered`, (m) => dialled.messages.indexOf(m) >= before);
      },
      act: async (msg) => {
        const n = ++acted;
        getNode('C').receive({ ...msg, _n: n });
        return out.next(`${msg.action} done`, (m) => m._n === n, 20000);
      },
      chld: () => {
        const sent = s.commands().slice(mark).filter((c) => c.startsWith('AT+CHLD'));
        mark = s.commands().length;
        return sent;
      },
      topics: () => r.room.messages.map((m) => [m.topic, m.payload.party?.number, m.payload.reason].filter((x) => x !== undefined).join(' ')),
    };
    return r;
  }

  /** phonesim's last +CLCC answer: `idx:stat:mpty` per call. */
  function lastClcc(s: Phonesim): string[] {
    const text = s.wire().filter((c) => c.dir === '<').map((c) => c.text).join('');
    const lists = text.split(/\r\nOK\r\n/).filter((block) => block.includes('+CLCC:'));
    const last = lists[lists.length - 1] ?? '';
    return [...last.matchAll(/\+CLCC: (\d+),\d,(\d),\d,(\d)/g)].map((m) => `${m[1]}:${m[2]}:${m[3]}`);
  }

  it('three calls joined (AT+CHLD=3 twice: <mpty> 1 each), one split out (AT+CHLD=2x), one kicked (AT+CHLD=1x), the room ended (AT+CHLD=1x)', async function () {
    const r = await rig();
    const a = (await r.dial('6789')).call;
    let msg = await r.act({ action: 'join', call: a });
    assert.equal(msg.payload.state, 'waiting');
    assert.deepEqual(r.chld(), []);

    const b = (await r.dial('6789')).call; // phonesim holds call a first
    msg = await r.act({ action: 'join', call: b });
    assert.deepEqual(r.chld(), ['AT+CHLD=3']);
    assert.equal(msg.payload.state, 'started');
    assert.deepEqual(msg.payload.parties.map((p: Msg) => p.call), [a.id, b.id]);
    assert.deepEqual(lastClcc(r.sim), [`${a.index}:0:1`, `${b.index}:0:1`], 'phonesim lists both active, multiparty');

    const c = (await r.dial('6789')).call; // the multiparty call goes on hold
    msg = await r.act({ action: 'join', call: c });
    assert.deepEqual(r.chld(), ['AT+CHLD=3']);
    assert.deepEqual(msg.payload.parties.map((p: Msg) => p.call), [a.id, b.id, c.id]);
    assert.deepEqual(lastClcc(r.sim), [`${a.index}:0:1`, `${b.index}:0:1`, `${c.index}:0:1`]);
    assert.deepEqual(r.topics(), ['join 6789', 'join 6789', 'room-start', 'join 6789']);

    msg = await r.act({ action: 'get-room' });
    assert.equal(msg.payload.parties.length, 3);

    msg = await r.act({ action: 'leave', call: b });
    assert.deepEqual(r.chld(), [`AT+CHLD=2${b.index}`]);
    assert.deepEqual(msg.payload.parties.map((p: Msg) => p.call), [a.id, c.id]);
    assert.equal(msg.call.state, 'active', 'the call split out stays up, active');
    assert.deepEqual(lastClcc(r.sim), [`${a.index}:1:1`, `${b.index}:0:0`, `${c.index}:1:1`], 'the rest of the room held');

    const cEnded = r.ev.next('c ended', (m) => m.topic === 'ended' && m.call.id === c.id, 15000);
    msg = await r.act({ action: 'kick', call: c });
    assert.deepEqual(r.chld(), [`AT+CHLD=1${c.index}`]);
    assert.deepEqual(msg.payload.parties.map((p: Msg) => p.call), [a.id]);
    const ended = await cEnded;
    assert.equal(ended.payload.cause, 'normal');
    assert.equal(ended.payload.by, 'local');

    msg = await r.act({ action: 'end' });
    assert.deepEqual(r.chld(), [`AT+CHLD=1${a.index}`]);
    assert.deepEqual(msg.payload.parties, []);
    assert.deepEqual(r.topics().slice(4), ['leave 6789 left', 'leave 6789 kicked', 'leave 6789 room-ended', 'room-end ended']);
    assert.deepEqual(lastClcc(r.sim).length <= 1, true);
    assert.deepEqual(errorsOf('C'), []);
    getNode('H').receive({ call: b });
    await r.ev.next('b ended', (m) => m.topic === 'ended' && m.call.id === b.id, 15000);
  });

  it('a waiting call answered (AT+CHLD=2: the room\'s call held) joins the room: AT+CHLD=3, both active with <mpty> 1', async function () {
    const r = await rig();
    getNode('D').receive({ payload: '199' }); // NO CARRIER, then phonesim calls back in 5 s: into the next call
    await new Inbox('DNO').next('199 not answered');
    const a = (await r.dial('6789')).call;
    await r.act({ action: 'join', call: a });
    const waiting = await r.ev.next('waiting', (m) => m.topic === 'waiting', 15000);
    getNode('A').receive({ call: waiting.call });
    await new Inbox('ANS').next('answered');
    await r.ev.next('a held', (m) => m.topic === 'held' && m.call.id === a.id);
    r.chld();
    const msg = await r.act({ action: 'join', call: waiting.call });
    assert.deepEqual(r.chld(), ['AT+CHLD=3']);
    assert.equal(msg.payload.state, 'started');
    assert.deepEqual(msg.payload.parties.map((p: Msg) => p.number), ['6789', '1234567']);
    assert.deepEqual(lastClcc(r.sim), [`${a.index}:0:1`, `${msg.call.index}:0:1`]);
    assert.deepEqual(r.topics(), ['join 6789', 'join 1234567', 'room-start']);
    await r.act({ action: 'end' });
    assert.deepEqual(r.topics().slice(3), ['leave 6789 room-ended', 'leave 1234567 room-ended', 'room-end ended']);
  });

  it('the far end hangs up (05123xx; phonesim then releases every active call, so both parties): leave call-ended each, room-end last-left; mute and a beep are refused', async function () {
    const r = await rig();
    const a = (await r.dial('6789')).call;
    const b = (await r.dial('0512308')).call; // hangs up 8 s after answering
    await r.act({ action: 'join', call: b });
    await r.act({ action: 'join', call: a });
    assert.deepEqual(r.chld(), ['AT+CHLD=3']);

    getNode('C').receive({ action: 'mute', call: a });
    const muted = await nextError('C');
    assert.match(muted.message, /^mute is not on this line \(AT: the network's three-party call\)/);
    getNode('C').receive({ action: 'join', call: a, room: 'r', party: { beepOnEntry: true } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(errorsOf('C').some((e) => /^the party option beepOnEntry is not on this line/.test(e.message)), errorsOf('C').map((e) => e.message).join(' | '));
    assert.deepEqual(r.chld(), [], 'refusals send nothing');

    await r.room.next('room-end', (m) => m.topic === 'room-end', 20000);
    const t = r.topics();
    assert.deepEqual(t.slice(0, 3), ['join 0512308', 'join 6789', 'room-start']);
    assert.deepEqual(t.slice(3, 5).sort(), ['leave 0512308 call-ended', 'leave 6789 call-ended']);
    assert.deepEqual(t.slice(5), ['room-end last-left']);
    const room = await r.act({ action: 'get-room' });
    assert.equal(room.payload, null);
  });
});
