/**
 * voice-forward on SIP lines: two VoiceLines in trunk mode on 127.0.0.1, each the other's "server"
 * (as in sip-loopback.test.ts). Line A (1001) is also the "PBX" of line B (2002): every request B
 * sends goes to A, so when B follows a REFER to 3003, the new call arrives at A as an incoming call to
 * 3003 (trunk mode keeps the number dialled in the `incoming` evidence). What is asserted is what each
 * side saw: events in order, causes, who ended, SIP codes, and the errors of failed transfers.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { CallState } from '../../lib/call/call-state';
import { CommandFailedError, InvalidInputError } from '../../lib/errors';
import { LineConfig, VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import { memoryLog } from '../helpers/at-harness';
import { EventLog, transferSteps } from '../helpers/event-log';
import { pickPorts, waitFor } from '../helpers/sip-peers';
import { sipLine } from '../helpers/sip-line';

const WAIT_MS = 20_000;

/** The `transfer` events' statuses (and sipfrag codes) of one call, in order. */
describe('SIP forwarding: redirect (302) and transfer (REFER) between two lines on 127.0.0.1 (integration)', function () {
  this.timeout(60_000);
  const log = memoryLog();
  let a: VoiceLine;
  let b: VoiceLine;
  let evA: EventLog;
  let evB: EventLog;

  /** A (1001, server B) and B (2002, server A, with `bExtra`), both ready. */
  async function start(bExtra: Partial<LineConfig> = {}): Promise<void> {
    const base = await pickPorts(2);
    const rtp = 30000 + 32 * randomInt(0, 300);
    a = sipLine('line-a', '1001', base, base + 1, rtp, log);
    b = sipLine('line-b', '2002', base + 1, base, rtp + 16, log, bExtra);
    evA = new EventLog(a, WAIT_MS);
    evB = new EventLog(b, WAIT_MS);
    await Promise.all([a.start(), b.start()]);
    await waitFor('both lines ready', () => a.backend?.ready === true && b.backend?.ready === true, WAIT_MS);
  }

  /** A calls B, B answers: both calls connected. */
  async function connect(): Promise<{ callA: string; callB: string }> {
    const call = await a.dial('2002');
    const incoming = await evB.next('incoming');
    await b.answer(incoming.call?.id);
    await Promise.all([evA.next('answered'), evB.next('answered')]);
    return { callA: call.id, callB: incoming.call?.id as string };
  }

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      // eslint-disable-next-line no-console
      console.log([...log.lines.slice(-80), `A: ${evA?.topics().join(', ')}`, `B: ${evB?.topics().join(', ')}`].join('\n'));
    }
    log.lines.length = 0;
    await Promise.all([a?.stop(), b?.stop()]);
  });

  describe('redirect', () => {
    beforeEach(() => start());

    it('B diverts a ringing call to a number: 302 with Contact sip:3003@<B\'s server>; both end redirected (B local, A remote), sipCode 302', async () => {
      const call = await a.dial('2002');
      const incoming = await evB.next('incoming');
      const done = await b.forwarding.divert(incoming.call?.id, '3003');
      assert.equal(done.to, '3003');
      const [endA, endB] = await Promise.all([evA.next('ended'), evB.next('ended')]);
      assert.deepEqual([endB.payload.cause, endB.payload.by, endB.payload.sipCode], ['redirected', 'local', 302]);
      assert.deepEqual([endA.call?.id, endA.payload.cause, endA.payload.by, endA.payload.sipCode], [call.id, 'redirected', 'remote', 302]);
      // B's "server" is A: a number is made an address with it, as B's own dial does.
      assert.match(String(endA.payload.text), /sip:3003@127\.0\.0\.1/);
    });

    it('B diverts to a SIP address: the Contact A receives is that address', async () => {
      await a.dial('2002');
      const incoming = await evB.next('incoming');
      await b.forwarding.divert(incoming.call?.id, 'sip:alice@127.0.0.1:5999;transport=udp');
      const endA = await evA.next('ended');
      assert.equal(endA.payload.sipCode, 302);
      assert.match(String(endA.payload.text), /sip:alice@127\.0\.0\.1:5999;transport=udp/);
    });

    it('B diverts to a tel: URI and to a bare user, as a dial would make them (lib/sip/sip-target.ts): the Contacts A receives', async () => {
      await a.dial('2002');
      let incoming = await evB.next('incoming');
      await b.forwarding.divert(incoming.call?.id, 'tel:+49-30-1234');
      assert.match(String((await evA.next('ended')).payload.text), /\(to <sip:\+49301234@127\.0\.0\.1:\d+;user=phone>\)/);
      await a.dial('2002');
      incoming = await evB.next('incoming');
      await b.forwarding.divert(incoming.call?.id, 'bob');
      assert.match(String((await evA.next('ended')).payload.text), /\(to <sip:bob@127\.0\.0\.1:\d+>\)/);
    });

    it('a bad target is refused before anything is sent (CR/LF, <, ?headers); the call keeps ringing', async () => {
      await a.dial('2002');
      const incoming = await evB.next('incoming');
      for (const bad of ['sip:bob@127.0.0.1\r\nX-Evil: 1', 'sip:bob@127.0.0.1>;x', 'sip:bob@127.0.0.1?Replaces=abc', '12;34', 'sip:@host']) {
        await assert.rejects(b.forwarding.divert(incoming.call?.id, bad), InvalidInputError, bad);
      }
      assert.equal(b.activeCalls()[0]?.state, CallState.Incoming);
      await b.hangup(incoming.call?.id, 'busy');
      assert.equal((await evA.next('ended')).payload.sipCode, 486);
    });

    it('a connected call cannot be diverted (CallStateError names the state)', async () => {
      const { callB } = await connect();
      await assert.rejects(b.forwarding.divert(callB, '3003'), /only a ringing|no call to divert|is active/);
    });
  });

  describe('blind transfer, B follows REFERs', () => {
    beforeEach(() => start({ incomingRefer: 'follow' }));

    it('A transfers B to 3003: B calls 3003 (at A), A answers it; A sees accepted, 100, 180, 200 then ended transferred; B\'s old call ends transferred by remote', async () => {
      const { callA, callB } = await connect();
      const transfer = a.forwarding.transfer(callA, '3003');
      // B's new call arrives at A (A is B's server), to 3003, from 2002: waiting, A has a call.
      const newCall = await evA.next('waiting');
      assert.match(String(newCall.payload.evidence ?? ''), /3003/);
      assert.equal(newCall.call?.remote.number, '2002');
      await waitFor('B hears ringing', () => transferSteps(evB, callB).includes('progress 180'), WAIT_MS);
      await a.answer(newCall.call?.id);
      const done = await transfer;
      assert.equal(done.to, '3003');
      const endA = await evA.next('ended', (e) => e.call?.id === callA);
      assert.deepEqual([endA.payload.cause, endA.payload.by], ['transferred', 'local']);
      const endB = await evB.next('ended', (e) => e.call?.id === callB);
      assert.deepEqual([endB.payload.cause, endB.payload.by], ['transferred', 'remote']);
      assert.deepEqual(transferSteps(evA, callA), ['started', 'accepted 202', 'progress 100', 'progress 180', 'succeeded 200 normal']);
      assert.deepEqual(transferSteps(evB, callB), ['accepted 202', 'progress 180', 'succeeded 200 normal']);
      const reportA = evA.events.find((e) => e.topic === 'transfer' && e.payload.status === 'succeeded');
      assert.deepEqual([reportA?.payload.method, reportA?.payload.role, reportA?.payload.to, reportA?.payload.evidence], ['blind', 'transferor', '3003', 'SIP/2.0 200 OK']);
      // The transferred call goes on between B and A's new call.
      assert.deepEqual(a.activeCalls().map((c) => [c.id, c.state]), [[newCall.call?.id, CallState.Active]]);
      assert.equal(b.activeCalls().length, 1);
      assert.equal(b.activeCalls()[0].state, CallState.Active);
    });

    it('the target is busy: B NOTIFYs 486, A\'s transfer fails with a CommandFailedError naming it, and both calls stay connected', async () => {
      const { callA, callB } = await connect();
      const transfer = a.forwarding.transfer(callA, '3003');
      const newCall = await evA.next('waiting');
      await a.hangup(newCall.call?.id, 'busy');
      await assert.rejects(transfer, (err: Error) => err instanceof CommandFailedError && /486/.test(err.message) && /still connected/.test(err.message));
      // A: the sipfrag B NOTIFYed; B: its own call to the target ended busy. Both: target-busy.
      assert.deepEqual(transferSteps(evA, callA).slice(-1), ['failed 486 target-busy']);
      assert.deepEqual(transferSteps(evB, callB).slice(-1), ['failed 486 target-busy']);
      assert.equal(a.activeCalls().find((c) => c.id === callA)?.state, CallState.Active);
      assert.equal(b.activeCalls().find((c) => c.id === callB)?.state, CallState.Active);
      await a.hangup(callA);
      assert.equal((await evB.next('ended', (e) => e.call?.id === callB)).payload.cause, 'normal');
    });
  });

  describe('blind transfer, B refuses REFERs (the default)', () => {
    beforeEach(() => start());

    it('B answers the REFER 603: A\'s transfer fails (CommandFailedError naming 603), both calls stay connected; B reports the refusal', async () => {
      const { callA, callB } = await connect();
      await assert.rejects(a.forwarding.transfer(callA, '3003'), (err: Error) => err instanceof CommandFailedError && /603/.test(err.message));
      assert.deepEqual(transferSteps(evA, callA), ['started', 'failed 603 failed']);
      await waitFor('B reports the refusal', () => transferSteps(evB, callB).length > 0, WAIT_MS);
      assert.deepEqual(transferSteps(evB, callB), ['refused 603 failed']);
      assert.equal(a.activeCalls()[0]?.state, CallState.Active);
      assert.equal(b.activeCalls()[0]?.state, CallState.Active);
      // Still a working call: B hangs up, A sees it.
      await b.hangup(callB);
      assert.deepEqual((await evA.next('ended')).payload.by, 'remote');
    });

    it('attended transfer between two of A\'s calls sends REFER with Replaces; B refuses it: both calls stay', async () => {
      const first = await connect();
      const second = await a.dial('2002');
      const waiting = await evB.next('waiting');
      await b.answer(waiting.call?.id);
      await evA.next('answered', (e: VoiceEvent) => e.call?.id === second.id);
      await assert.rejects(a.forwarding.transferToCall(first.callA, second.id), /603/);
      const refused = evB.events.find((e) => e.topic === 'transfer');
      assert.equal(refused?.payload.method, 'attended', 'B saw a Refer-To with Replaces');
      assert.deepEqual(transferSteps(evA, first.callA), ['started', 'failed 603 failed']);
      assert.equal(evA.events.find((e) => e.topic === 'transfer')?.payload.target, second.id);
      assert.equal(a.activeCalls().length, 2);
    });

    it('network forwarding rules stay "not supported on a SIP line"', async () => {
      await assert.rejects(a.forwarding.setRule('busy', 'query'), /not supported on a SIP line/);
    });
  });
});
