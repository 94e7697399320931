/**
 * linphone (linphonec 5.1, Debian's linphone-cli) as a third softphone on 127.0.0.1
 * (docs/sip-interop.md): what it checks that baresip and SIPp cannot is SRTP against libsrtp2, the
 * reference SRTP implementation (baresip uses libre's own, SIPp none). Audio checked by frequency
 * both ways: linphone plays a WAV tone as its microphone and records what it hears to a WAV.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Call } from '../../lib/call/call';
import type { VoiceLine } from '../../lib/line/voice-line';
import type { RtpSession } from '../../lib/sip/rtp-session';
import type { SipBackend } from '../../lib/sip/sip-backend';
import { dominantHz, loudMs, readChannels, toneWav } from '../helpers/audio-spectrum';
import { interopHarness } from '../helpers/interop-harness';
import { Linphone, LinphoneOptions } from '../helpers/linphone';
import { LOOPBACK, requirePeer, waitFor } from '../helpers/sip-peers';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function rtpOf(line: VoiceLine, call: Call): RtpSession {
  const rtp = (line.backend as SipBackend).rtpOf(call);
  assert.ok(rtp, 'the call has its media');
  return rtp;
}

describe('linphone (linphonec, libsrtp2) on 127.0.0.1 (integration)', function () {
  this.timeout(60_000);
  const h = interopHarness('interop-linphone');
  let dir: string;

  before(function () {
    requirePeer(this, 'linphonec');
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sip-interop-linphone-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** linphonec playing a `hz` tone (20 s) and recording what it hears to `heard.wav`. */
  async function startLinphone(hz: number, options: LinphoneOptions = {}): Promise<{ lp: Linphone; heard: string }> {
    const play = join(dir, `tone-${hz}.wav`);
    writeFileSync(play, toneWav(hz, 20_000));
    const heard = join(dir, 'heard.wav');
    const lp = await Linphone.start({ play, record: heard, ...options });
    h.track(lp, () => lp.process.text());
    return { lp, heard };
  }

  /** What linphone recorded, once its file holds at least `ms` of audio. */
  async function linphoneHeard(file: string, ms: number): Promise<{ samples: Int16Array; rate: number }> {
    let heard: { samples: Int16Array; rate: number } | undefined;
    await waitFor(`linphone's recording (${file}) holding ${ms} ms`, () => {
      try {
        const { info, mono } = readChannels(file);
        heard = { samples: mono, rate: info.sampleRate };
        return (mono.length * 1000) / info.sampleRate >= ms;
      } catch {
        return false; // not there yet, or its header not written yet
      }
    }, 10_000);
    return heard as { samples: Int16Array; rate: number };
  }

  for (const mode of ['required', 'optional'] as const) {
    it(`UDP, encryption ${mode}: we call linphone (media_encryption=srtp, mandatory), SRTP both ways — linphone hears our 1200 Hz, we hear its 440 Hz`, async () => {
      const { lp, heard } = await startLinphone(440, { mediaEncryption: 'srtp', encryptionMandatory: true, autoAnswer: true });
      const { line, events } = await h.startLine({ server: lp.address, mediaEncryption: mode });
      const call = await line.dial('2000');
      await events.next('answered');
      const rtp = rtpOf(line, call);
      assert.equal(rtp.srtpSuite, 'AES_CM_128_HMAC_SHA1_80', 'linphone took the first suite we offered');
      const mine = join(dir, 'ours.wav');
      const rec = await line.audio.record(call.id, { direction: 'rx', path: mine });
      const source = join(dir, 'tone-1200.wav');
      writeFileSync(source, toneWav(1200, 1500));
      const { outcome } = await line.audio.play(call.id, { source });
      assert.deepEqual(outcome, { playedMs: 1500, stopped: false });
      await rec.stop();
      const stats = rtp.stats();
      await line.hangup(call.id);
      await events.next('ended');
      const { mono } = readChannels(mine);
      assert.equal(dominantHz(mono), 440, 'we decrypted linphone\'s tone');
      assert.ok(loudMs(mono) >= 1200, `linphone's tone all along, got ${loudMs(mono)} ms`);
      assert.equal(stats.srtpAuthFailures, 0);
      const { samples, rate } = await linphoneHeard(heard, 1500);
      assert.equal(dominantHz(samples, 10, rate), 1200, 'linphone (libsrtp2) decrypted our tone');
      const loud = loudMs(samples, 1000, rate);
      assert.ok(loud >= 1300 && loud <= 1700, `our 1.5 s tone, got ${loud} ms`);
    });
  }

  it('UDP, encryption required: linphone (srtp mandatory) calls us, SRTP both ways — we hear its 700 Hz, it hears our 1000 Hz', async () => {
    const { lp, heard } = await startLinphone(700, { mediaEncryption: 'srtp', encryptionMandatory: true });
    const { line, events, port } = await h.startLine({ server: lp.address, mediaEncryption: 'required' });
    lp.command(`call sip:1001@${LOOPBACK}:${port}`);
    const ringing = await events.next('incoming');
    const call = await line.answer(ringing.call?.id);
    await events.next('answered');
    const rtp = rtpOf(line, call);
    assert.notEqual(rtp.srtpSuite, null, 'SRTP agreed');
    const mine = join(dir, 'ours.wav');
    const rec = await line.audio.record(call.id, { direction: 'rx', path: mine });
    const source = join(dir, 'tone-1000.wav');
    writeFileSync(source, toneWav(1000, 1500));
    await line.audio.play(call.id, { source });
    await sleep(200);
    await rec.stop();
    assert.equal(rtp.stats().srtpAuthFailures, 0);
    lp.command('terminate');
    await events.next('ended');
    const { mono } = readChannels(mine);
    assert.equal(dominantHz(mono), 700, 'we decrypted linphone\'s tone');
    const { samples, rate } = await linphoneHeard(heard, 1500);
    assert.equal(dominantHz(samples, 10, rate), 1000, 'linphone decrypted our tone');
  });
});
