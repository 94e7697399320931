/**
 * One call-waiting contract for both backends (docs/control.md, "Call waiting"): while call A is
 * active and call B is waiting,
 * 1. answering B puts A on hold first (its `held` comes before B's `answered`), then B is active;
 *    the far end of A sees the hold (AT: the module lists A held; SIP: baresip's audio of A goes
 *    `recvonly`, our re-INVITE `a=sendonly`);
 * 2. `swap` then changes over (A active, B held);
 * 3. end-and-answer: the flow hangs A up first, then answers B: B is active, A was never held.
 * Run against the AT emulator (ec25 profile) and a SIP line registered at Kamailio, called by two
 * baresips through it (both calls come from the registrar, as on a PBX).
 */
import assert from 'node:assert/strict';
import type { Call } from '../../lib/call/call';
import type { VoiceLine } from '../../lib/line/voice-line';
import { startLine as startAtLine } from '../helpers/at-harness';
import { closeAfterEach } from '../helpers/close-after-each';
import { interopHarness } from '../helpers/interop-harness';
import { Baresip, Kamailio, requirePeer, waitFor } from '../helpers/sip-peers';

interface Waiting {
  line: VoiceLine;
  a: Call;
  b: Call;
  /** Topics of a call's events, in order, so far. */
  topics(call: Call): string[];
  /** Waits for a call's event. */
  next(topic: string, call: Call): Promise<void>;
  /** The far end of `call` sees it on hold (true) or connected (false), by its own account. */
  farEndHeld(call: Call): Promise<boolean>;
}

/** The contract: the same assertions for both backends. */
function contract(setup: () => Promise<Waiting>): void {
  it('answering the waiting call holds the active one first (the far end sees it), then the waiting call is active; swap changes over', async function () {
    const w = await setup();
    await w.line.answer(w.b.id);
    await w.next('answered', w.b);
    await w.next('held', w.a);
    assert.equal(w.a.state, 'held');
    assert.equal(w.b.state, 'active');
    assert.equal(await w.farEndHeld(w.a), true, 'the far end of the first call sees it held');
    const swapped = await w.line.control.swap();
    assert.deepEqual([swapped.active.id, swapped.held.id], [w.a.id, w.b.id]);
    assert.deepEqual([w.a.state, w.b.state], ['active', 'held']);
    assert.equal(await w.farEndHeld(w.a), false, 'after the swap the first call is connected again');
    assert.deepEqual(w.topics(w.b).slice(0, 2), ['waiting', 'answered']);
    assert.deepEqual(w.topics(w.a).slice(-2), ['held', 'resumed']);
  });

  it('end-and-answer: the flow ends the active call first, then answers the waiting one: nothing is held', async function () {
    const w = await setup();
    await w.line.hangup(w.a.id);
    await w.line.answer(w.b.id);
    await w.next('answered', w.b);
    await w.next('ended', w.a);
    assert.equal(w.b.state, 'active');
    assert.equal(w.topics(w.a).includes('held'), false, `the first call was not held: ${w.topics(w.a).join(' ')}`);
    assert.equal(await w.farEndHeld(w.b), false);
  });
}

describe('call waiting: one contract on both backends (integration)', function () {
  this.timeout(90_000);

  describe('AT line (emulator, ec25)', function () {
    const track = closeAfterEach();
    contract(async () => {
      const h = track(await startAtLine('ec25'));
      const dialled = await h.line.dialAndWait('5551234');
      assert.equal(dialled.answered, true);
      h.modem().incomingCall('+4930123456');
      const waiting = await h.next('waiting');
      const b = h.line.activeCalls().find((c) => c.id === waiting.call?.id);
      assert.ok(b);
      return {
        line: h.line,
        a: dialled.call,
        b,
        topics: (call) => h.events.filter((e) => e.call?.id === call.id).map((e) => e.topic),
        next: async (topic, call) => void (await h.next(topic, (e) => e.call?.id === call.id)),
        farEndHeld: async (call) => h.modem().calls.find((c) => c.idx === call.index)?.state === 'held',
      };
    });
  });

  describe('SIP line (registered at Kamailio, two baresips calling)', function () {
    const { startLine, startBaresip } = interopHarness('call-waiting');
    let kamailio: Kamailio;

    before(async function () {
      requirePeer(this, 'kamailio', 'kamcmd', 'baresip');
      kamailio = await Kamailio.start({ users: { alice: 'alice-pw' } });
    });

    after(async () => {
      await kamailio?.stop();
    });

    /** baresip's own view of its call's audio: `recvonly` while we hold it (our a=sendonly). */
    async function audioDirection(b: Baresip): Promise<string> {
      const reply = await b.command('audio_debug');
      const m = /audio dir=(\w+)/.exec(reply.data);
      assert.ok(m, `baresip's audio_debug names the direction: ${reply.data}`);
      return m[1];
    }

    contract(async () => {
      const { line, events } = await startLine({ server: kamailio.address, username: 'alice', register: true }, { password: 'alice-pw' });
      await events.next('registered');
      await waitFor('alice registered at Kamailio', async () => (await kamailio.contacts('alice')).length === 1, 20_000);
      const peers = new Map<string, Baresip>();
      const call = async (name: string, topic: string): Promise<Call> => {
        const peer = await startBaresip({ account: `<sip:${name}@${kamailio.address}>;regint=0` });
        assert.equal((await peer.command('dial', `sip:alice@${kamailio.address}`)).ok, true);
        const e = await events.next(topic);
        const c = line.activeCalls().find((x) => x.id === e.call?.id);
        assert.ok(c, `the ${topic} call from ${name}`);
        assert.equal(c.remote.number, name);
        peers.set(c.id, peer);
        return c;
      };
      const a = await call('carol', 'incoming');
      await line.answer(a.id);
      await events.next('answered');
      await peers.get(a.id)?.nextEvent('CALL_ESTABLISHED');
      const b = await call('dave', 'waiting');
      return {
        line,
        a,
        b,
        topics: (c) => events.events.filter((e) => e.call?.id === c.id).map((e) => e.topic),
        next: async (topic, c) => void (await events.next(topic, (e) => e.call?.id === c.id)),
        farEndHeld: async (c) => {
          const peer = peers.get(c.id);
          assert.ok(peer);
          // The direction changes once baresip has taken our re-INVITE: wait for it to settle.
          let dir = await audioDirection(peer);
          const want = c.state === 'held' ? 'recvonly' : 'sendrecv';
          for (let i = 0; i < 20 && dir !== want; i++) {
            await new Promise((r) => setTimeout(r, 100));
            dir = await audioDirection(peer);
          }
          return dir === 'recvonly' || dir === 'inactive';
        },
      };
    });
  });
});
