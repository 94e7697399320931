/**
 * Party media and room options on SIP lines (docs/conference.md "Party media", "Room options"):
 * line A dials line B; B's calls join rooms; each far end on A plays its own tone and what it hears
 * is checked by frequency (Goertzel). Entry media (a prefix tone, then a WAV file) and exit media are
 * heard by the others and not by the party; a party's waitMedia (a short WAV) is heard looped while
 * the room waits, the others hear ring-back; the room's recording holds every party's tone; a full
 * room refuses a join. With the media in the main thread (mediaWorkers 0) and in media workers (the
 * room mixed on one worker, a party relayed from the other), and a recorded room that moves.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RoomEvent } from '../../lib/conference/rooms';
import type { LineConfig } from '../../lib/line/voice-line';
import { mediaEngine } from '../../lib/media-engine/media-engine';
import type { RemoteRtpSession } from '../../lib/media-engine/remote-rtp-session';
import { beep } from '../../lib/media/tone-generator';
import { decodeWav } from '../../lib/media/wav-reader';
import { WavWriter } from '../../lib/media/wav-writer';
import { amplitude, callParties, HEARD, NOT_HEARD, Party, startLines, TONES } from '../helpers/conference-room';
import { hear, rtpOf, SipAudioPair } from '../helpers/sip-audio-pair';
import { waitFor } from '../helpers/sip-peers';

/** The entry file's tone, the exit file's, the waiting file's; the prefix is `beep` (1 kHz). */
const ENTRY_HZ = 1700;
const EXIT_HZ = 2100;
const WAIT_HZ = 700;
/** The loudest 100 ms window's amplitude of `hz`, and where it is (ms). */
function peak(samples: Int16Array, hz: number): { level: number; atMs: number } {
  let best = { level: 0, atMs: -1 };
  for (let at = 0; at + 800 <= samples.length; at += 400) {
    const level = amplitude(samples.subarray(at, at + 800), hz);
    if (level > best.level) best = { level, atMs: at / 8 };
  }
  return best;
}



async function toneFile(path: string, hz: number, ms: number): Promise<string> {
  const w = await WavWriter.open(path);
  w.write(beep(ms, hz, -16));
  await w.close();
  return path;
}


/** The recording's tones: each party's amplitude over the whole file. */
async function recorded(path: string, hz: number[]): Promise<{ pcm: Int16Array; levels: Record<number, number> }> {
  const pcm = decodeWav(await fsp.readFile(path));
  return { pcm, levels: Object.fromEntries(hz.map((f) => [f, Math.round(amplitude(pcm, f))])) };
}

