/**
 * A flow with every voice node type, deployed again and again through Node-RED's test helper, with
 * calls up at each redeploy; and the process figures that must stay flat across redeploys (active
 * handles by type, open files, sockets, the heap after GC). Used by test/nodes/redeploy-leak.test.ts
 * and bench/redeploy-soak.ts.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { getHeapCodeStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { VoiceLine } from '../../lib/line/voice-line';
import type { EmulatedModem } from '../../lib/at/emulator/emulated-modem';
import type { Call } from '../../lib/call/call';
import voiceLine = require('../../nodes/voice-line');
import voiceEvents = require('../../nodes/voice-events');
import voiceDial = require('../../nodes/voice-dial');
import voiceAnswer = require('../../nodes/voice-answer');
import voiceHangup = require('../../nodes/voice-hangup');
import voiceDtmf = require('../../nodes/voice-dtmf');
import voiceControl = require('../../nodes/voice-control');
import voiceForward = require('../../nodes/voice-forward');
import voiceRecord = require('../../nodes/voice-record');
import voicePlay = require('../../nodes/voice-play');

// The one test helper of the suite, on the Node-RED chosen for this Node (scripts/node-red-runtime.ts).
import { helper } from '../nodes/flow-helpers';
export { helper };

export const ALL_NODE_MODULES = [voiceLine, voiceEvents, voiceDial, voiceAnswer, voiceHangup, voiceDtmf, voiceControl, voiceForward, voiceRecord, voicePlay];

type FlowNode = Record<string, unknown> & { id: string; type: string };
type Msg = Record<string, unknown>;
interface RunningNode {
  line?: VoiceLine;
  receive(msg: Msg): void;
}

export interface RedeployPorts {
  /** Two consecutive free UDP/TCP ports on 127.0.0.1 for the two SIP lines' signalling. */
  sipBase: number;
  /** 32 consecutive free ports for RTP (16 per line). */
  rtpBase: number;
}

/**
 * The flow: an AT line on the emulator in demo mode (`sim:ec25?demo=1`, the `npm start` demo's kind
 * of line, on a module with a PCM port for streaming and playback), two SIP lines calling each other on loopback (trunk mode, no PBX), and every node type
 * on them: events, dial, answer, hangup, dtmf (send and gather), control, forward, record, play.
 */
export function everyNodeFlow(ports: RedeployPorts, recordFolder: string): FlowNode[] {
  const sip = (id: string, username: string, port: number, peer: number, rtp: number): FlowNode => ({
    id, type: 'voice-line', name: `sip ${username}`, backend: 'sip', server: `127.0.0.1:${peer}`, transport: 'udp', username,
    domain: '', register: false, localPort: port, rtpPortMin: rtp, rtpPortMax: rtp + 15, autoAnswer: 0, autoReject: false,
  });
  const node = (id: string, type: string, line: string, props: Record<string, unknown> = {}, outputs = 1): FlowNode => ({
    id, type, name: '', line, wires: Array.from({ length: outputs }, () => ['SINK']), ...props,
  });
  const { sipBase, rtpBase } = ports;
  return [
    { id: 'LA', type: 'voice-line', name: 'modem', backend: 'at', serialPort: 'sim:ec25?demo=1', baudRate: 115200, modem: 'auto', autoAnswer: 0, autoReject: false },
    sip('SA', '1001', sipBase, sipBase + 1, rtpBase),
    sip('SB', '2002', sipBase + 1, sipBase, rtpBase + 16),
    node('EV_A', 'voice-events', 'LA', { events: '' }),
    node('EV_S', 'voice-events', 'SB', { events: '' }),
    node('DIAL_A', 'voice-dial', 'LA', { number: '', ringTimeout: 30 }, 2),
    node('DIAL_S', 'voice-dial', 'SA', { number: '', ringTimeout: 30 }, 2),
    node('ANS_A', 'voice-answer', 'LA'),
    node('ANS_S', 'voice-answer', 'SB'),
    node('HUP', 'voice-hangup', 'LA', { cause: 'normal' }),
    node('DTMF', 'voice-dtmf', 'SA', { mode: 'send', digits: '', duration: 100 }),
    node('GATHER', 'voice-dtmf', 'SB', { mode: 'collect', maxDigits: 8, finishKey: '#', firstDigitTimeout: 30, interDigitTimeout: 10 }),
    node('CTRL', 'voice-control', 'LA', { action: 'set-volume', value: '5' }),
    node('FWD', 'voice-forward', 'LA', { mode: 'rule', reason: 'busy', forwardMode: 'register', number: '5550100' }),
    node('REC', 'voice-record', 'SB', { mode: 'both', format: 'wav', direction: 'both', chunkMs: 200, folder: recordFolder }),
    node('PLAY', 'voice-play', 'SA', { source: '' }),
    node('REC_A', 'voice-record', 'LA', { mode: 'both', format: 'wav', direction: 'rx', chunkMs: 200, folder: recordFolder }),
    node('PLAY_A', 'voice-play', 'LA', { source: '' }),
    { id: 'SINK', type: 'helper' },
  ];
}

