/**
 * The load side of bench/sip-load alone, without SIP: K RTP peers (rtp-peer.ts, child processes)
 * send N streams in all to one `sipp -sn uas -rtp_echo` and time the echoes, for S seconds. It says
 * what the peer costs (CPU per packet, sent + received), whether the reference path (peer → SIPp's
 * echo → peer) loses packets or delays them at a number of streams, and where: the echo socket's
 * drops are read from /proc/net/udp. docs/benchmarks.md, "The load side", has the figures.
 *
 * Run: `node dist/bench/sip-load/load-side.js [--streams 500,1000] [--procs 1,2] [--phases 1,10]
 * [--secs 10]` (every combination, one after another).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { LOOPBACK, PeerProcess, havePeer, pickPorts, portFree, waitFor } from '../../test/helpers/sip-peers';
import { RtpLoadPeer, PeerReport } from './rtp-peer';
import { CpuMeter } from './proc-stat';

const PCAP = '/usr/share/sip-tester/g711a.pcap';
const argv = process.argv.slice(2);
const list = (name: string, fallback: number[]): number[] => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = (argv[i + 1] ?? '').split(',').map(Number);
  if (v.some((n) => !Number.isInteger(n) || n <= 0)) throw new TypeError(`--${name} must be whole numbers, comma-separated`);
  return v;
};
const STREAMS = list('streams', [500, 1000]);
const PROCS = list('procs', [1, 2]);
const PHASES = list('phases', [1, 10]);
const SECS = list('secs', [10])[0];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Packets the kernel dropped at a UDP socket bound to 127.0.0.1:port (its receive buffer full). */
function socketDrops(port: number): number | null {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const line = readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .find((l) => l.includes(`0100007F${hex}`));
  return line ? Number(line.trim().split(/\s+/)[12]) : null;
}

interface Row {
  streams: number;
  procs: number;
  phases: number;
  report: Pick<PeerReport, 'sent' | 'received' | 'expected' | 'lost' | 'cpuMs'> & { jitterP99: number; lateP99: number; lateMax: number; late: number; lateSamples: number; selfLateMax: number };
  echoDrops: number | null;
  /** The same at the peers' own sockets. */
  peerDrops: number;
  cpu: Record<string, number>;
  machine: number;
  others: number;
  load: string;
}

