/**
 * Whisper and mute-all in a room of SIP calls on 127.0.0.1 (docs/conference.md): line A dials line B
 * three times; B's calls join one room as a customer (500 Hz), an agent (tag `agent`, 900 Hz) and a
 * coach (whisper to `agent`, 1300 Hz); each far end on A plays its tone and what it hears is
 * checked by frequency. Run with the media in the main thread and in the default media workers
 * (there the agent's leg is on the other worker: its whisper arrives through the relay).
 */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import type { LineConfig } from '../../lib/line/voice-line';
import { RemoteRtpSession } from '../../lib/media-engine/remote-rtp-session';
import { assertHears, listen, Party, roomFixture, TONES } from '../helpers/conference-room';
import { rtpOf } from '../helpers/sip-audio-pair';

const [CUSTOMER, AGENT, COACH] = TONES;

for (const mode of [{ mediaWorkers: 0 }, {}] as Array<Partial<LineConfig>>) {
  const where = mode.mediaWorkers === 0 ? 'mediaWorkers 0 (main thread)' : 'default media workers (auto)';
  describe(`conference whisper and mute-all on SIP lines, ${where} (integration)`, function () {
    this.timeout(90_000);
    const f = roomFixture(mode);

    it('a coach whispering to "agent": the agent hears customer and coach, the customer only the agent, the coach both', async function () {
      const { p, parties } = f;
      const [customer, agent, coach] = parties;
      if (mode.mediaWorkers !== 0 && availableParallelism() > 1) {
        const thread = (x: Party): number => (rtpOf(p.b, x.b) as RemoteRtpSession).threadId;
        assert.notEqual(thread(agent), thread(customer), 'the agent is relayed from the other worker');
      }
      await p.b.conference.join(customer.b.id, 'r');
      await p.b.conference.join(agent.b.id, 'r', { tags: ['agent'] });
      const joined = await p.b.conference.join(coach.b.id, 'r', { whisperTo: 'agent' });
      assert.deepEqual(joined.room.parties.map((q) => [q.tags ?? null, q.whisperTo ?? null]), [[null, null], [['agent'], null], [null, 'agent']]);
      await new Promise((r) => setTimeout(r, 300));
      const [c, a, w] = await listen(parties);
      assertHears(c, 'the customer', [AGENT], [CUSTOMER, COACH]);
      assertHears(a, 'the agent', [CUSTOMER, COACH], [AGENT]);
      assertHears(w, 'the coach', [CUSTOMER, AGENT], [COACH]);
      // Barge-in: the coach leaves and joins again without whisper: now everyone hears it.
      await p.b.conference.leave(coach.b.id);
      await p.b.conference.join(coach.b.id, 'r');
      await new Promise((r) => setTimeout(r, 300));
      const [c2] = await listen(parties);
      assertHears(c2, 'the customer after the barge-in', [AGENT, COACH], [CUSTOMER]);
    });

    it('mute-all: only the moderator is heard (also by a party that joins after); unmute-all: everyone again; no room event for either', async function () {
      const { p, parties, events } = f;
      const [moderator, two, three] = parties;
      await p.b.conference.join(moderator.b.id, 'r', { moderator: true });
      await p.b.conference.join(two.b.id, 'r');
      const room = await p.b.conference.setAllMuted('r', true);
      assert.deepEqual([room.allMuted, ...room.parties.map((q) => q.muted)], [true, false, true]);
      await p.b.conference.join(three.b.id, 'r');
      await new Promise((r) => setTimeout(r, 300));
      const [m, t2, t3] = await listen(parties);
      assertHears(m, 'the moderator', [], TONES);
      assertHears(t2, 'party 900', [CUSTOMER], [AGENT, COACH]);
      assertHears(t3, 'party 1300, joined after mute-all', [CUSTOMER], [AGENT, COACH]);
      const after = await p.b.conference.setAllMuted('r', false);
      assert.deepEqual([after.allMuted, ...after.parties.map((q) => q.muted)], [false, false, false, false]);
      await new Promise((r) => setTimeout(r, 300));
      const heard = await listen(parties);
      heard.forEach((h, i) => assertHears(h, `party ${TONES[i]} after unmute-all`, TONES.filter((_, j) => j !== i), [TONES[i]]));
      assert.deepEqual(events.map((e) => e.topic).filter((t) => t !== 'talking' && t !== 'silent'), ['join', 'room-start', 'join', 'join']);
      await assert.rejects(p.b.conference.setAllMuted('nowhere', true), /there is no conference room "nowhere"/);
    });
  });
}
