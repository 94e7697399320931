/**
 * Early media and a call's media facts against real peers on 127.0.0.1 (issue 11, parts 4 and 9):
 *
 * - SIPp as the far end that sends a 183 with SDP and streams audio (`rtp_stream`: G.711 u-law from
 *   its media port) before it answers, or never answers: the flow records, streams and detects keys
 *   in that audio before any 200, and hangs up (CANCEL) on what it heard; a recording begun in early
 *   media runs on through the answer on the same RtpSession; a 200 whose SDP names another port, and
 *   a 200 from another fork than the 183's, move our media there (sip.js alone would ignore the
 *   first and end the call with 488 on the second).
 * - The `ended` payload's `media` and `get-stats` checked against what SIPp sent: a stream of a
 *   known number of packets.
 * - Mute per call checked on the far end: baresip's own recording of what it received (sndfile).
 *
 * The SIPp scenarios are in test/fixtures/sipp/ (early-media-announcement-uas.xml,
 * early-media-answer-uas.xml).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AudioChunk } from '../../lib/capabilities/audio';
import type { CallTransition } from '../../lib/call/call';
import type { CallMediaStats } from '../../lib/call/media-stats';
import { encodeUlaw, pcm16leToInt16 } from '../../lib/media/g711';
import { parseRtp } from '../../lib/media/rtp-packet';
import { beep, concat, dtmfSequence, silence } from '../../lib/media/tone-generator';
import type { SipBackend } from '../../lib/sip/sip-backend';
import { recordingResult } from '../helpers/audio-harness';
import { dominantHz, loudMs, readChannels, rms, toneWav } from '../helpers/audio-spectrum';
import { interopHarness } from '../helpers/interop-harness';
import { LOOPBACK, Sipp, baresipDecoded, pickPorts, pickSippMediaPort, requirePeer, sippScenario, waitFor } from '../helpers/sip-peers';

const WAIT_MS = 20_000;
const NO_TIMEOUTS = { firstDigitTimeoutMs: 0, interDigitTimeoutMs: 0 };
/** 20 ms of 8 kHz audio: one RTP packet's worth. */
const FRAME = 160;

