/**
 * Conference rooms on an AT line: the network's multiparty call (3GPP TS 22.084, 27.007 §7.13
 * AT+CHLD=3 / 2x / 1x, +CLCC <mpty>), against the built-in emulator. First the emulated module's
 * commands on their own (what oFono's phonesim does, test/integration/at-conference-phonesim.test.ts),
 * then the line's `conference` over it: the commands sent, the events, the refusals.
 */
import { strict as assert } from 'node:assert';
import type { Call } from '../../lib/call/call';
import type { RoomEvent } from '../../lib/conference/rooms';
import { CommandFailedError, NotSupportedError } from '../../lib/errors';
import { Harness, startLine } from '../helpers/at-harness';
import { closeAfterEach } from '../helpers/close-after-each';

async function waitUntil(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('AT conference: the emulated module\'s multiparty call (AT+CHLD=3, 2x, 1x; +CLCC <mpty>)', function () {
  this.timeout(15000);
  const track = closeAfterEach();

  /** The module's answer to one command (its lines, final last). */
  async function at(h: Harness, cmd: string): Promise<string[]> {
    const res = await h.backend['requireChannel']().send(cmd, { expect: ['+CLCC:', '+CHLD:'] }).catch((err: { final?: string }) => ({ lines: [], final: err.final }));
    return [...res.lines, (res as { final?: string }).final ?? 'OK'];
  }
  const states = (h: Harness): string => h.modem().calls.map((c) => `${c.idx}:${c.state}${c.multiparty ? '+mpty' : ''}`).join(' ');

  it('CHLD=3 joins the held and the active call, +CLCC says <mpty> 1; a third joins the held pair; CHLD=2x splits one out; the limit is 5 parties', async () => {
    const h = track(await startLine('generic'));
    const m = h.modem();
    assert.deepEqual(await at(h, 'AT+CHLD=?'), ['+CHLD: (0,1,1x,2,2x,3)', 'OK']);
    assert.deepEqual(await at(h, 'AT+CHLD=3'), ['+CME ERROR: 3'], 'no calls');
    await h.line.dialAndWait('5550001');
    assert.deepEqual(await at(h, 'AT+CHLD=3'), ['+CME ERROR: 3'], 'one call: nothing to join');
    await h.line.dialAndWait('5550002'); // the module holds call 1 first
    assert.equal(states(h), '1:held 2:active');
    assert.deepEqual(await at(h, 'AT+CHLD=3'), ['OK']);
    assert.equal(states(h), '1:active+mpty 2:active+mpty');
    assert.deepEqual(await at(h, 'AT+CLCC'), ['+CLCC: 1,0,0,0,1,"5550001",129', '+CLCC: 2,0,0,0,1,"5550002",129', 'OK']);
    await h.line.dialAndWait('5550003'); // holds the multiparty call
    assert.equal(states(h), '1:held+mpty 2:held+mpty 3:active');
    assert.deepEqual(await at(h, 'AT+CHLD=3'), ['OK']);
    assert.equal(states(h), '1:active+mpty 2:active+mpty 3:active+mpty');
    assert.deepEqual(await at(h, 'AT+CHLD=22'), ['OK'], 'split call 2 out');
    assert.equal(states(h), '1:held+mpty 2:active 3:held+mpty');
    assert.deepEqual(await at(h, 'AT+CHLD=3'), ['OK'], 'and back in');
    await h.line.dialAndWait('5550004');
    assert.deepEqual(await at(h, 'AT+CHLD=3'), ['OK']);
    await h.line.dialAndWait('5550005');
    assert.deepEqual(await at(h, 'AT+CHLD=3'), ['OK']);
    assert.equal(m.calls.filter((c) => c.multiparty).length, 5);
    await h.line.dialAndWait('5550006');
    assert.deepEqual(await at(h, 'AT+CHLD=3'), ['+CME ERROR: 3'], 'a sixth remote party is over 22.084\'s limit');
    assert.deepEqual(await at(h, 'AT+CHLD=16'), ['OK']);
    await waitUntil(() => m.calls.length === 5, 'call 6 released');
    // Releasing parties: the last one left is an ordinary call again.
    m.remoteHangup(1);
    m.remoteHangup(2);
    m.remoteHangup(3);
    m.remoteHangup(4);
    await waitUntil(() => states(h) === '5:held', `the last party alone (${states(h)})`);
  });

  it('the multiparty flag is in Quectel\'s ccinfo too', async () => {
    const h = track(await startLine('ec200u'));
    await h.line.dialAndWait('5550001');
    await h.line.dialAndWait('5550002');
    const urcs: string[] = [];
    h.backend['requireChannel']().on('urc', (line: string) => urcs.push(line));
    assert.deepEqual(await at(h, 'AT+CHLD=3'), ['OK']);
    await waitUntil(() => urcs.some((l) => l.startsWith('+QIND: "ccinfo",1,')), 'the ccinfo of call 1');
    assert.ok(urcs.includes('+QIND: "ccinfo",1,0,0,0,1,"5550001",129'), urcs.join(' | '));
  });
});

describe('AT conference: voice-conference\'s actions on the network\'s multiparty call (emulator)', function () {
  this.timeout(20000);
  const track = closeAfterEach();

  interface Rig {
    h: Harness;
    events: RoomEvent[];
    /** The AT+CHLD commands the line sent since the last call. */
    chld(): string[];
  }

  async function rig(profile = 'generic'): Promise<Rig> {
    const h = track(await startLine(profile));
    const events: RoomEvent[] = [];
    h.line.conference.onEvent((ev) => events.push(ev));
    let mark = h.modem().commands.length;
    return {
      h,
      events,
      chld: () => {
        const sent = h.modem().commands.slice(mark).filter((c) => /^AT\+CHLD/i.test(c));
        mark = h.modem().commands.length;
        return sent;
      },
    };
  }
  const dial = async (h: Harness, number: string): Promise<Call> => (await h.line.dialAndWait(number)).call;
  const topics = (events: RoomEvent[]): string[] => events.map((e) => `${e.topic}${e.party ? ` ${e.party.number}` : ''}${e.reason ? ` ${e.reason}` : ''}`);

  for (const profile of ['generic', 'ec200u', 'ec600n', 'ec25']) {
    it(`${profile}: join ×3 (the first waits, AT+CHLD=3 for the others), room-start, get-room; leave splits (AT+CHLD=2x), kick releases (AT+CHLD=1x)`, async () => {
      const r = await rig(profile);
      const { h } = r;
      const a = await dial(h, '5550001');
      let room = (await h.line.conference.join(a.id, 'sales')).room;
      assert.equal(room.state, 'waiting');
      assert.deepEqual(r.chld(), [], 'one call is not a multiparty call: nothing sent');
      const b = await dial(h, '5550002');
      room = (await h.line.conference.join(b.id, 'sales', { moderator: true })).room;
      assert.deepEqual(r.chld(), ['AT+CHLD=3']);
      assert.equal(room.state, 'started');
      assert.deepEqual(room.parties.map((p) => [p.number, p.moderator]), [['5550001', false], ['5550002', true]]);
      assert.equal(a.state, 'active');
      assert.equal(b.state, 'active');
      const c = await dial(h, '5550003'); // the room goes on hold
      await waitUntil(() => a.state === 'held' && b.state === 'held', 'the room held by the new call');
      room = (await h.line.conference.join(c.id, 'sales')).room;
      assert.deepEqual(r.chld(), ['AT+CHLD=3']);
      assert.equal(room.parties.length, 3);
      assert.deepEqual(topics(r.events), ['join 5550001', 'join 5550002', 'room-start', 'join 5550003']);
      assert.deepEqual(r.events[3].parties.map((p) => p.number), ['5550001', '5550002', '5550003'], 'a join lists the room after it');
      assert.deepEqual(h.line.conference.getRoom('sales')?.parties.map((p) => p.call), [a.id, b.id, c.id]);
      assert.equal(h.modem().calls.filter((x) => x.multiparty).length, 3);

      r.events.length = 0;
      room = (await h.line.conference.leave(b.id)).room;
      assert.deepEqual(r.chld(), [`AT+CHLD=2${b.index}`]);
      assert.deepEqual(room.parties.map((p) => p.number), ['5550001', '5550003']);
      assert.equal(b.state, 'active', 'the call taken out talks with us alone');
      assert.ok(!b.ended);
      await waitUntil(() => a.state === 'held' && c.state === 'held', 'the rest of the room on hold');
      assert.deepEqual(topics(r.events), ['leave 5550002 left']);

      // Back in (the room is held, b active), then kicked: released, the room goes on.
      await h.line.conference.join(b.id, 'sales');
      assert.deepEqual(r.chld(), ['AT+CHLD=3']);
      r.events.length = 0;
      const ended = h.next('ended', (e) => e.call?.id === c.id);
      room = (await h.line.conference.kick(c.id)).room;
      assert.deepEqual(r.chld(), [`AT+CHLD=1${c.index}`]);
      const e = await ended;
      assert.equal(e.payload.cause, 'normal');
      assert.equal(e.payload.by, 'local');
      assert.deepEqual(room.parties.map((p) => p.number), ['5550001', '5550002']);
      assert.deepEqual(topics(r.events), ['leave 5550003 kicked']);
      assert.equal(h.modem().calls.filter((x) => x.multiparty).length, 2);
    });
  }

  it('a party\'s far end hangs up: leave call-ended; the last party gone ends the room (last-left)', async () => {
    const r = await rig();
    const { h } = r;
    const a = await dial(h, '5550001');
    const b = await dial(h, '5550002');
    await h.line.conference.join(b.id, 'r');
    await h.line.conference.join(a.id, 'r'); // the held call joins the active one
    assert.deepEqual(r.chld(), ['AT+CHLD=3']);
    r.events.length = 0;
    h.modem().remoteHangup(a.index);
    await waitUntil(() => r.events.length === 1, 'the leave');
    assert.deepEqual(topics(r.events), ['leave 5550001 call-ended']);
    assert.deepEqual(h.line.conference.getRoom('r')?.parties.map((p) => p.call), [b.id], 'a room of one: the call alone');
    h.modem().remoteHangup(b.index);
    await waitUntil(() => r.events.length === 3, 'the room-end');
    assert.deepEqual(topics(r.events), ['leave 5550001 call-ended', 'leave 5550002 call-ended', 'room-end last-left']);
    assert.equal(h.line.conference.getRoom('r'), null);
  });

  it('hanging up one party of the held room (voice-hangup) releases that call only: AT+CHLD=1x, not AT+CHLD=0 (every held call)', async () => {
    const r = await rig();
    const { h } = r;
    const a = await dial(h, '5550001');
    const b = await dial(h, '5550002');
    await h.line.conference.join(a.id, 'r');
    await h.line.conference.join(b.id, 'r');
    const c = await dial(h, '5550003'); // holds the room
    await waitUntil(() => a.state === 'held' && b.state === 'held', 'the room held');
    r.chld();
    r.events.length = 0;
    await h.line.hangup(a.id);
    await waitUntil(() => a.ended, 'call a ended');
    assert.deepEqual(r.chld(), [`AT+CHLD=1${a.index}`]);
    assert.ok(!b.ended && !c.ended, 'the other party and the active call stay up');
    await waitUntil(() => r.events.length === 1, 'the leave');
    assert.deepEqual(topics(r.events), ['leave 5550001 call-ended']);
  });

  it('end releases every party (AT+CHLD=1x each): leave room-ended each, then room-end ended', async () => {
    const r = await rig();
    const { h } = r;
    const a = await dial(h, '5550001');
    const b = await dial(h, '5550002');
    await h.line.conference.join(a.id, 'r');
    await h.line.conference.join(b.id, 'r');
    r.chld();
    r.events.length = 0;
    const before = await h.line.conference.end('r');
    assert.deepEqual(before.parties, []);
    assert.deepEqual(r.chld(), [`AT+CHLD=1${a.index}`, `AT+CHLD=1${b.index}`]);
    assert.ok(a.ended && b.ended);
    assert.deepEqual(topics(r.events), ['leave 5550001 room-ended', 'leave 5550002 room-ended', 'room-end ended']);
    assert.deepEqual(h.modem().calls, []);
    await assert.rejects(h.line.conference.end('r'), /there is no conference room "r"/);
  });

  it('refusals: a second room, media and whisper options, room options (maxParties, record), mute / deaf / bridge / mute-all / unmute-all, each a NotSupportedError "… is not on this line (AT: the network\'s three-party call)"; nothing sent', async () => {
    const r = await rig();
    const { h } = r;
    const a = await dial(h, '5550001');
    const b = await dial(h, '5550002');
    await h.line.conference.join(a.id, 'one');
    r.chld();
    const refused = (re: RegExp) => (err: unknown) => {
      assert.ok(err instanceof NotSupportedError, String(err));
      assert.match(err.message, re);
      assert.match(err.message, /is not on this line \(AT: the network's three-party call\)/);
      return true;
    };
    await assert.rejects(h.line.conference.join(b.id, 'two'), refused(/^a second room \("two"\) .* its one room is "one"/));
    for (const [option, value] of [
      ['beepOnEntry', true],
      ['leaveDigit', '#'],
      ['muteDigit', '*'],
      ['unmuteDigit', '9'],
      ['muted', true],
      ['deaf', true],
      ['startsRoom', false],
      ['endsRoom', true],
      ['talkThresholdDbfs', -30],
      ['tags', ['agent']],
      ['whisperTo', 'agent'],
      ['prefixMedia', 'beep'],
      ['entryMedia', 'beep:300'],
      ['exitMedia', 'dtmf:1'],
      ['waitMedia', 'ringback'],
    ] as const) {
      await assert.rejects(h.line.conference.join(b.id, 'one', { [option]: value }), refused(new RegExp(`^the party option ${option} `)));
    }
    for (const [option, value] of [
      ['maxParties', 3],
      ['record', '/tmp/room.wav'],
    ] as const) {
      await assert.rejects(h.line.conference.join(b.id, 'one', {}, { roomOptions: { [option]: value } }), refused(new RegExp(`^the room option ${option} `)));
    }
    await assert.rejects(h.line.conference.setMuted(a.id, true), refused(/^mute /));
    await assert.rejects(h.line.conference.setDeaf(a.id, true), refused(/^deaf /));
    await assert.rejects(h.line.conference.bridge(a.id, b.id), refused(/^bridge /));
    await assert.rejects(h.line.conference.setAllMuted('one', true), refused(/^mute-all /));
    await assert.rejects(h.line.conference.setAllMuted('one', false), refused(/^unmute-all /));
    assert.deepEqual(r.chld(), [], 'no AT+CHLD for a refusal');
    assert.deepEqual(h.line.conference.getRoom('one')?.parties.map((p) => p.call), [a.id]);
    assert.equal(h.line.conference.getRoom('two'), null);
    // The defaults (what the node sends with its boxes unticked) are taken.
    const room = (await h.line.conference.join(b.id, 'one', { muted: false, deaf: false, startsRoom: true, endsRoom: false, beepOnEntry: false, talkThresholdDbfs: -40 })).room;
    assert.equal(room.parties.length, 2);
  });

  it('the module refuses AT+CHLD=3 (a sixth party, over 22.084\'s five): CommandFailedError with its answer; the call stays out, the room as it was', async () => {
    const r = await rig();
    const { h } = r;
    const first = await dial(h, '5550001');
    await h.line.conference.join(first.id, 'big');
    for (let i = 2; i <= 5; i++) {
      const c = await dial(h, `555000${i}`); // holds the room
      await h.line.conference.join(c.id, 'big');
    }
    assert.equal(h.line.conference.getRoom('big')?.parties.length, 5);
    const sixth = await dial(h, '5550006');
    r.chld();
    r.events.length = 0;
    await assert.rejects(h.line.conference.join(sixth.id, 'big'), (err: unknown) => {
      assert.ok(err instanceof CommandFailedError, String(err));
      assert.match(err.message, /^the modem could not join call .* to room big: \+CME ERROR: 3$/);
      return true;
    });
    assert.deepEqual(r.chld(), ['AT+CHLD=3']);
    assert.deepEqual(r.events, []);
    assert.equal(h.line.conference.getRoom('big')?.parties.length, 5);
    assert.equal(sixth.state, 'active');
});
});
