/**
 * SRTP with SDES keys against baresip on 127.0.0.1 (issue 11 part 7, docs/sip-srtp.md): baresip's
 * `srtp` module (libre's own SRTP), over TLS — our line connects to baresip's TLS listener — with
 * the audio checked by frequency both ways; a best-effort offer from baresip over UDP; a plain
 * offer refused (488) by a line that requires encryption; packets with a wrong tag dropped and counted.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Call } from '../../lib/call/call';
import type { VoiceLine } from '../../lib/line/voice-line';
import { serializeRtp } from '../../lib/media/rtp-packet';
import type { RtpMedia } from '../../lib/media-engine/rtp-media';
import type { SipBackend } from '../../lib/sip/sip-backend';
import { recordingResult } from '../helpers/audio-harness';
import { dominantHz, loudMs, readChannels, toneWav } from '../helpers/audio-spectrum';
import { interopHarness } from '../helpers/interop-harness';
import { Baresip, baresipDecoded, LOOPBACK, requirePeer, selfSignedCertificate, waitFor } from '../helpers/sip-peers';
import type { InteropLine } from '../helpers/interop-harness';

const WAIT_MS = 20_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** baresip dials the line, the line answers: the call and its media once both sides say established. */
async function callFrom(b: Baresip, { line, events, port }: InteropLine): Promise<{ incoming: Call; rtp: RtpMedia }> {
  assert.equal((await b.command('dial', `sip:1001@${LOOPBACK}:${port}`)).ok, true);
  const ringing = await events.next('incoming');
  const incoming = await line.answer(ringing.call?.id);
  await events.next('answered');
  await b.nextEvent('CALL_ESTABLISHED');
  return { incoming, rtp: rtpOf(line, incoming) };
}

function rtpOf(line: VoiceLine, call: Call): RtpMedia {
  const rtp = (line.backend as SipBackend).rtpOf(call);
  assert.ok(rtp, 'the call has its media');
  return rtp;
}

