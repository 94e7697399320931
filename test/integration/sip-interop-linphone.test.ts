/**
 * linphone (linphonec 5.1, Debian's linphone-cli) as a third softphone on 127.0.0.1
 * (docs/sip-interop.md). What it checks that baresip and SIPp cannot: SRTP (SDES) against libsrtp2,
 * the reference SRTP implementation (baresip uses libre's own, SIPp none), with both suites
 * (`AES_CM_128_HMAC_SHA1_80` and `_32`) and both kinds of offer (RTP/SAVP, and RTP/AVP with crypto).
 * Audio checked by frequency both ways: linphone plays a WAV tone as its microphone and records what
 * it hears to a WAV. linphonec 5.1 cannot take calls (test/helpers/linphone.ts), so linphone dials us.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VoiceLine } from '../../lib/line/voice-line';
import type { RtpSession } from '../../lib/sip/rtp-session';
import type { SipBackend } from '../../lib/sip/sip-backend';
import { dominantHz, loudMs, readChannels, toneWav } from '../helpers/audio-spectrum';
import { interopHarness } from '../helpers/interop-harness';
import { Linphone, LinphoneOptions } from '../helpers/linphone';
import { LOOPBACK, requirePeer, waitFor } from '../helpers/sip-peers';

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
  async function startLinphone(hz: number, options: LinphoneOptions): Promise<{ lp: Linphone; heard: string }> {
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

  /**
   * linphone dials the line, the line answers; we record its tone while we play `ourHz` for 1.5 s;
   * linphone hangs up. Returns our RTP session, its stats at the end, and both recordings.
   */
  async function callBothWays(lp: Linphone, heardFile: string, { line, events, port }: { line: VoiceLine; events: import('../helpers/event-log').EventLog; port: number }, ourHz: number) {
    lp.command(`call sip:1001@${LOOPBACK}:${port}`);
    const ringing = await events.next('incoming');
    const call = await line.answer(ringing.call?.id);
    await events.next('answered');
    await lp.waitOutput(/Call \d+ with .* connected\./);
    const rtp = (line.backend as SipBackend).rtpOf(call) as RtpSession;
    assert.ok(rtp, 'the call has its media');
    // linphone records from when its media starts: our tone goes once its stream reaches us.
    await waitFor('linphone\'s packets arriving', () => rtp.stats().packetsReceived >= 10, 10_000);
    const mine = join(dir, 'ours.wav');
    const rec = await line.audio.record(call.id, { direction: 'rx', path: mine });
    const source = join(dir, `tone-${ourHz}.wav`);
    writeFileSync(source, toneWav(ourHz, 1500));
    const { outcome } = await line.audio.play(call.id, { source });
    assert.deepEqual(outcome, { playedMs: 1500, stopped: false });
    await rec.stop();
    const stats = rtp.stats();
    lp.command('terminate');
    const ended = await events.next('ended');
    assert.equal(ended.payload?.cause, 'normal');
    const ours = readChannels(mine).mono;
    const theirs = await linphoneHeard(heardFile, 1000);
    return { rtp, stats, ours, theirs };
  }

  const cases = [
    { ours: 'required', suites: undefined, suite: 'AES_CM_128_HMAC_SHA1_80', what: 'RTP/SAVP offer, liblinphone\'s default suites' },
    { ours: 'optional', suites: undefined, suite: 'AES_CM_128_HMAC_SHA1_80', what: 'RTP/SAVP offer, liblinphone\'s default suites' },
    { ours: 'required', suites: ['AES_CM_128_HMAC_SHA1_32'], suite: 'AES_CM_128_HMAC_SHA1_32', what: 'RTP/SAVP offer of AES_CM_128_HMAC_SHA1_32 only' },
  ] as const;
  for (const c of cases) {
    it(`encryption ${c.ours}: linphone (srtp mandatory, ${c.what}) calls us, ${c.suite} both ways through libsrtp2 — we hear its 700 Hz, it hears our 1000 Hz`, async () => {
      const { lp, heard } = await startLinphone(700, { mediaEncryption: 'srtp', encryptionMandatory: true, srtpSuites: c.suites ? [...c.suites] : undefined });
      const l = await h.startLine({ server: lp.address, mediaEncryption: c.ours });
      const { rtp, stats, ours, theirs } = await callBothWays(lp, heard, l, 1000);
      assert.equal(rtp.srtpSuite, c.suite);
      assert.equal(stats.srtpAuthFailures, 0, 'every packet of libsrtp2 authenticated');
      assert.ok(stats.packetsReceived >= 50, `packets received: ${stats.packetsReceived}`);
      assert.equal(dominantHz(ours), 700, 'we decrypted linphone\'s tone');
      assert.ok(loudMs(ours) >= 1200, `linphone's tone all along, got ${loudMs(ours)} ms`);
      assert.equal(dominantHz(theirs.samples, 10, theirs.rate), 1000, 'libsrtp2 decrypted our tone');
      const loud = loudMs(theirs.samples, 1000, theirs.rate);
      assert.ok(loud >= 1300 && loud <= 1700, `our 1.5 s tone, got ${loud} ms`);
    });
  }

  it('encryption optional: linphone\'s best-effort offer (srtp not mandatory: RTP/AVP with crypto) is answered with SRTP, audio both ways', async () => {
    const { lp, heard } = await startLinphone(700, { mediaEncryption: 'srtp', encryptionMandatory: false });
    const l = await h.startLine({ server: lp.address, mediaEncryption: 'optional' });
    const { rtp, stats, ours, theirs } = await callBothWays(lp, heard, l, 1000);
    assert.notEqual(rtp.srtpSuite, null, 'SRTP agreed');
    assert.equal(stats.srtpAuthFailures, 0);
    assert.equal(dominantHz(ours), 700);
    assert.equal(dominantHz(theirs.samples, 10, theirs.rate), 1000);
  });
});
