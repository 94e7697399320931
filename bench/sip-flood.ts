/**
 * bench/sip-flood: an INVITE flood past `maxCalls` (docs/reliability.md, "Flood").
 *
 * A SIP line (lib/ VoiceLine, trunk mode, `maxCalls` 20) with SIPp as its server; SIPp places
 * calls at `--rate` calls per second for `--secs` s. The line answers every call it offers (up to
 * 20 at once) and SIPp hangs up each after `--hold` ms; the rest must be refused 486 and nothing
 * else. The media of the answered calls goes to a UDP sink in this process.
 *
 * Reported: SIPp's successful / failed calls, the line's answered calls and 486 refusals, the most
 * calls at once, the heap and RSS before, at the peak and after (after GC, once the flood ended),
 * the warning lines written, and whether one more call right after the flood works.
 *
 * Run: `npm run bench:flood [-- --rate 185 --secs 10 --max-calls 20 --hold 2000 --settle 35000]`.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { VoiceLine } from '../lib/line/voice-line';
import { LOOPBACK, PeerProcess, havePeer, pickPorts, waitFor } from '../test/helpers/sip-peers';
import { parseSippCounts } from './sip-load/scenarios';

const argv = process.argv.slice(2);
const number = (name: string, fallback: number): number => {
  const i = argv.indexOf(`--${name}`);
  const n = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isFinite(n) || n <= 0) throw new TypeError(`--${name} must be a positive number`);
  return n;
};
const RATE = number('rate', 185);
const SECS = number('secs', 10);
const MAX_CALLS = number('max-calls', 20);
const HOLD_MS = number('hold', 2000);
/** How long after the flood memory is measured again. */
const SETTLE_MS = number('settle', 35_000);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number): string => (bytes / 1048576).toFixed(1);

/**
 * INVITE; 486 → ACK (same transaction: the 486's Via, RFC 3261 §17.1.1.3) and done; 200 → ACK,
 * hold, BYE. Anything else fails the call in SIPp's count.
 */