describe('SRTP (SDES) with baresip on 127.0.0.1 (integration)', function () {
  this.timeout(90_000);
  const h = interopHarness('interop-srtp');
  let dir: string;
  let pem: string;

  before(function () {
    requirePeer(this, 'baresip');
    const { cert, key } = selfSignedCertificate(this);
    pem = Buffer.concat([cert, key]).toString();
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sip-interop-srtp-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** baresip with its srtp module, a TLS listener (sip port + 1) with our self-signed certificate. */
  function srtpBaresip(account: string, more: { autoAnswer?: boolean; recordDir?: string; audioSource?: string } = {}) {
    const certificate = join(dir, 'baresip.pem');
    writeFileSync(certificate, pem);
    return h.startBaresip({ account, ...more, extraConfig: ['module srtp.so', `sip_certificate ${certificate}`] });
  }

  // baresip's srtp-mand takes only RTP/SAVP (what `required` offers); its best-effort srtp takes the
  // RTP/AVP-with-crypto offer of `optional` (and answers it with crypto).
  for (const [mode, theirs] of [['required', 'srtp-mand'], ['optional', 'srtp']] as const) {
    it(`over TLS, encryption ${mode}: we call baresip (mediaenc=${theirs}), SRTP both ways — baresip hears our 1200 Hz, we hear its 440 Hz`, async () => {
      const recordDir = join(dir, 'baresip-rec');
      mkdirSync(recordDir);
      const b = await srtpBaresip(`<sip:2000@${LOOPBACK};transport=tls>;regint=0;mediaenc=${theirs}`, { autoAnswer: true, recordDir });
      const { line, events } = await h.startLine({ server: `${LOOPBACK}:${b.sipPort + 1}`, transport: 'tls', tlsVerify: false, mediaEncryption: mode });
      const call = await line.dial('2000');
      await events.next('answered');
      await b.nextEvent('CALL_ESTABLISHED');
      const rtp = rtpOf(line, call);
      assert.equal(rtp.srtpSuite, 'AES_CM_128_HMAC_SHA1_80', 'baresip took the first suite we offered');
      const mine = join(dir, 'ours.wav');
      const rec = await line.audio.record(call.id, { direction: 'rx', path: mine });
      const result = recordingResult(rec);
      const source = join(dir, 'tone-1200.wav');
      writeFileSync(source, toneWav(1200, 1500));
      const { outcome } = await line.audio.play(call.id, { source });
      assert.deepEqual(outcome, { playedMs: 1500, stopped: false });
      const stats = rtp.stats();
      await line.hangup(call.id);
      await events.next('ended');
      await result;
      const { mono } = readChannels(mine);
      assert.equal(dominantHz(mono), 440, 'we decrypted baresip\'s tone');
      assert.ok(loudMs(mono) >= 1200, `baresip's tone all along, got ${loudMs(mono)} ms`);
      assert.equal(stats.srtpAuthFailures, 0);
      assert.ok(stats.packetsReceived >= 50, `packets authenticated and received: ${stats.packetsReceived}`);
      await b.nextEvent('CALL_CLOSED');
      const heard = await baresipDecoded(recordDir, WAIT_MS);
      assert.equal(dominantHz(heard.samples, 10, heard.rate), 1200, 'baresip decrypted our tone');
      const loud = loudMs(heard.samples, 1000, heard.rate);
      assert.ok(loud >= 1400 && loud <= 1600, `our 1.5 s tone, got ${loud} ms`);
      assert.ok(!h.log.lines.some((l) => /travel unencrypted/.test(l)), 'no warning over TLS');
    });
  }

  it('over UDP, encryption optional: baresip\'s best-effort offer (RTP/AVP with crypto, mediaenc=srtp) is answered with SRTP; we hear its 700 Hz; the line warned that the keys travel in clear', async () => {
    const source = join(dir, 'tone-700.wav');
    writeFileSync(source, toneWav(700, 20_000));
    const b = await srtpBaresip(`<sip:bob@${LOOPBACK}>;regint=0;mediaenc=srtp`, { audioSource: source });
    const { line, events, port } = await h.startLine({ server: b.address, mediaEncryption: 'optional' });
    assert.ok(h.log.lines.some((l) => /media encryption is optional, but the SIP transport is UDP: the SRTP keys travel unencrypted/.test(l)), h.log.lines.join('\n'));
    const { incoming, rtp } = await callFrom(b, { line, events, port });
    assert.notEqual(rtp.srtpSuite, null, 'SRTP agreed');
    const file = join(dir, 'from-baresip.wav');
    const rec = await line.audio.record(incoming.id, { direction: 'rx', path: file });
    await sleep(2000);
    assert.equal((await rec.stop()).endedBy, 'stop');
    const { mono } = readChannels(file);
    assert.equal(dominantHz(mono), 700);
    assert.ok(loudMs(mono) >= 1500, `baresip's tone all along, got ${loudMs(mono)} ms`);
    assert.equal(rtp.stats().srtpAuthFailures, 0);
    assert.equal((await b.command('hangup')).ok, true);
    await events.next('ended');
  });

  it('encryption required: baresip\'s plain offer (no crypto) is refused 488, the flow sees no call', async () => {
    const b = await srtpBaresip(`<sip:bob@${LOOPBACK}>;regint=0`);
    const { events, port } = await h.startLine({ server: b.address, mediaEncryption: 'required' });
    assert.equal((await b.command('dial', `sip:1001@${LOOPBACK}:${port}`)).ok, true);
    const closed = await b.nextEvent('CALL_CLOSED');
    assert.match(String(closed.param), /488/);
    assert.equal(events.events.filter((e) => e.topic === 'incoming').length, 0);
    assert.ok(h.log.lines.some((l) => /no SRTP key this line can use/.test(l)), h.log.lines.join('\n'));
  });

  it('packets with a wrong SRTP tag (forged from another socket, mid-call) are dropped and counted; the call and its audio go on', async () => {
    const source = join(dir, 'tone-700.wav');
    writeFileSync(source, toneWav(700, 20_000));
    const b = await srtpBaresip(`<sip:bob@${LOOPBACK}>;regint=0;mediaenc=srtp-mand`, { audioSource: source });
    const { line, events, port } = await h.startLine({ server: b.address, mediaEncryption: 'required' });
    const { incoming, rtp } = await callFrom(b, { line, events, port });
    await waitFor('baresip\'s packets arriving', () => rtp.stats().packetsReceived >= 10, WAIT_MS);
    const before = rtp.stats();
    // 40 packets that look like the stream's next ones (RTP header, a payload, a 10-byte tag) but with a tag no key made.
    const forger = createSocket('udp4');
    h.defer(() => forger.close());
    for (let i = 0; i < 40; i++) {
      const packet = serializeRtp({ payloadType: 0, sequenceNumber: i, timestamp: i * 160, ssrc: 0x5eed, payload: Buffer.alloc(170, 0x55) });
      await new Promise<void>((resolve, reject) => forger.send(packet, rtp.localPort, LOOPBACK, (err) => (err ? reject(err) : resolve())));
    }
    await waitFor('the forged packets counted', () => rtp.stats().srtpAuthFailures >= before.srtpAuthFailures + 40, WAIT_MS);
    const file = join(dir, 'after.wav');
    const rec = await line.audio.record(incoming.id, { direction: 'rx', path: file });
    await sleep(1000);
    await rec.stop();
    const after = rtp.stats();
    assert.equal(after.srtpAuthFailures - before.srtpAuthFailures, 40);
    assert.equal(after.foreign, before.foreign, 'a forged packet is not taken for another source: it never got that far');
    assert.ok(after.packetsReceived >= before.packetsReceived + 40, 'baresip\'s packets still pass');
    assert.equal(dominantHz(readChannels(file).mono), 700, 'and its audio');
    assert.equal(line.status.state, 'ready');
    assert.equal((await b.command('hangup')).ok, true);
    await events.next('ended');
  });
});
