/**
 * Conference rooms on SIP lines (docs/conference.md): line A dials line B three times on 127.0.0.1;
 * B puts its three calls into one room. On A, each call plays its own tone and hears what the room
 * sends it; checked by frequency (Goertzel, lib/media/goertzel.ts): each party hears the other two
 * and not itself. Run with the media in the main thread (mediaWorkers 0) and in the default media
 * workers (B's three legs spread over the workers: the room is mixed on one, relayed from the other).
 */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import type { LineConfig } from '../../lib/line/voice-line';
import { mediaEngine } from '../../lib/media-engine/media-engine';
import { RemoteRtpSession } from '../../lib/media-engine/remote-rtp-session';
import { amplitude, assertHears, callParties, listen, NOT_HEARD, Party, roomFixture, startLines, TONES } from '../helpers/conference-room';
import { hear, rtpOf, SipAudioPair } from '../helpers/sip-audio-pair';
import { waitFor } from '../helpers/sip-peers';

// With workers, A's media stays in the main thread so that B's three legs are placed alone on the
// pool (fewest legs first: 1 and 3 on one worker, 2 on the other): the room is mixed on one worker
// and party 2 is relayed from the other.
for (const mode of [{ mediaWorkers: 0 }, {}] as Array<Partial<LineConfig>>) {
  const where = mode.mediaWorkers === 0 ? 'mediaWorkers 0 (main thread)' : 'default media workers (auto)';
  describe(`conference rooms on SIP lines, ${where} (integration)`, function () {
    this.timeout(90_000);
    const f = roomFixture(mode);

    it('three parties: each hears the other two and not itself; events join ×3, room-start, with the parties', async function () {
      const { p, parties, events } = f;
      if (mode.mediaWorkers !== 0 && availableParallelism() > 1) {
        const threads = new Set(parties.map((x) => (rtpOf(p.b, x.b) as RemoteRtpSession).threadId));
        assert.ok(threads.size > 1, 'B\'s legs are on more than one worker: the room relays between workers');
      }
      for (const x of parties) await p.b.conference.join(x.b.id, 'r');
      assert.deepEqual(events.map((e) => e.topic), ['join', 'room-start', 'join', 'join']);
      assert.deepEqual(events[3].parties.map((q) => q.call), parties.map((x) => x.b.id));
      await new Promise((r) => setTimeout(r, 300));
      const heard = await listen(parties);
      heard.forEach((h, i) => assertHears(h, `party ${TONES[i]}`, TONES.filter((_, j) => j !== i), [TONES[i]]));
      // Talk detection: every party sends a −20 dBFS tone (above the −40 default).
      await waitFor('every party talking', () => (p.b.conference.getRoom('r')?.parties ?? []).every((q) => q.talking), 5000);
      assert.equal(events.filter((e) => e.topic === 'talking').length, 3);
    });

    it('mute: the others no longer hear the muted party, it still hears them; deaf: the party hears nothing, the others still hear it', async function () {
      const { p, parties, events } = f;
      for (const x of parties) await p.b.conference.join(x.b.id, 'r');
      const [one, two] = parties;
      await p.b.conference.setMuted(one.b.id, true);
      await p.b.conference.setDeaf(two.b.id, true);
      await new Promise((r) => setTimeout(r, 300));
      const heard = await listen(parties);
      assertHears(heard[0], 'muted 500', [900, 1300], [500]);
      assertHears(heard[1], 'deaf 900', [], TONES);
      assertHears(heard[2], '1300', [900], [500, 1300]);
      assert.deepEqual(p.b.conference.getRoom('r')?.parties.map((q) => [q.muted, q.deaf]), [[true, false], [false, true], [false, false]]);
      await p.b.conference.setMuted(one.b.id, false);
      await p.b.conference.setDeaf(two.b.id, false);
      await new Promise((r) => setTimeout(r, 300));
      const after = await listen(parties);
      after.forEach((h, i) => assertHears(h, `party ${TONES[i]} again`, TONES.filter((_, j) => j !== i), [TONES[i]]));
    });

    it('leave: the party that left hears nothing and is no longer heard; endsRoom ends the room for everyone', async function () {
      const { p, parties, events } = f;
      const [one, two, three] = parties;
      await p.b.conference.join(one.b.id, 'r', { endsRoom: true });
      await p.b.conference.join(two.b.id, 'r');
      await p.b.conference.join(three.b.id, 'r');
      await p.b.conference.leave(three.b.id);
      await new Promise((r) => setTimeout(r, 300));
      const heard = await listen(parties);
      assertHears(heard[0], '500', [900], [500, 1300]);
      assertHears(heard[1], '900', [500], [900, 1300]);
      assertHears(heard[2], 'the one that left', [], TONES);
      await p.b.conference.leave(one.b.id);
      assert.deepEqual(
        events.map((e) => `${e.topic}${e.reason ? ' ' + e.reason : ''}`).filter((t) => !t.startsWith('talking') && !t.startsWith('silent')),
        ['join', 'room-start', 'join', 'join', 'leave left', 'leave left', 'leave room-ended', 'room-end ends-room'],
      );
      assert.equal(p.b.conference.getRoom('r'), null);
      await new Promise((r) => setTimeout(r, 200));
      const after = await listen(parties, 600);
      after.forEach((h, i) => assertHears(h, `party ${TONES[i]} after the end`, [], TONES));
    });

    it('startsRoom false: the parties hear ring-back (425 Hz) and not each other until a starter joins; a call that hangs up leaves', async function () {
      const { p, parties, events } = f;
      const [one, two, three] = parties;
      await p.b.conference.join(one.b.id, 'r', { startsRoom: false });
      await p.b.conference.join(two.b.id, 'r', { startsRoom: false });
      assert.equal(p.b.conference.getRoom('r')?.state, 'waiting');
      // Ring-back is 1 s on, 4 s off (ETSI): listen through a whole period.
      const waiting = await Promise.all([one, two].map((x) => hear(x.far, 5200)));
      for (const [i, s] of waiting.entries()) {
        // The loudest 250 ms of the period, not its average: a second of tone in 5.2 s averages to a
        // fifth of its level, which a few late frames on a loaded machine pushed under the limit.
        const peak = Math.max(...Array.from({ length: Math.floor(s.length / 2000) }, (_, k) => amplitude(s.subarray(k * 2000, (k + 1) * 2000), 425)));
        assert.ok(peak > 300, `party ${i} hears ring-back: ${peak} at its loudest 250 ms`);
        for (const hz of TONES) assert.ok(amplitude(s, hz) < NOT_HEARD, `party ${i} hears no party while waiting (${hz} Hz: ${amplitude(s, hz)})`);
      }
      await p.b.conference.join(three.b.id, 'r');
      assert.equal(p.b.conference.getRoom('r')?.state, 'started');
      await new Promise((r) => setTimeout(r, 300));
      const heard = await listen(parties);
      heard.forEach((h, i) => assertHears(h, `party ${TONES[i]}`, TONES.filter((_, j) => j !== i), [TONES[i]]));
      await p.b.hangup(two.b.id);
      await waitFor('the party whose call ended left', () => p.b.conference.getRoom('r')?.parties.length === 2, 5000);
      assert.equal(events.find((e) => e.topic === 'leave')?.reason, 'call-ended');
    });

    it('beepOnEntry: the others hear a 1 kHz beep as the party enters; leaveDigit: the far end presses # and the party leaves (digit)', async function () {
      const { p, parties, events } = f;
      const [one, two, three] = parties;
      await p.b.conference.join(one.b.id, 'r');
      await p.b.conference.join(two.b.id, 'r');
      const listening = hear(one.far, 800);
      await new Promise((r) => setTimeout(r, 100));
      await p.b.conference.join(three.b.id, 'r', { beepOnEntry: true, leaveDigit: '#' });
      const withBeep = await listening;
      assert.ok(amplitude(withBeep, 1000) > 300, `the beep is heard: ${amplitude(withBeep, 1000)}`);
      const after = await hear(one.far, 800);
      assert.ok(amplitude(after, 1000) < NOT_HEARD, `once: ${amplitude(after, 1000)}`);
      await three.far.sendDtmf('#', 100);
      await waitFor('the party left on its digit', () => events.some((e) => e.topic === 'leave' && e.reason === 'digit'), 5000);
      assert.deepEqual(p.b.conference.getRoom('r')?.parties.map((q) => q.call), [one.b.id, two.b.id]);
      assert.equal(three.b.ended, false, 'the call stays up');
    });

    it('bridge: two calls hear each other (and not the third); one hangs up: the bridge ends, the other call stays up', async function () {
      const { p, parties, events } = f;
      const [one, two, three] = parties;
      const r = await p.b.conference.bridge(one.b.id, two.b.snapshot());
      assert.equal(r.room.name, `bridge:${one.b.id}`);
      await new Promise((res) => setTimeout(res, 300));
      const heard = await listen(parties);
      assertHears(heard[0], 'bridged 500', [900], [500, 1300]);
      assertHears(heard[1], 'bridged 900', [500], [900, 1300]);
      assertHears(heard[2], 'not bridged', [], TONES);
      await assert.rejects(p.b.conference.bridge(three.b.id, three.b.id), /cannot be bridged to itself/);
      await assert.rejects(p.b.conference.bridge(three.b.id, undefined), /needs two calls/);
      await p.b.hangup(two.b.id);
      await waitFor('the bridge ended', () => events.some((e) => e.topic === 'room-end'), 5000);
      assert.deepEqual(events.filter((e) => e.topic === 'leave').map((e) => e.reason), ['call-ended', 'room-ended']);
      assert.equal(one.b.ended, false);
    });

    it('refuses clearly: unknown party options, a call in no room, a room that does not exist', async function () {
      const { p, parties, events } = f;
      await assert.rejects(p.b.conference.join(parties[0].b.id, 'r', { loud: true }), /unknown party option "loud"/);
      await assert.rejects(p.b.conference.leave(parties[0].b.id), /not in a conference room/);
      await assert.rejects(p.b.conference.end('nowhere'), /there is no conference room "nowhere"/);
      await assert.rejects(p.b.conference.join(parties[0].b.id, ''), /room must be a name/);
      assert.equal(p.b.conference.getRoom('nowhere'), null);
    });
  });
}