function floodScenario(holdMs: number): string {
  const cdata = (t: string): string => `<![CDATA[${t}\n]]>`;
  const head = (method: string, cseq: string, to: string, via = 'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]'): string => `
${method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
${via}
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: ${to}
Call-ID: [call_id]
CSeq: ${cseq}
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70`;
  const invite = `${head('INVITE', '1 INVITE', '<sip:[service]@[remote_ip]:[remote_port]>')}
Content-Type: application/sdp
Content-Length: [len]

v=0
o=sipp 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [local_ip]
t=0 0
m=audio [$sinkport] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=sendrecv
`;
  const to = '<sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]';
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench sip-flood uac">
  <Global variables="sinkport" />
  <send retrans="500">${cdata(invite)}</send>
  <recv response="100" optional="true" />
  <recv response="180" optional="true" />
  <recv response="486" optional="true" next="1" />
  <recv response="200" />
  <send>${cdata(`${head('ACK', '1 ACK', to)}\nContent-Length: 0\n`)}</send>
  <pause milliseconds="${holdMs}" />
  <send retrans="500">${cdata(`${head('BYE', '2 BYE', to)}\nContent-Length: 0\n`)}</send>
  <recv response="200" next="2" />
  <label id="1" />
  <send>${cdata(`${head('ACK', '1 ACK', to, '[last_Via:]')}\nContent-Length: 0\n`)}</send>
  <label id="2" />
</scenario>
`;
}

async function main(): Promise<void> {
  if (!havePeer('sipp')) {
    console.error('bench/sip-flood needs SIPp (apt-get install sip-tester)');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'bench-sip-flood-'));
  const scenario = join(dir, 'flood.xml');
  writeFileSync(scenario, floodScenario(HOLD_MS));
  const sink = createSocket('udp4');
  sink.bind(0, LOOPBACK);
  await once(sink, 'listening');
  let rtpIn = 0;
  sink.on('message', () => void rtpIn++);
  const base = await pickPorts(2);
  const [linePort, sippPort] = [base, base + 1];
  const counts = { warnings: [] as string[], refused486: 0, otherRefusals: [] as string[], answered: 0, answerErrors: 0, firstMs: 0, lastMs: 0 };
  const offered = (): void => {
    counts.firstMs ||= Date.now();
    counts.lastMs = Date.now();
  };
  const log = {
    debug: () => undefined,
    info: (t: string) => {
      if (/refused a call .* with 486/.test(t)) counts.refused486++;
      else if (/refused a call/.test(t)) counts.otherRefusals.push(t);
      if (/refused a call/.test(t)) offered();
    },
    warn: (t: string) => void counts.warnings.push(t),
    error: (t: string) => void counts.warnings.push(t),
  };
  const line = new VoiceLine(
    { id: 'flood', backend: 'sip', server: `${LOOPBACK}:${sippPort}`, transport: 'udp', username: '1001', register: false, localPort: linePort, localAddress: LOOPBACK, rtpPortMin: 40000, rtpPortMax: 40999, maxCalls: MAX_CALLS },
    { log },
  );
  line.on('event', (e: { topic: string; call?: { id: string } }) => {
    if (e.topic !== 'incoming' && e.topic !== 'waiting') return;
    offered();
    line.answer(e.call?.id).then(
      () => void counts.answered++,
      () => void counts.answerErrors++,
    );
  });
  await line.start();
  await waitFor('line ready', () => line.status.state === 'ready', 15_000);

  const sipp = (rate: number, calls: number): PeerProcess =>
    new PeerProcess('sipp', 'sipp', ['-sf', scenario, '-i', LOOPBACK, '-p', String(sippPort), '-r', String(rate), '-m', String(calls), '-l', '100000', '-s', '1001', '-set', 'sinkport', String(sink.address().port), '-nostdin', '-timeout', `${SECS + HOLD_MS / 1000 + 60}s`, '-max_socket', '100', `${LOOPBACK}:${linePort}`], dir);

  gc();
  await sleep(200);
  const before = process.memoryUsage();
  const load0 = loadavg()[0];
  const calls = Math.round(RATE * SECS);
  console.error(`flood: ${calls} INVITEs at ${RATE}/s against maxCalls ${MAX_CALLS}, each answered call held ${HOLD_MS} ms; ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const t0 = Date.now();
  const flood = sipp(RATE, calls);
  let peak = 0;
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  while (flood.running) {
    peak = Math.max(peak, line.activeCalls().length);
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    await sleep(100);
  }
  await flood.exited;
  const wallS = (Date.now() - t0) / 1000;
  const floodCounts = parseSippCounts(flood.output.join(''));
  const floodCps = ((counts.refused486 + counts.answered - 1) * 1000) / Math.max(1, counts.lastMs - counts.firstMs);
  await waitFor('every call ended', () => line.activeCalls().length === 0, 30_000).catch(() => undefined);
  // sip.js keeps an INVITE server transaction after its 486 until the ACK, then 5 s (Timer I), and a
  // non-INVITE one 32 s (Timer J): memory "after" is taken once they are gone.
  await sleep(SETTLE_MS);
  gc();
  await sleep(200);
  gc();
  const after = process.memoryUsage();

  // One more call, right after.
  const answeredBefore = counts.answered;
  const one = sipp(1, 1);
  await one.exited;
  const oneCounts = parseSippCounts(one.output.join(''));
  const afterWorks = oneCounts?.successful === 1 && counts.answered === answeredBefore + 1;

  const result = {
    invites: calls,
    rate: RATE,
    offeredCps: Number(floodCps.toFixed(1)),
    maxCalls: MAX_CALLS,
    sippSuccessful: floodCounts?.successful ?? null,
    sippFailed: floodCounts?.failed ?? null,
    answered: answeredBefore,
    refused486: counts.refused486,
    otherRefusals: counts.otherRefusals.length,
    answerErrors: counts.answerErrors,
    peakCalls: peak,
    heapMiB: { before: mib(before.heapUsed), peak: mib(peakHeap), after: mib(after.heapUsed) },
    rssMiB: { before: mib(before.rss), peak: mib(peakRss), after: mib(after.rss) },
    warningLines: counts.warnings.length,
    rtpPacketsToSink: rtpIn,
    callRightAfterWorks: afterWorks,
    loadAverage1m: { start: Number(load0.toFixed(1)), end: Number(loadavg()[0].toFixed(1)) },
    wallS: Number(wallS.toFixed(1)),
  };
  console.log(JSON.stringify(result, null, 2));
  for (const r of counts.otherRefusals.slice(0, 5)) console.error(`other refusal: ${r}`);
  for (const w of counts.warnings.slice(0, 8)) console.error(`warning: ${w.slice(0, 240)}`);
  await line.stop();
  sink.close();
  rmSync(dir, { recursive: true, force: true });
  const ok = afterWorks && result.sippFailed === 0 && result.otherRefusals === 0 && result.peakCalls <= MAX_CALLS && result.answered + result.refused486 >= calls;
  process.exit(ok ? 0 : 1);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