describe('SIP early media and per-call media facts with real peers (integration)', function () {
  this.timeout(90_000);
  const { startLine, startSipp, startBaresip, defer } = interopHarness('early-media');

  describe('SIPp: 183 with SDP and audio', () => {
    before(function () {
      requirePeer(this, 'sipp');
    });

    /**
     * SIPp with `scenario`, streaming `pcm` (as `file`) after its 183; `set`: its -set variables;
     * `progress`: another status line for its 183 (SIPp reads status codes when it loads a scenario,
     * so a variant is written to a folder of the test). The file is raw G.711 u-law, 160 bytes a
     * packet: SIPp 3.6's rtp_stream sends a file's bytes as they are (a WAV header would go out as the
     * first packet's audio).
     */
    async function farEnd(scenario: string, file: string, pcm: Int16Array, set: Record<string, string | number> = {}, progress?: string): Promise<Sipp> {
      const media = await pickSippMediaPort();
      const extraArgs = ['-mp', String(media), ...Object.entries(set).flatMap(([k, v]) => ['-set', k, String(v)])];
      let path = sippScenario(scenario);
      if (progress) {
        const dir = mkdtempSync(join(tmpdir(), 'early-media-scenario-'));
        defer(() => rmSync(dir, { recursive: true, force: true }));
        const variant = join(dir, scenario);
        writeFileSync(variant, readFileSync(path, 'utf8').replace('SIP/2.0 183 Session Progress', `SIP/2.0 ${progress}`));
        path = variant;
      }
      return startSipp({ scenario: path, calls: 1, extraArgs, files: { [file]: encodeUlaw(pcm) } });
    }

    /** A UDP socket on a picked port that counts the RTP packets it gets: where a 200's SDP moves our media. */
    async function rtpSink(): Promise<{ port: number; packets: () => number }> {
      const port = await pickPorts(1);
      const socket = dgram.createSocket('udp4');
      let packets = 0;
      socket.on('message', (buf) => {
        if (parseRtp(buf)) packets++;
      });
      await new Promise<void>((resolve) => socket.bind(port, LOOPBACK, resolve));
      defer(() => new Promise<void>((resolve) => socket.close(() => resolve())));
      return { port, packets: () => packets };
    }

    for (const progress of ['183 Session Progress', '180 Ringing']) {
      it(`an announcement in early media after a ${progress} with SDP (no answer ever): the flow streams it (SIT tones 950/1400/1800 Hz), collects its keys 7 3 in-band, and hangs up: CANCEL, ended cancelled with media figures`, async () => {
        const sit = concat([beep(330, 950), beep(330, 1400), beep(330, 1800)]);
        const announcement = concat([silence(200), sit, silence(200), dtmfSequence('73', 120, 120), silence(2000)]);
        const uas = await farEnd('early-media-announcement-uas.xml', 'announcement.ulaw', announcement, {}, progress);
        const { line, events } = await startLine({ server: uas.address, dtmfMode: 'inband' });
        const call = await line.dial('2000');
        const early = await events.next('early-media');
        assert.equal(early.call?.id, call.id);
        assert.equal(early.payload.evidence, `SIP/2.0 ${progress}`);
        // What a flow does on early-media: stream the audio, and listen for keys.
        const rec = await line.audio.record(call.id, { mode: 'stream', direction: 'rx', chunkMs: 100 });
        const chunks: AudioChunk[] = [];
        rec.on('chunk', (c: AudioChunk) => chunks.push(c));
        const result = recordingResult(rec);
        const gather = await line.dtmf.collect(call.id, { maxDigits: 2, finishKey: null, ...NO_TIMEOUTS });
        assert.deepEqual(await gather.result, { digits: '73', reason: 'max-digits' });
        assert.equal(call.state, 'early-media', 'still not answered');
        const keys = events.events.filter((e) => e.topic === 'dtmf').map((e) => [e.payload.digit, e.payload.source]);
        assert.deepEqual(keys, [['7', 'inband'], ['3', 'inband']]);
        await line.hangup(call.id);
        const ended = await events.next('ended');
        assert.deepEqual([ended.payload.cause, ended.payload.by], ['cancelled', 'local']);
        assert.equal((await result).endedBy, 'call-ended');
        // The SIT tones were in the stream, one after the other.
        const heard = chunks.map((c) => pcm16leToInt16(c.payload)).filter((s) => rms(s) > 1000).map((s) => dominantHz(s));
        for (const hz of [950, 1400, 1800]) assert.ok(heard.includes(hz), `${hz} Hz in the stream's chunks (${heard.join(', ')})`);
        assert.ok(heard.indexOf(950) < heard.indexOf(1400) && heard.indexOf(1400) < heard.indexOf(1800), 'in order');
        // The media figures of a call that never was answered: what came in early media.
        const media = ended.payload.media as CallMediaStats;
        assert.equal(media.codec, 'PCMU');
        assert.ok(media.packetsReceived >= (200 + 990 + 200 + 360) / 20, `received the announcement up to the keys (${media.packetsReceived})`);
        assert.ok(media.packetsReceived <= announcement.length / FRAME, `no more than SIPp streamed (${media.packetsReceived})`);
        assert.deepEqual(events.topics().filter((t) => t === 'answered'), [], 'never answered');
        // SIPp's scenario ends with our CANCEL and the ACK of its 487: exit code 0.
        assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
      });
    }

    it('early media then the 200 (same dialog, same SDP): one recording from early-media on has the 600 Hz before and the 1000 Hz after the answer; same RtpSession; media figures = the stream SIPp sent', async () => {
      const stream = concat([beep(1000, 600), beep(1500, 1000)]);
      const sent = stream.length / FRAME; // 125 packets
      const media = await pickSippMediaPort();
      const uas = await startSipp({
        scenario: sippScenario('early-media-answer-uas.xml'),
        calls: 1,
        extraArgs: ['-mp', String(media), '-set', 'answer_port', String(media), '-set', 'answer_tag', 'early'],
        files: { 'stream.ulaw': encodeUlaw(stream) },
      });
      const dir = mkdtempSync(join(tmpdir(), 'early-media-'));
      defer(() => rmSync(dir, { recursive: true, force: true }));
      const { line, events } = await startLine({ server: uas.address });
      const call = await line.dial('2000');
      await events.next('early-media');
      const backend = line.backend as SipBackend;
      const rtpEarly = backend.rtpOf(call);
      const file = join(dir, 'early.wav');
      const result = recordingResult(await line.audio.record(call.id, { direction: 'rx', path: file }));
      await events.next('answered');
      assert.equal(backend.rtpOf(call), rtpEarly, 'the same RtpSession goes on after the answer');
      await waitFor('the whole stream received', () => (backend.rtpOf(call)?.stats().packetsReceived ?? 0) >= sent, WAIT_MS);
      const stats = line.control.stats(call.id).stats;
      await line.hangup(call.id);
      const ended = await events.next('ended');
      assert.equal((await result).endedBy, 'call-ended', 'one recording, ended with the call (not at the answer)');
      const { mono } = readChannels(file);
      const loud = mono.subarray(mono.findIndex((s) => Math.abs(s) > 1000));
      assert.equal(dominantHz(loud.subarray(0, 800 * 8)), 600, 'early media first');
      assert.equal(dominantHz(loud.subarray(1100 * 8, 2400 * 8)), 1000, 'then the answered call');
      const m = ended.payload.media as CallMediaStats;
      assert.deepEqual([m.codec, m.packetsReceived, m.packetsLost, m.lossRatio], ['PCMU', sent, 0, 0], JSON.stringify(m));
      assert.equal(m.bytesReceived, sent * (12 + FRAME), 'RTP header and 160 bytes of u-law each');
      assert.ok(m.jitterMs >= 0 && m.jitterMs < 20, `jitter on loopback (${m.jitterMs} ms)`);
      // We send from the 183 on (20 ms packets): about as many as the call lasted.
      const lastedMs = Date.parse(String(ended.call?.endedAt)) - Date.parse(String(ended.call?.startedAt));
      assert.ok(m.packetsSent > 0.6 * (lastedMs / 20) && m.packetsSent <= lastedMs / 20 + 5, `${m.packetsSent} packets sent in ${lastedMs} ms`);
      // get-stats during the call said the same as far as it went.
      assert.deepEqual([stats.codec, stats.packetsReceived], ['PCMU', sent]);
      assert.ok(stats.packetsSent <= m.packetsSent);
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });

    for (const forked of [false, true]) {
      const what = forked
        ? 'a 200 from another fork than the 183 (another To tag, another port): the call is answered (not ended 488), our media moves to the 200\'s port'
        : 'a 200 whose SDP names another port than the 183\'s: our media moves there when the call is answered';
      it(what, async () => {
        const sink = await rtpSink();
        // The early media's source falls silent before the 200 (as an announcement server's does):
        // our RTP latches to where packets come from, and a source that goes on sending keeps it.
        const uas = await farEnd('early-media-answer-uas.xml', 'stream.ulaw', beep(700, 700), { answer_port: sink.port, answer_tag: forked ? 'fork2' : 'early' });
        const { line, events } = await startLine({ server: uas.address });
        const call = await line.dial('2000');
        const states: string[] = [];
        call.on('transition', (t: CallTransition) => states.push(t.to));
        await events.next('early-media');
        const backend = line.backend as SipBackend;
        await waitFor('early media received', () => (backend.rtpOf(call)?.stats().packetsReceived ?? 0) > 10, WAIT_MS);
        assert.equal(sink.packets(), 0, 'nothing sent to the 200\'s port before the answer');
        await events.next('answered');
        await waitFor('our RTP at the 200\'s port', () => sink.packets() >= 10, WAIT_MS);
        assert.equal(backend.rtpOf(call)?.media.remote?.port, sink.port);
        assert.equal(call.state, 'active', 'the call goes on');
        await line.hangup(call.id);
        const ended = await events.next('ended');
        assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'local']);
        assert.deepEqual(
          events.events.filter((e) => e.call && e.topic !== 'dialing').map((e) => e.topic),
          ['early-media', 'answered', 'ended'],
        );
        assert.deepEqual(states, ['early-media', 'active', 'ended'], 'the 180 without SDP after the 183 left the early media on (no silent ringing)');
        // SIPp got our ACK (to the 200's tag) and our BYE: exit code 0.
        assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
      });
    }
  });

  describe('baresip: mute one call', () => {
    let dir: string;

    before(function () {
      requirePeer(this, 'baresip');
    });

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'mute-call-'));
    });

    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('mute-call silences what the call sends (baresip hears 800 ms of our 1200 Hz, nothing, then 800 ms again); the line stays unmuted; get-stats counts both ways', async () => {
      const recordDir = join(dir, 'baresip-rec');
      mkdirSync(recordDir);
      const b = await startBaresip({ account: `<sip:2000@${LOOPBACK}>;regint=0`, autoAnswer: true, recordDir });
      const { line, events } = await startLine({ server: b.address });
      const call = await line.dial('2000');
      await events.next('answered');
      await b.nextEvent('CALL_ESTABLISHED');
      const tone = toneWav(1200, 800);
      await line.audio.play(call.id, { source: tone });
      await line.control.setCallMute(call.id, true);
      assert.equal((await line.control.settings()).muted, false, 'the line is not muted');
      await line.audio.play(call.id, { source: tone });
      await line.control.setCallMute(call.id, false);
      await line.audio.play(call.id, { source: tone });
      const { stats } = line.control.stats(call.id);
      assert.equal(stats.codec, 'PCMU');
      // Two tones sent (80 packets), the muted one not (a muted call sends no packet at all).
      assert.ok(stats.packetsSent >= 75 && stats.packetsReceived >= 60, JSON.stringify(stats));
      await line.hangup(call.id);
      await events.next('ended');
      await b.nextEvent('CALL_CLOSED');
      const { samples: heard, rate } = await baresipDecoded(recordDir, WAIT_MS);
      assert.equal(dominantHz(heard, 10, rate), 1200);
      const loud = loudMs(heard, 1000, rate);
      assert.ok(loud >= 1400 && loud <= 1900, `two of the three tones heard, the muted one not: ${loud} ms loud`);
    });
  });
});
