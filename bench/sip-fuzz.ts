/**
 * bench/sip-fuzz: N mutated SIP requests and M malformed RTP packets against a live call
 * (docs/reliability.md, "Fuzz"). The same mutations as the suite's fuzz test
 * (test/helpers/sip-fuzz.ts, test/integration/sip-robustness.test.ts), in larger numbers.
 *
 * A SIP line (lib/ VoiceLine, trunk mode) whose server is a raw UDP socket of this process (the
 * relay of test/helpers/raw-sip.ts), which calls the line, gets the call answered, sends audio, and
 * then the barrage: in-dialog and out-of-dialog requests, each changed one to three times, BYE,
 * CANCEL and re-INVITE always with a CSeq the line must refuse; malformed RTP from the call's
 * latched source. Then: is the call still up, does the line answer an OPTIONS, does it still
 * decode our audio and send its own; how many warning lines were written; the answers by status.
 *
 * Run: `npm run bench:fuzz [-- --sip 2000 --rtp 1000 --seed N]`.
 */
import { randomInt } from 'node:crypto';
import { createSocket, Socket } from 'node:dgram';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { CallState } from '../lib/call/call-state';
import { VoiceLine } from '../lib/line/voice-line';
import { serializeRtp } from '../lib/media/rtp-packet';
import type { RtpSession } from '../lib/sip/rtp-session';
import type { SipBackend } from '../lib/sip/sip-backend';
import { buildRequest, RawSipRelay, sdpOffer, tagOf, token } from '../test/helpers/raw-sip';
import { malformedRtp, mutate, seededRandom } from '../test/helpers/sip-fuzz';
import { LOOPBACK, pickPorts, waitFor } from '../test/helpers/sip-peers';

const argv = process.argv.slice(2);
const number = (name: string, fallback: number): number => {
  const i = argv.indexOf(`--${name}`);
  const n = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`--${name} must be a whole number`);
  return n;
};
const SIP = number('sip', 2000);
const RTP = number('rtp', 1000);
const SEED = number('seed', randomInt(0, 2 ** 31));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const send = (s: Socket, data: Buffer, port: number): Promise<void> => new Promise((resolve) => s.send(data, port, LOOPBACK, () => resolve()));

