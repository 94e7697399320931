/**
 * bench/at-latency: what the package adds to the latency of a modem, measured through a real serial
 * port (a socat pseudo-terminal pair, opened with serialport's native binding) and a Node-RED runtime
 * in this process (node-red-node-test-helper):
 *
 * - URC → message: from the last byte of a call-state URC (`^DSCI: ...` held / active) written to the
 *   module's end of the pty, to the message leaving `voice-events` (its `send` call);
 * - message → ATD: from a msg given to `voice-dial` to the last byte of `ATD<n>;` arriving at the
 *   module's end.
 *
 * Beside each, the floor: the same bytes written and read across the same kind of pty by a bare
 * script (serialport on both ends, no package). The built-in emulator is on the module's end and
 * answers the commands; the URCs of the first measure are written by the bench itself.
 *
 * Run: `npm run bench:at` (builds, then runs dist/bench/at-latency.js). Options: `--samples N`
 * (default 300, at least 200), `--warmup N` (default 30, not counted).
 */
import { SerialPort } from 'serialport';
import { EmulatedModem } from '../lib/at/emulator/emulated-modem';
import type { VoiceLine } from '../lib/line/voice-line';
import { haveSocat, ptyPair, PtyPair } from '../test/helpers/pty-pair';
import voiceLine = require('../nodes/voice-line');
import voiceEvents = require('../nodes/voice-events');
import voiceDial = require('../nodes/voice-dial');
import { chooseNodeRed } from '../scripts/node-red-runtime';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface RedNode {
  send(msg: unknown): void;
  receive(msg: Msg): void;
  on(event: string, fn: (msg: Msg) => void): void;
  line?: VoiceLine;
}

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const n = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`--${name} must be a whole number`);
  return n;
};
const SAMPLES = Math.max(200, arg('samples', 300));
const WARMUP = arg('warmup', 30);

const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function openPort(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const p = new SerialPort({ path, baudRate: 115200 }, (err) => (err ? reject(err) : resolve(p)));
  });
}

function closePort(p: SerialPort): Promise<void> {
  return new Promise((resolve) => (p.isOpen ? p.close(() => resolve()) : resolve()));
}

/** Resolves with the time at which `port` has received `text` (from the moment this is called). */
function whenReceived(port: SerialPort, text: string, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      port.off('data', onData);
      reject(new Error(`"${text.trim()}" did not arrive`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('latin1');
      if (!seen.includes(text)) return;
      const t = now();
      clearTimeout(timer);
      port.off('data', onData);
      resolve(t);
    };
    port.on('data', onData);
  });
}

/**
 * Runs `sample` warm-up + SAMPLES times, `gapMs` apart; returns the SAMPLES durations in ms. The gap
 * lets the line finish what the previous sample started (the AT+CLCC after a call ended), so that each
 * sample measures a message on an idle line, not one queued behind another command.
 */
async function measure(name: string, sample: () => Promise<number>, gapMs = 5): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const ms = await sample();
    if (i >= WARMUP) out.push(ms);
    await sleep(gapMs);
  }
  process.stderr.write(`  ${name}: ${out.length} samples\n`);
  return out;
}

interface Stats {
  median: number;
  p99: number;
}

function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return { median: at(0.5), p99: at(0.99) };
}

const URC_HELD = '^DSCI: 1,0,1,0,"5551234",129';
const URC_ACTIVE = '^DSCI: 1,0,3,0,"5551234",129';
const DIAL = 'ATD5551234;\r';

/** The floor: the same bytes across a pty, written and read by a bare script. */
async function floor(): Promise<{ urc: number[]; dial: number[] }> {
  const pair = await ptyPair();
  const host = await openPort(pair.a);
  const modem = await openPort(pair.b);
  try {
    const urc = await measure('floor, URC', async () => {
      const line = `\r\n${URC_HELD}\r\n`;
      const arrived = whenReceived(host, line);
      const t0 = now();
      modem.write(line);
      return (await arrived) - t0;
    });
    const dial = await measure('floor, ATD', async () => {
      const arrived = whenReceived(modem, DIAL);
      const t0 = now();
      host.write(DIAL);
      return (await arrived) - t0;
    });
    return { urc, dial };
  } finally {
    await closePort(host);
    await closePort(modem);
    await pair.close();
  }
}