function running(id: string): RunningNode {
  const n = helper.getNode(id) as RunningNode | null;
  if (!n) throw new Error(`node ${id} is not running`);
  return n;
}

function lineOf(id: string): VoiceLine {
  const line = running(id).line;
  if (!line) throw new Error(`line ${id} has no core line`);
  return line;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until<T>(what: string, probe: () => T | undefined | null | false, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Waits until the lines of the flow are ready. */
export async function linesReady(): Promise<void> {
  for (const id of ['LA', 'SA', 'SB']) {
    if (helper.getNode(id)) await until(`line ${id} ready`, () => lineOf(id).status.state === 'ready');
  }
}

/** The part of {@link everyNodeFlow} on the AT line (`at`) or the SIP lines (`sip`). */
export function flowPart(flow: FlowNode[], part: 'at' | 'sip'): FlowNode[] {
  const lines = part === 'at' ? ['LA'] : ['SA', 'SB'];
  return flow.filter((n) => n.type === 'helper' || lines.includes(n.id) || lines.includes(n.line as string));
}

/**
 * Puts calls up through the nodes, leaving them up: on the modem, an incoming call answered by
 * voice-answer, recorded (module file and PCM stream) while a beep plays into it, volume and a
 * forwarding rule set, a second call dialled (the first on hold) and ended by voice-hangup; on SIP, 1001 calls 2002, 2002 answers, gathers digits and records both legs while 1001
 * sends DTMF and plays a 3 s beep.
 */
export async function putCallsUp(): Promise<void> {
  if (helper.getNode('LA')) await putAtCallsUp();
  if (helper.getNode('SA')) await putSipCallsUp();
  await sleep(50); // the digits, the beep and the recording under way
}

async function putAtCallsUp(): Promise<void> {
  const at = lineOf('LA');
  const modem = (at.backend as unknown as { emulator: EmulatedModem | null }).emulator;
  if (!modem) throw new Error('the AT line runs no emulator');
  modem.incomingCall('5550001');
  const incoming = await until('the incoming AT call', () => at.activeCalls().find((c: Call) => c.state === 'incoming'));
  running('ANS_A').receive({ call: incoming.id });
  await until('the AT call answered', () => incoming.state === 'active');
  running('CTRL').receive({});
  running('FWD').receive({});
  running('REC_A').receive({ call: incoming.id }); // into the module's file, and streamed from its PCM port
  running('PLAY_A').receive({ call: incoming.id, payload: 'beep:3000' });
  await sleep(50);
  running('DIAL_A').receive({ payload: '5551408' }); // rings, never answered (the active call goes on hold)
  const dialled = await until('the AT call dialled', () => at.activeCalls().find((c: Call) => c.direction === 'outbound'));
  running('HUP').receive({ call: dialled.id });
}

async function putSipCallsUp(): Promise<void> {
  const a = lineOf('SA');
  const b = lineOf('SB');
  running('DIAL_S').receive({ payload: '2002' });
  const ringing = await until('the SIP call at 2002', () => b.activeCalls().find((c: Call) => c.state === 'incoming'));
  running('ANS_S').receive({ call: ringing.id });
  const caller = await until('the SIP call answered', () => a.activeCalls().find((c: Call) => c.state === 'active'));
  await until('2002 in the call', () => ringing.state === 'active');
  running('GATHER').receive({ call: ringing.id });
  running('REC').receive({ call: ringing.id });
  running('DTMF').receive({ call: caller.id, payload: '12' });
  running('PLAY').receive({ call: caller.id, payload: 'beep:3000' });
}

/**
 * A full deploy of `flow` (every node stopped and started again), then the lines up. Not
 * `helper.setFlows()`: it starts listening for `flows:started` only after the stop, and gives up
 * 300 ms later, which a loaded machine overruns.
 */
export async function redeploy(flow: FlowNode[]): Promise<void> {
  const events = helper._events as { once(e: string, f: () => void): void; off(e: string, f: () => void): void };
  let onStarted = (): void => undefined;
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the flows did not start again within 15 s')), 15_000);
    onStarted = () => {
      clearTimeout(timer);
      resolve();
    };
    events.once('flows:started', onStarted);
  });
  try {
    await helper._redNodes.setFlows(flow, {}, 'full');
    await started;
  } finally {
    events.off('flows:started', onStarted);
  }
  await linesReady();
}

