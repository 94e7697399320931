/**
 * A conference room of real SIP phones (issue 15; docs/conference.md "Tests"): three baresips dial
 * our line through Kamailio (registrar and proxy; our line registers there as `alice`), each playing
 * its own tone file as its microphone and recording what it receives (its sndfile module). Our line
 * answers the three calls and puts them into one room. Each baresip's recording is checked by
 * frequency (Goertzel, in 250 ms blocks): it hears the other two tones together for at least a
 * second, and never its own. One of the three offers only PCMA and the others PCMU first: a room
 * mixing both codecs at once, end to end. Run with the media in the main thread and in the default
 * media workers.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Call } from '../../lib/call/call';
import type { LineConfig } from '../../lib/line/voice-line';
import { powerAt, toneWav } from '../helpers/audio-spectrum';
import { interopHarness } from '../helpers/interop-harness';
import { baresipDecoded, Kamailio, requirePeer, waitFor } from '../helpers/sip-peers';
import { rtpOf } from '../helpers/sip-audio-pair';

const WAIT_MS = 20_000;
/** 250 ms blocks at 8 kHz. */
const BLOCK = 2000;
/** A −10 dBFS tone (toneWav) has an amplitude of about 10 000; through G.711 and the mixer a little less. */
const HEARD = 3000;
/**
 * Own tone absent: G.711's companding makes intermodulation of the other two (2 × 900 − 1300 = 500 Hz,
 * 2 × 900 − 500 = 1300 Hz) of about 70, far under the 10 000 the tone would have if a party heard itself.
 */
const NOT_HEARD = 150;

const amplitude = (samples: Int16Array, hz: number, rate: number): number => (2 * Math.sqrt(powerAt(samples, hz, rate))) / Math.max(1, samples.length);

interface Phone {
  user: string;
  hz: number;
  /** The account's codec list (baresip's `audio_codecs`). */
  codecs: string;
  recordDir: string;
}

/** Per 250 ms block of `samples`, the amplitude of each tone. */
function blocks(samples: Int16Array, rate: number, tones: number[]): Array<Record<number, number>> {
  const size = (BLOCK * rate) / 8000;
  const out: Array<Record<number, number>> = [];
  for (let at = 0; at + size <= samples.length; at += size) {
    const b = samples.subarray(at, at + size);
    out.push(Object.fromEntries(tones.map((hz) => [hz, Math.round(amplitude(b, hz, rate))])));
  }
  return out;
}

for (const mode of [{ mediaWorkers: 0 }, {}] as Array<Partial<LineConfig>>) {
  const where = mode.mediaWorkers === 0 ? 'mediaWorkers 0 (main thread)' : 'default media workers';
  describe(`a conference room of baresip phones through Kamailio, ${where} (integration)`, function () {
    this.timeout(120_000);
    const h = interopHarness('conference-interop');
    let dir: string;

    before(function () {
      requirePeer(this, 'kamailio', 'kamcmd', 'baresip');
    });

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'conference-interop-'));
    });

    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('three baresips (PCMU, PCMA, PCMU) call our registered line; in one room each hears the other two tones and never its own', async function () {
      const phones: Phone[] = [
        { user: 'p1', hz: 500, codecs: 'PCMU,PCMA', recordDir: '' },
        { user: 'p2', hz: 900, codecs: 'PCMA', recordDir: '' },
        { user: 'p3', hz: 1300, codecs: 'PCMU,PCMA', recordDir: '' },
      ];
      const tones = phones.map((p) => p.hz);
      const k = await Kamailio.start({ users: { alice: 'alice-pw' } });
      h.track(k, () => k.log());
      const { line, events } = await h.startLine({ ...mode, server: k.address, username: 'alice', register: true, callWaiting: 'off' }, { password: 'alice-pw' });
      await events.next('registered');
      await waitFor('our line registered at Kamailio', async () => (await k.contacts('alice')).length === 1, WAIT_MS);
      const calls: Call[] = [];
      const baresips = [];
      for (const phone of phones) {
        phone.recordDir = join(dir, phone.user);
        mkdirSync(phone.recordDir);
        const source = join(dir, `${phone.user}.wav`);
        writeFileSync(source, toneWav(phone.hz, 30_000));
        // Not registered (regint=0): the phone sends its INVITE to Kamailio, which finds our line's contact.
        const b = await h.startBaresip({ account: `<sip:${phone.user}@${k.address}>;regint=0;audio_codecs=${phone.codecs}`, audioSource: source, recordDir: phone.recordDir });
        baresips.push(b);
        assert.equal((await b.command('dial', `sip:alice@${k.address}`)).ok, true);
        const incoming = await events.next('incoming');
        assert.equal(incoming.call?.remote.number, phone.user);
        const call = await line.answer(incoming.call?.id);
        await b.nextEvent('CALL_ESTABLISHED');
        await line.conference.join(call.id, 'phones');
        calls.push(call);
      }
      assert.deepEqual(calls.map((c) => rtpOf(line, c).media.codec), ['PCMU', 'PCMA', 'PCMU'], 'the room mixes PCMU and PCMA parties');
      assert.deepEqual(line.conference.getRoom('phones')?.parties.map((q) => q.number), ['p1', 'p2', 'p3']);
      await new Promise((r) => setTimeout(r, 2500));
      await Promise.all(baresips.map((b) => b.command('hangup')));
      await waitFor('the three calls ended and left the room', () => line.conference.getRoom('phones') === null, WAIT_MS);
      for (const phone of phones) {
        const { samples, rate } = await baresipDecoded(phone.recordDir);
        const others = tones.filter((hz) => hz !== phone.hz);
        const levels = blocks(samples, rate, tones);
        const both = levels.filter((b) => others.every((hz) => b[hz] > HEARD));
        assert.ok(both.length >= 4, `${phone.user} (${phone.codecs}) hears ${others.join(' and ')} Hz together for at least 1 s: ${both.length} blocks of 250 ms; ${JSON.stringify(levels)}`);
        const own = Math.max(...levels.map((b) => b[phone.hz]));
        assert.ok(own < NOT_HEARD, `${phone.user} never hears its own ${phone.hz} Hz: at most ${own}`);
      }
    });
  });
}