async function main(): Promise<void> {
  const random = seededRandom(SEED);
  const warnings: string[] = [];
  const log = { debug: () => undefined, info: () => undefined, warn: (t: string) => void warnings.push(t), error: (t: string) => void warnings.push(t) };
  const relay = await RawSipRelay.open();
  const [port] = [await pickPorts(1)];
  const line = new VoiceLine(
    { id: 'fuzz', backend: 'sip', server: `${LOOPBACK}:${relay.port}`, transport: 'udp', username: '2002', register: false, localPort: port, localAddress: LOOPBACK, rtpPortMin: 41000, rtpPortMax: 41099 },
    { log },
  );
  // The line's answers to requests whose Call-ID the mutations changed are not the relay's: they go to a sink.
  const sink = createSocket('udp4');
  sink.bind(0, LOOPBACK);
  await once(sink, 'listening');
  relay.relay(port, sink.address().port);
  const crashes: string[] = [];
  process.on('uncaughtException', (e) => crashes.push(String(e)));
  process.on('unhandledRejection', (e) => crashes.push(String(e)));
  await line.start();
  await waitFor('line ready', () => line.status.state === 'ready', 15_000);

  // The call: INVITE from the relay, answered by the line, ACKed.
  const media = createSocket('udp4');
  media.bind(0, LOOPBACK);
  await once(media, 'listening');
  const via = { host: LOOPBACK, port: relay.port };
  const ruri = `sip:2002@${LOOPBACK}:${port}`;
  const callId = relay.own();
  const fromTag = token();
  let incoming: string | undefined;
  line.on('event', (e: { topic: string; call?: { id: string } }) => {
    if (e.topic === 'incoming') incoming = e.call?.id;
  });
  await relay.send(buildRequest({ method: 'INVITE', ruri, via, callId, cseq: 1, fromTag, to: `sip:2002@${LOOPBACK}`, contentType: 'application/sdp', body: sdpOffer(LOOPBACK, media.address().port) }));
  await waitFor('the call rings', () => incoming !== undefined, 10_000);
  const call = await line.answer(incoming);
  const ok = await relay.final(callId, 'INVITE');
  const contact = /<([^>]+)>/.exec(ok.header('contact'))?.[1] as string;
  const toTag = tagOf(ok.header('to')) as string;
  await relay.send(buildRequest({ method: 'ACK', ruri: contact, via, callId, cseq: 1, fromTag, to: `sip:2002@${LOOPBACK}`, toTag }));
  const lineRtp = Number(/^m=audio (\d+)/m.exec(ok.body)?.[1]);
  const session = (line.backend as SipBackend).rtpOf(call) as RtpSession;
  let heard = 0;
  media.on('message', () => void heard++);
  let seq = 1;
  const audio = setInterval(() => void send(media, serializeRtp({ payloadType: 0, sequenceNumber: seq & 0xffff, timestamp: (seq++ * 160) >>> 0, ssrc: 0x5eed, payload: Buffer.alloc(160, 0xff) }), lineRtp), 20);
  await waitFor('audio both ways', () => session.stats().packetsReceived >= 10 && heard >= 10, 10_000);

  let cseq = 1;
  const methods = ['BYE', 'INVITE', 'INFO', 'OPTIONS', 'NOTIFY', 'ACK', 'UPDATE', 'MESSAGE', 'CANCEL', 'REFER'];
  const rss0 = process.memoryUsage().rss;
  const load0 = loadavg()[0];
  const t0 = Date.now();
  const invalid0 = session.stats().invalid + session.stats().rtcp;
  let rtpSent = 0;
  for (let i = 0; i < SIP; i++) {
    const method = methods[Math.floor(random() * methods.length)];
    const base =
      random() < 0.8
        ? buildRequest({ method, ruri: contact, via, callId, cseq: ++cseq, fromTag, to: `sip:2002@${LOOPBACK}`, toTag, contentType: 'application/dtmf-relay', body: 'Signal=5\r\nDuration=100\r\n' })
        : buildRequest({ method, ruri, via, callId: relay.own(), cseq: 1 + Math.floor(random() * 1000), to: `sip:2002@${LOOPBACK}`, contentType: 'application/sdp', body: sdpOffer(LOOPBACK, 40000) });
    await relay.send(Buffer.from(mutate(base, random).text, 'latin1'));
    if (rtpSent < RTP && random() < RTP / Math.max(1, SIP)) {
      await send(media, malformedRtp(random), lineRtp);
      rtpSent++;
    }
    if (i % 50 === 0) await sleep(5);
  }
  for (; rtpSent < RTP; rtpSent++) {
    await send(media, malformedRtp(random), lineRtp);
    if (rtpSent % 25 === 0) await sleep(5);
  }
  const barrageS = (Date.now() - t0) / 1000;
  // The line answers an OPTIONS sent after the barrage (three tries: the kernel may drop a datagram).
  let answers = false;
  for (let i = 0; i < 3 && !answers; i++) {
    const probe = relay.own();
    await relay.send(buildRequest({ method: 'OPTIONS', ruri, via, callId: probe, cseq: 1, to: `sip:2002@${LOOPBACK}` }));
    answers = (await relay.final(probe, 'OPTIONS', 5000).catch(() => undefined))?.status === 200;
  }
  const statuses = new Map<string, number>();
  for (;;) {
    const m = await relay.next(() => true, 200).catch(() => undefined);
    if (!m) break;
    const key = m.status !== undefined ? String(m.status) : `request ${m.method}`;
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
  }
  const rx0 = session.stats().packetsReceived;
  const heard0 = heard;
  await sleep(1000);
  const audioFlows = session.stats().packetsReceived - rx0 >= 25 && heard - heard0 >= 25;
  const stats = session.stats();
  const result = {
    seed: SEED,
    sipSent: SIP,
    rtpSent: RTP,
    barrageS: Number(barrageS.toFixed(1)),
    /** Answers to requests whose Call-ID was left readable (the others' go to the sink, uncounted). */
    answersByStatus: Object.fromEntries([...statuses].sort()),
    rtpCountedMalformed: stats.invalid + stats.rtcp - invalid0,
    rtpTakenAsNewStream: stats.ssrcChanges,
    callStillUp: call.state === CallState.Active,
    answersOptionsAfter: answers,
    audioBothWaysAfter: audioFlows,
    warningLines: warnings.length,
    crashes: crashes.length,
    rssMiB: { before: (rss0 / 1048576).toFixed(1), after: (process.memoryUsage().rss / 1048576).toFixed(1) },
    machine: `${cpus().length} cores, load ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}`,
  };
  console.log(JSON.stringify(result, null, 2));
  for (const w of warnings.slice(0, 12)) console.error(`warning: ${w.slice(0, 200)}`);
  clearInterval(audio);
  await line.stop();
  media.close();
  relay.close();
  sink.close();
  process.exit(result.callStillUp && answers && audioFlows && crashes.length === 0 ? 0 : 1);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