export interface ProcessFigures {
  /** process.getActiveResourcesInfo(), counted by type (Timeout, UDPWRAP, TCPSocketWrap...). */
  handles: Record<string, number>;
  /** Entries of /proc/self/fd. */
  fds: number;
  /** Of them, sockets. */
  sockets: number;
  /** V8 heap used after a full GC, bytes. */
  heapUsed: number;
  /**
   * Of it, V8's compiled code, bytecode and their metadata (deoptimisation data, feedback...): it grows
   * while the JIT warms up and re-optimises, whatever the objects do.
   */
  code: number;
  /** heapUsed without {@link code}: the objects, where a leak would show. */
  objects: number;
  rss: number;
}

let gc: (() => void) | null = null;

/** A full garbage collection (V8's `gc()`, reachable without --expose-gc). */
export function collectGarbage(): void {
  if (!gc) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gc = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    }
  }
  gc();
}

/**
 * The figures, after letting pending callbacks settle and collecting garbage; the heap is the least of
 * three readings (one reading after a GC varies by ±150 KiB with what is in flight).
 */
export async function processFigures(): Promise<ProcessFigures> {
  // The test helper records every call of every node method (sinon spies): that history is the
  // harness's, not ours, and grows with each message.
  helper._sandbox?.resetHistory?.();
  await sleep(100);
  let heapUsed = Infinity;
  let code = 0;
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    await new Promise((r) => setImmediate(r));
    collectGarbage();
    const used = process.memoryUsage().heapUsed;
    if (used < heapUsed) {
      heapUsed = used;
      const c = getHeapCodeStatistics();
      code = c.code_and_metadata_size + c.bytecode_and_metadata_size;
    }
    await sleep(20);
  }
  const handles: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) handles[r] = (handles[r] ?? 0) + 1;
  let fds = 0;
  let sockets = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    fds++;
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // the fd of the directory listing itself, closed by now
    }
  }
  return { handles, fds, sockets, heapUsed, code, objects: heapUsed - code, rss: process.memoryUsage().rss };
}

/** `{Timeout: +3}`: the handle types whose count changed. */
export function handleGrowth(before: ProcessFigures, after: ProcessFigures): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(before.handles), ...Object.keys(after.handles)])) {
    const d = (after.handles[k] ?? 0) - (before.handles[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}
