/**
 * linphone (linphonec 5.1, Debian's linphone-cli) as a third softphone on 127.0.0.1
 * (docs/sip-interop.md). What it checks that baresip and SIPp cannot: SRTP (SDES) against libsrtp2,
 * the reference SRTP implementation (baresip uses libre's own, SIPp none), with both suites
 * (`AES_CM_128_HMAC_SHA1_80` and `_32`) and both kinds of offer (RTP/SAVP, and RTP/AVP with crypto).
 * Audio checked by frequency both ways: linphone plays a WAV tone as its microphone and records what
 * it hears to a WAV. Also session timers against liblinphone's own RFC 4028 code (SIPp only replays
 * scripts): its UPDATE refreshes, ours answered by it, a 422 and its retry.
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
import type { EventLog } from '../helpers/event-log';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
  async function callBothWays(lp: Linphone, heardFile: string, { line, events, port }: { line: VoiceLine; events: EventLog; port: number }, ourHz: number) {
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

  // linphone with SRTP mandatory takes only RTP/SAVP (what `required` offers: SRTP); with SRTP
  // best-effort, liblinphone 5.1 answers the RTP/AVP-with-crypto offer of `optional` without crypto:
  // plain RTP, which `optional` accepts (unlike baresip's best-effort srtp, which answers with crypto).
  for (const [mode, mandatory, suite] of [['required', true, 'AES_CM_128_HMAC_SHA1_80'], ['optional', false, null]] as const) {
    it(`encryption ${mode}: we call linphone (srtp ${mandatory ? 'mandatory' : 'best-effort'}, auto-answer), ${suite ? 'SRTP decrypted by libsrtp2' : 'answered without crypto: plain RTP'} — it hears our 1200 Hz, we hear its 440 Hz`, async () => {
      const { lp, heard } = await startLinphone(440, { mediaEncryption: 'srtp', encryptionMandatory: mandatory, autoAnswer: true });
      const { line, events } = await h.startLine({ server: lp.address, mediaEncryption: mode });
      const call = await line.dial('2000');
      await events.next('answered');
      await lp.waitOutput(/Call \d+ with .* connected\./);
      const rtp = (line.backend as SipBackend).rtpOf(call) as RtpSession;
      assert.ok(rtp, 'the call has its media');
      assert.equal(rtp.srtpSuite, suite, suite ? 'linphone took the first suite we offered' : 'no SRTP: linphone\'s answer had no crypto');
      await waitFor('linphone\'s packets arriving', () => rtp.stats().packetsReceived >= 10, 10_000);
      const mine = join(dir, 'ours.wav');
      const rec = await line.audio.record(call.id, { direction: 'rx', path: mine });
      const source = join(dir, 'tone-1200.wav');
      writeFileSync(source, toneWav(1200, 1500));
      await line.audio.play(call.id, { source });
      await rec.stop();
      const stats = rtp.stats();
      await line.hangup(call.id);
      await events.next('ended');
      await lp.waitOutput(/Call \d+ with .* ended/);
      assert.equal(stats.srtpAuthFailures, 0);
      const ours = readChannels(mine).mono;
      assert.equal(dominantHz(ours), 440, 'we decrypted linphone\'s tone');
      assert.ok(loudMs(ours) >= 1200, `linphone's tone all along, got ${loudMs(ours)} ms`);
      const theirs = await linphoneHeard(heard, 1000);
      assert.equal(dominantHz(theirs.samples, 10, theirs.rate), 1200, 'linphone heard (and decrypted) our tone');
      const loud = loudMs(theirs.samples, 1000, theirs.rate);
      assert.ok(loud >= 1300 && loud <= 1700, `our 1.5 s tone, got ${loud} ms`);
    });
  }

  it('encryption optional: our best-effort offer (RTP/AVP with crypto) to linphone with SRTP mandatory is refused 488: the call ends incompatible', async () => {
    const { lp } = await startLinphone(440, { mediaEncryption: 'srtp', encryptionMandatory: true, autoAnswer: true });
    const { line, events } = await h.startLine({ server: lp.address, mediaEncryption: 'optional' });
    await line.dial('2000');
    const ended = await events.next('ended');
    assert.deepEqual([ended.payload?.cause, ended.payload?.by, ended.payload?.sipCode], ['incompatible', 'remote', 488]);
    assert.equal(events.events.filter((e) => e.topic === 'answered').length, 0);
  });

  it('encryption optional: linphone\'s best-effort offer (srtp not mandatory: RTP/AVP with crypto) is answered with SRTP, audio both ways', async () => {
    const { lp, heard } = await startLinphone(700, { mediaEncryption: 'srtp', encryptionMandatory: false });
    const l = await h.startLine({ server: lp.address, mediaEncryption: 'optional' });
    const { rtp, stats, ours, theirs } = await callBothWays(lp, heard, l, 1000);
    assert.notEqual(rtp.srtpSuite, null, 'SRTP agreed');
    assert.equal(stats.srtpAuthFailures, 0);
    assert.equal(dominantHz(ours), 700);
    assert.equal(dominantHz(theirs.samples, 10, theirs.rate), 1000);
  });

  /** Session timer lines of the line's log (lib/sip/session-timer.ts) matching `re`. */
  const timerLog = (re: RegExp): string[] => h.log.lines.filter((l) => re.test(l));

  /** linphone, its session timer set by its [sip] `session_expires_*` keys, dials the line; the line answers. */
  async function timedCall(linphoneTimer: string[], backend?: { sessionMinSe: number; sessionExpires: number }) {
    const { lp } = await startLinphone(700, { sipConfig: ['session_expires_enabled=1', ...linphoneTimer] });
    const { line, events, port } = await h.startLine({ server: lp.address }, backend ? { backend } : undefined);
    lp.command(`call sip:1001@${LOOPBACK}:${port}`);
    const ringing = await events.next('incoming');
    const call = await line.answer(ringing.call?.id);
    await events.next('answered');
    await lp.waitOutput(/Call \d+ with .* connected\./);
    return { lp, line, events, call };
  }

  /** Hangs up from linphone: the call ends normal, by the remote side (it was still up). */
  async function linphoneHangsUp(lp: Linphone, events: EventLog): Promise<void> {
    lp.command('terminate');
    const ended = await events.next('ended');
    assert.deepEqual([ended.payload?.cause, ended.payload?.by], ['normal', 'remote']);
  }

  // RFC 4028 allows no interval below 90 s; as in sip-session-timer.test.ts the line's Min-SE is
  // lowered (backend option) and linphone's too, to 6 s: refreshes every 3 s, expiry after 4 s unrefreshed.
  const SHORT = { sessionMinSe: 6, sessionExpires: 6 };

  it('session timers, linphone refreshes (Session-Expires ;refresher=uac): its UPDATE refreshes are answered and the call outlives two intervals', async () => {
    const { lp, line, events, call } = await timedCall(['session_expires_value=6', 'session_expires_min_value=6', 'session_expires_refresher_value=2'], SHORT);
    assert.equal(timerLog(/session timer 6 s, they refresh \(the call was answered\)/).length, 1, 'a 6 s timer, linphone the refresher');
    await sleep(10_000);
    const refreshes = timerLog(/session timer 6 s, they refresh \(their UPDATE\)/).length;
    assert.ok(refreshes >= 2, `linphone's UPDATE refreshes taken: ${refreshes}`);
    assert.equal(line.activeCalls().find((c) => c.id === call.id)?.state, 'active', 'no expiry: the call is up after 10 s');
    await linphoneHangsUp(lp, events);
  });

  it('session timers, we refresh (linphone asks ;refresher=uas): linphone answers our UPDATE refreshes 200 and the call outlives two intervals', async () => {
    const { lp, line, events, call } = await timedCall(['session_expires_value=6', 'session_expires_min_value=6', 'session_expires_refresher_value=1'], SHORT);
    assert.equal(timerLog(/session timer 6 s, we refresh \(the call was answered\)/).length, 1, 'a 6 s timer, we the refresher');
    await sleep(10_000);
    const refreshes = timerLog(/session timer 6 s, we refresh \(our refresh was answered 200\)/).length;
    assert.ok(refreshes >= 2, `our refreshes answered 200 by linphone: ${refreshes}`);
    assert.equal(line.activeCalls().find((c) => c.id === call.id)?.state, 'active', 'no expiry: the call is up after 10 s');
    await linphoneHangsUp(lp, events);
  });

  it('session timers: linphone asks Session-Expires 30, below our Min-SE 90: we answer 422, linphone calls again with 90 and the call is up', async () => {
    const { lp, events } = await timedCall(['session_expires_value=30', 'session_expires_min_value=30', 'session_expires_refresher_value=0']);
    assert.equal(timerLog(/refused a call from .* with 422: session-timer: Session-Expires 30 is below our Min-SE 90/).length, 1);
    assert.equal(timerLog(/session timer 90 s, .* \(the call was answered\)/).length, 1, 'the retry with 90 s answered');
    assert.equal(events.events.filter((e) => e.topic === 'incoming').length, 1, 'the flow saw one call, not the refused INVITE');
    await linphoneHangsUp(lp, events);
  });

  it('encryption off (the default): linphone\'s RTP/SAVP offer is refused 488, linphone reports the call failed, the flow sees no call', async () => {
    const { lp } = await startLinphone(700, { mediaEncryption: 'srtp', encryptionMandatory: true });
    const { events, port } = await h.startLine({ server: lp.address });
    lp.command(`call sip:1001@${LOOPBACK}:${port}`);
    await lp.waitOutput(/Call \d+ with .* error\./);
    assert.equal(h.log.lines.filter((l) => /refused a call from .* with 488: the remote party offered only encrypted audio \(RTP\/SAVP\)/.test(l)).length, 1, h.log.lines.join('\n'));
    assert.equal(events.events.filter((e) => e.topic === 'incoming').length, 0);
  });
});