describe('conference rooms on SIP lines: PCMA calls (integration)', function () {
  this.timeout(60_000);
  let p: SipAudioPair;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(p.log.lines.slice(-40).join('\n'));
    await p?.stop();
  });

  // A trunk-mode line takes calls from its one peer, and a line's calls share its codec choice: a
  // room of PCMU and PCMA parties at once is not built here (each leg decodes and encodes its own
  // codec, so the mixer sees linear PCM either way); this checks a room of A-law calls.
  it('three PCMA calls in a room (media workers): each hears the other two, not itself', async function () {
    p = await startLines({ mediaWorkers: 0, codecs: 'PCMA' }, {});
    const parties = await callParties(p, TONES, 30_000);
    assert.deepEqual(parties.map((x) => rtpOf(p.b, x.b).media.codec), ['PCMA', 'PCMA', 'PCMA']);
    for (const x of parties) await p.b.conference.join(x.b.id, 'alaw');
    await new Promise((r) => setTimeout(r, 300));
    const heard = await listen(parties);
    heard.forEach((h, i) => assertHears(h, `party ${TONES[i]}`, TONES.filter((_, j) => j !== i), [TONES[i]]));
  });
});

describe('conference rooms in media workers: the room moves when its worker has no party left or dies (integration)', function () {
  this.timeout(90_000);
  const HZ = [500, 900, 1300, 1700];
  let p: SipAudioPair;
  let parties: Party[];

  beforeEach(async function () {
    if (availableParallelism() < 2) this.skip(); // one worker: every leg on it, nothing to move
    p = await startLines({ mediaWorkers: 0 }, { mediaWorkers: 2 });
    parties = await callParties(p, HZ);
    for (const x of parties) await p.b.conference.join(x.b.id, 'r');
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(p.log.lines.slice(-40).join('\n'));
    await p?.stop();
  });

  const threadOf = (x: Party): number => (rtpOf(p.b, x.b) as RemoteRtpSession).threadId;

  /** Parties 2 and 4 (on the other worker) hear each other and nothing of 1 and 3. */
  async function twoAndFourHearEachOther(): Promise<void> {
    await new Promise((r) => setTimeout(r, 400));
    const [h2, h4] = await Promise.all([hear(parties[1].far, 1000), hear(parties[3].far, 1000)]);
    const level = (s: Int16Array): Record<number, number> => Object.fromEntries(HZ.map((hz) => [hz, Math.round(amplitude(s, hz))]));
    assertHears(level(h2), 'party 900', [1700], [500, 900, 1300]);
    assertHears(level(h4), 'party 1700', [900], [500, 1300, 1700]);
  }

  it('the host worker\'s own parties leave: the room moves to the other worker, the two left hear each other', async function () {
    assert.equal(threadOf(parties[0]), threadOf(parties[2]), 'parties 1 and 3 on the host worker');
    assert.notEqual(threadOf(parties[0]), threadOf(parties[1]));
    await p.b.conference.leave(parties[0].b.id);
    await p.b.conference.leave(parties[2].b.id);
    await twoAndFourHearEachOther();
  });

  it('the host worker dies: its calls end media-failed and leave; the room moves, the two left hear each other', async function () {
    const host = mediaEngine.workers.find((w) => w.threadId === threadOf(parties[0]));
    assert.ok(host);
    await host.thread.terminate();
    await waitFor('the host worker\'s parties left', () => p.b.conference.getRoom('r')?.parties.length === 2, 10_000);
    await twoAndFourHearEachOther();
  });
});