let dir: string;
before(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'conference-media-'));
  await toneFile(join(dir, 'entry.wav'), ENTRY_HZ, 400);
  await toneFile(join(dir, 'exit.wav'), EXIT_HZ, 400);
  await toneFile(join(dir, 'wait.wav'), WAIT_HZ, 300);
});
after(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

for (const mode of [{ mediaWorkers: 0 }, {}] as Array<Partial<LineConfig>>) {
  const where = mode.mediaWorkers === 0 ? 'mediaWorkers 0 (main thread)' : 'default media workers (auto)';
  describe(`conference party media and room options on SIP lines, ${where} (integration)`, function () {
    this.timeout(90_000);
    let p: SipAudioPair;
    let events: RoomEvent[];
    let stopEvents: () => void;
    const files = () => ({ folder: dir, confine: true });

    beforeEach(async function () {
      p = await startLines({ mediaWorkers: 0 }, mode);
      events = [];
      stopEvents = p.b.conference.onEvent((e) => events.push(e));
    });

    afterEach(async function () {
      stopEvents?.();
      if (this.currentTest?.state === 'failed') console.log(p.log.lines.slice(-40).join('\n'));
      await p?.stop();
    });

    it('entry: the others hear the prefix (beep) then the entry file, the party does not; exit: those left hear the prefix then the exit file', async function () {
      const [one, two, three] = await callParties(p);
      await p.b.conference.join(one.b.id, 'r');
      await p.b.conference.join(two.b.id, 'r');
      await new Promise((r) => setTimeout(r, 200));
      const listening = Promise.all([one, two, three].map((x) => hear(x.far, 1500)));
      await new Promise((r) => setTimeout(r, 100));
      await p.b.conference.join(three.b.id, 'r', { prefixMedia: 'beep:200', entryMedia: 'entry.wav', exitMedia: 'exit.wav' }, { files });
      const [h1, h2, h3] = await listening;
      for (const [who, h] of [['500', h1], ['900', h2]] as const) {
        const pre = peak(h, 1000);
        const entry = peak(h, ENTRY_HZ);
        assert.ok(pre.level > 300 && entry.level > 300, `${who} hears the prefix and the entry file: ${JSON.stringify({ pre, entry })}`);
        assert.ok(pre.atMs < entry.atMs, `${who}: the prefix first: ${JSON.stringify({ pre, entry })}`);
        assert.ok(amplitude(h, 1300) > HEARD / 2, `${who} hears the new party`);
      }
      assert.ok(peak(h3, 1000).level < NOT_HEARD && peak(h3, ENTRY_HZ).level < NOT_HEARD, `the party does not hear its own entry: ${JSON.stringify([peak(h3, 1000), peak(h3, ENTRY_HZ)])}`);
      assert.ok(amplitude(h3, 500) > HEARD && amplitude(h3, 900) > HEARD, 'it hears the room');
      const after = Promise.all([one, two, three].map((x) => hear(x.far, 1500)));
      await new Promise((r) => setTimeout(r, 100));
      await p.b.conference.leave(three.b.id);
      const [a1, a2, a3] = await after;
      for (const [who, h] of [['500', a1], ['900', a2]] as const) {
        const pre = peak(h, 1000);
        const exit = peak(h, EXIT_HZ);
        assert.ok(pre.level > 300 && exit.level > 300 && pre.atMs < exit.atMs, `${who} hears the prefix then the exit file: ${JSON.stringify({ pre, exit })}`);
      }
      assert.ok(peak(a3, EXIT_HZ).level < NOT_HEARD, 'the party that left does not hear its exit');
    });

    it('waitMedia: a waiting party hears its file looped (not ring-back), another hears ring-back; neither hears the other until the room starts', async function () {
      const [one, two, three] = await callParties(p);
      await p.b.conference.join(one.b.id, 'r', { startsRoom: false, waitMedia: 'wait.wav' }, { files });
      await p.b.conference.join(two.b.id, 'r', { startsRoom: false });
      await new Promise((r) => setTimeout(r, 200));
      const [w1, w2] = await Promise.all([hear(one.far, 1500), hear(two.far, 5200)]);
      // 300 ms of file looped: heard in every quarter of what arrived in 1.5 s (a loaded machine may lose some).
      const quarter = Math.floor(w1.length / 4);
      assert.ok(quarter >= 2000, `audio heard while waiting: ${w1.length} samples`);
      for (let q = 0; q < 4; q++) {
        const part = w1.subarray(q * quarter, (q + 1) * quarter);
        assert.ok(amplitude(part, WAIT_HZ) > HEARD, `the file is heard looped, quarter ${q}: ${amplitude(part, WAIT_HZ)}`);
      }
      assert.ok(amplitude(w1, 425) < NOT_HEARD, `no ring-back for the party with waitMedia: ${amplitude(w1, 425)}`);
      assert.ok(peak(w2, 425).level > 300, `the other hears ring-back: ${JSON.stringify(peak(w2, 425))}`);
      assert.ok(amplitude(w2, WAIT_HZ) < NOT_HEARD, 'and not the file');
      for (const hz of TONES) assert.ok(amplitude(w1, hz) < NOT_HEARD && amplitude(w2, hz) < NOT_HEARD, `no party heard while waiting (${hz})`);
      await p.b.conference.join(three.b.id, 'r');
      await new Promise((r) => setTimeout(r, 300));
      const h1 = await hear(one.far, 1000);
      assert.ok(amplitude(h1, 900) > HEARD && amplitude(h1, 1300) > HEARD && amplitude(h1, WAIT_HZ) < NOT_HEARD, 'started: the others, no more waiting file');
    });

    it('record: the room\'s mix from the first join to the end holds every party\'s tone; room-end gives the file and its length', async function () {
      const [one, two, three] = await callParties(p);
      const path = join(dir, `room-${mode.mediaWorkers ?? 'auto'}.wav`);
      const t0 = Date.now();
      await p.b.conference.join(one.b.id, 'rec', {}, { roomOptions: { record: path }, files });
      await p.b.conference.join(two.b.id, 'rec', {}, { roomOptions: { record: join(dir, 'ignored.wav') }, files });
      await p.b.conference.join(three.b.id, 'rec', { entryMedia: 'entry.wav' }, { files });
      await new Promise((r) => setTimeout(r, 1500));
      await p.b.conference.end('rec');
      const elapsed = Date.now() - t0;
      const end = events.find((e) => e.topic === 'room-end');
      assert.equal(end?.recording?.path, await fsp.realpath(path));
      const { pcm, levels } = await recorded(path, [...TONES, ENTRY_HZ]);
      for (const hz of [...TONES, ENTRY_HZ]) assert.ok(levels[hz] > HEARD / 4, `the recording holds ${hz} Hz: ${JSON.stringify(levels)}`);
      const fileMs = Math.round(pcm.length / 8);
      assert.equal(end?.recording?.durationMs, fileMs, 'room-end says the file\'s length');
      assert.ok(fileMs > elapsed - 400 && fileMs <= elapsed + 100, `from the first join to the end: ${fileMs} ms of ${elapsed} ms`);
      await assert.rejects(fsp.stat(join(dir, 'ignored.wav')), /ENOENT/, 'a later join\'s room options are ignored');
    });

    it('maxParties: a join into a full room fails naming the room and its limit; the call stays in its own room', async function () {
      const [one, two, three] = await callParties(p);
      await p.b.conference.join(one.b.id, 'small', {}, { roomOptions: { maxParties: 2 } });
      await p.b.conference.join(two.b.id, 'small');
      await p.b.conference.join(three.b.id, 'other');
      await assert.rejects(p.b.conference.join(three.b.id, 'small'), /room small is full: it takes at most 2 parties/);
      assert.equal(p.b.conference.getRoom('other')?.parties[0]?.call, three.b.id, 'not moved');
      assert.equal(p.b.conference.getRoom('small')?.parties.length, 2);
      await assert.rejects(p.b.conference.join(one.b.id, 'x', {}, { roomOptions: { maxParties: 0 } }), /maxParties must be a whole number from 1 to 1000/);
      await assert.rejects(p.b.conference.join(one.b.id, 'x', { waitMedia: 'nope' }), /waitMedia: "nope" is neither a tone/);
      assert.equal(p.b.conference.getRoom('small')?.parties.length, 2, 'a refused join changes nothing');
    });
  });
}

describe('a recorded room that moves to another worker goes on in the same file (integration)', function () {
  this.timeout(90_000);
  const HZ = [500, 900, 1300, 1700];
  let p: SipAudioPair;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(p.log.lines.slice(-40).join('\n'));
    await p?.stop();
  });

  for (const how of ['the host worker\'s parties leave', 'the host worker dies']) {
  it(`${how}: the recording holds all four tones before the move and the two left after it`, async function () {
    if (availableParallelism() < 2) this.skip(); // one worker: nothing moves
    p = await startLines({ mediaWorkers: 0 }, { mediaWorkers: 2 });
    const xs = await callParties(p, HZ);
    const path = join(dir, `moved-${how.endsWith('dies') ? 'died' : 'left'}.wav`);
    const events: RoomEvent[] = [];
    const stop = p.b.conference.onEvent((e) => events.push(e));
    for (const x of xs) await p.b.conference.join(x.b.id, 'r', {}, { roomOptions: { record: path } });
    const threadOf = (x: Party): number => (rtpOf(p.b, x.b) as RemoteRtpSession).threadId;
    assert.equal(threadOf(xs[0]), threadOf(xs[2]), 'parties 1 and 3 on the host worker');
    await new Promise((r) => setTimeout(r, 1000));
    if (how.endsWith('dies')) {
      const host = mediaEngine.workers.find((w) => w.threadId === threadOf(xs[0]));
      assert.ok(host);
      await host.thread.terminate();
      await waitFor('the host worker\'s parties left', () => p.b.conference.getRoom('r')?.parties.length === 2, 10_000);
    } else {
      await p.b.conference.leave(xs[0].b.id);
      await p.b.conference.leave(xs[2].b.id);
    }
    await new Promise((r) => setTimeout(r, 1500));
    await p.b.conference.end('r');
    stop();
    const end = events.find((e) => e.topic === 'room-end');
    const pcm = decodeWav(await fsp.readFile(path));
    assert.equal(end?.recording?.durationMs, Math.round(pcm.length / 8));
    const beforeMove = pcm.subarray(2400, 2400 + 4000); // 0.3–0.8 s: all four
    const afterMove = pcm.subarray(pcm.length - 8000, pcm.length - 800); // the last second: two left
    for (const hz of HZ) assert.ok(amplitude(beforeMove, hz) > HEARD / 4, `before the move: ${hz} Hz ${amplitude(beforeMove, hz)}`);
    for (const hz of [900, 1700]) assert.ok(amplitude(afterMove, hz) > HEARD / 4, `after the move: ${hz} Hz ${amplitude(afterMove, hz)}`);
    for (const hz of [500, 1300]) assert.ok(amplitude(afterMove, hz) < NOT_HEARD, `after the move, not the parties that left: ${hz} Hz ${amplitude(afterMove, hz)}`);
  });
  }
});