/** The package: a Node-RED flow (voice-line, voice-events, voice-dial) on one end, the emulator on the other. */
async function withPackage(): Promise<{ urc: number[]; dial: number[] }> {
  const pair: PtyPair = await ptyPair();
  const modemPort = await openPort(pair.b);
  const modem = new EmulatedModem('ec600n', {
    timing: { alertAfter: 20, answerAfter: 20, noAnswerAfter: 200, ringInterval: 3000, commandDelay: 0, bootTime: 30 },
  });
  const detach = modem.attach(modemPort);
  helper.init(chooseNodeRed().main);
  await new Promise<void>((resolve) => helper.startServer(resolve));
  const flow = [
    { id: 'L', type: 'voice-line', name: 'bench', backend: 'at', serialPort: pair.a, baudRate: 115200, modem: 'auto', autoAnswer: 0, autoReject: false },
    { id: 'E', type: 'voice-events', name: '', line: 'L', wires: [['H']] },
    { id: 'D', type: 'voice-dial', name: '', line: 'L', wires: [['A'], ['N']] },
    { id: 'H', type: 'helper' },
    { id: 'A', type: 'helper' },
    { id: 'N', type: 'helper' },
  ];
  try {
    await helper.load([voiceLine, voiceEvents, voiceDial], flow);
    const line = (helper.getNode('L') as RedNode).line!;
    const events = helper.getNode('E') as RedNode;
    // "Leaving voice-events": the node's own send call, before Node-RED routes the message.
    let waiting: { topic: string; evidence: string; resolve: (t: number) => void } | null = null;
    const send = events.send.bind(events);
    events.send = (msg: unknown): void => {
      const t = now();
      const m = msg as Msg;
      if (waiting && m.topic === waiting.topic && m.payload?.evidence === waiting.evidence) {
        waiting.resolve(t);
        waiting = null;
      }
      send(msg);
    };
    for (let i = 0; i < 400 && line.status.state !== 'ready'; i++) await sleep(25);
    if (line.status.state !== 'ready') throw new Error(`the line did not come up: ${line.status.text}`);

    // A call to hold and resume by URC.
    const dialled = await line.dialAndWait('5551234');
    if (!dialled.answered) throw new Error('the bench call was not answered');
    const urc = await measure('package, URC → voice-events', () => {
      const held = line.activeCalls()[0]?.state === 'held';
      const evidence = held ? URC_ACTIVE : URC_HELD;
      const topic = held ? 'resumed' : 'held';
      const out = new Promise<number>((resolve) => (waiting = { topic, evidence, resolve }));
      const t0 = now();
      modemPort.write(`\r\n${evidence}\r\n`);
      return Promise.race([out.then((t) => t - t0), sleep(5000).then(() => Promise.reject(new Error(`no ${topic} message`)))]);
    });
    await line.hangup(dialled.call.id);
    await sleep(100);

    // Dials that the far end refuses at once (busy), so that each sample starts from an idle line.
    modem.setDialBehaviour('busy');
    const dialNode = helper.getNode('D') as RedNode;
    const notAnswered = helper.getNode('N') as RedNode;
    const dial = await measure('package, voice-dial → ATD', async () => {
      const ended = new Promise<void>((resolve) => notAnswered.on('input', () => resolve()));
      const arrived = whenReceived(modemPort, DIAL);
      const t0 = now();
      dialNode.receive({ payload: '5551234' });
      const t1 = await arrived;
      await ended;
      return t1 - t0;
    }, 40);
    return { urc, dial };
  } finally {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    detach();
    modem.close();
    await closePort(modemPort);
    await pair.close();
  }
}

async function main(): Promise<void> {
  if (!haveSocat()) {
    console.error('bench:at needs socat (apt-get install socat)');
    process.exit(2);
  }
  process.stderr.write(`bench:at — ${SAMPLES} samples each (after ${WARMUP} warm-up)\n`);
  const base = await floor();
  const pkg = await withPackage();
  const row = (what: string, f: number[], p: number[]): string => {
    const a = stats(f);
    const b = stats(p);
    const ms = (x: number): string => x.toFixed(3);
    return `| ${what} | ${ms(a.median)} | ${ms(a.p99)} | ${ms(b.median)} | ${ms(b.p99)} | ${ms(b.median - a.median)} |`;
  };
  console.log('| path | floor median (ms) | floor p99 (ms) | package median (ms) | package p99 (ms) | added at the median (ms) |');
  console.log('|---|---|---|---|---|---|');
  console.log(row('URC on the wire → message leaving voice-events', base.urc, pkg.urc));
  console.log(row('msg into voice-dial → ATD on the wire', base.dial, pkg.dial));
  process.exit(0);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