async function run(streams: number, procs: number, phases: number): Promise<Row> {
  // SIPp's -rtp_echo binds the media port and the one 2 above (video).
  const base = await pickPorts(6 + 2 * procs);
  const [sipPort, echoPort] = [base, base + 2];
  const uas = new PeerProcess('sipp-echo', 'sipp', ['-sn', 'uas', '-rtp_echo', '-i', LOOPBACK, '-p', String(sipPort), '-mp', String(echoPort), '-nostdin']);
  const peers: RtpLoadPeer[] = [];
  try {
    // SIPp is up once its SIP port is taken (it binds the echo port before).
    await waitFor('SIPp echo bound', async () => !(await portFree(sipPort)), 10_000, () => uas.running);
    await sleep(300);
    for (let k = 0; k < procs; k++) peers.push(await RtpLoadPeer.start(base + 6 + 2 * k, PCAP, phases));
    await Promise.all(peers.map((p) => p.report()));
    const drops0 = socketDrops(echoPort) ?? 0;
    const peerDrops0 = peers.reduce((a, p) => a + (socketDrops(p.port) ?? 0), 0);
    const pids: Record<string, number | undefined> = { 'sipp echo': uas.pid };
    peers.forEach((p, k) => (pids[`peer ${k + 1}`] = p.pid));
    const meter = new CpuMeter(pids, cpus().length);
    for (let k = 0; k < procs; k++) await peers[k].originate(LOOPBACK, echoPort, Math.floor(streams / procs) + (k < streams % procs ? 1 : 0));
    for (let t = 0; t < SECS * 4; t++) {
      await sleep(250);
      meter.sample();
    }
    await Promise.all(peers.map((p) => p.stopOriginate()));
    await sleep(600);
    const split = meter.split();
    const reports = await Promise.all(peers.map((p) => p.report()));
    const sum = (f: (r: PeerReport) => number) => reports.reduce((a, r) => a + f(r), 0);
    const echoDrops = socketDrops(echoPort);
    const peerDrops = peers.reduce((a, p) => a + (socketDrops(p.port) ?? 0), 0) - peerDrops0;
    return {
      streams,
      procs,
      phases,
      report: {
        sent: sum((r) => r.sent),
        received: sum((r) => r.received),
        expected: sum((r) => r.expected),
        lost: sum((r) => r.lost),
        cpuMs: sum((r) => r.cpuMs),
        jitterP99: Math.max(...reports.map((r) => r.jitter.p99Ms)),
        lateP99: Math.max(...reports.map((r) => r.lateness.p99Ms)),
        lateMax: Math.max(...reports.map((r) => r.lateness.maxMs)),
        late: sum((r) => r.lateness.overLimit),
        selfLateMax: Math.max(...reports.map((r) => r.selfLate.maxMs)),
        lateSamples: sum((r) => r.lateness.samples),
      },
      echoDrops: echoDrops === null ? null : echoDrops - drops0,
      peerDrops,
      cpu: split.processes,
      machine: split.machine,
      others: split.others,
      load: loadavg().map((l) => l.toFixed(1)).join(' '),
    };
  } finally {
    for (const p of peers) p.stop();
    await uas.stop();
  }
}

async function main(): Promise<void> {
  if (!havePeer('sipp')) {
    console.error('needs SIPp (apt-get install sip-tester)');
    process.exit(2);
  }
  const rows: Row[] = [];
  for (const streams of STREAMS) {
    for (const procs of PROCS) {
      for (const phases of PHASES) {
        const r = await run(streams, procs, phases);
        rows.push(r);
        process.stderr.write(`${streams} streams, ${procs} peer process(es), ${phases} phase(s): loss ${((100 * r.report.lost) / Math.max(1, r.report.expected)).toFixed(3)} %, echo socket drops ${r.echoDrops}, load ${r.load}\n`);
      }
    }
  }
  console.log(`\nload side alone (RTP peers → sipp -rtp_echo → peers, ${SECS} s each), ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}\n`);
  console.log('| streams | peer processes | send phases per 20 ms | loss | dropped at SIPp\'s echo socket | dropped at the peers\' sockets | send jitter p99 (ms) | lateness vs grid p99 / max (ms) | late > 5 ms | peer timer late max (ms) | peer CPU (% of a core) | peer CPU per packet sent or received (µs) | SIPp echo CPU | machine busy (of 200 %) | others | load avg |');
  console.log(`|${'---|'.repeat(16)}`);
  for (const r of rows) {
    const peerCpu = Object.entries(r.cpu).filter(([k]) => k.startsWith('peer')).reduce((a, [, v]) => a + v, 0);
    const usPerPacket = (1000 * r.report.cpuMs) / Math.max(1, r.report.sent + r.report.received);
    console.log(
      `| ${r.streams} | ${r.procs} | ${r.phases} | ${((100 * r.report.lost) / Math.max(1, r.report.expected)).toFixed(3)} % | ${r.echoDrops ?? '—'} | ${r.peerDrops} | ${r.report.jitterP99} | ${r.report.lateP99} / ${r.report.lateMax} | ${r.report.late} of ${r.report.lateSamples} | ${r.report.selfLateMax} | ${peerCpu.toFixed(0)} | ${usPerPacket.toFixed(1)} | ${r.cpu['sipp echo']?.toFixed(0)} | ${r.machine.toFixed(0)} | ${r.others.toFixed(0)} | ${r.load} |`,
    );
  }
  process.exit(0);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
