/**
 * Shared fixtures of the node tests: Node-RED's test helper, the five node modules (compiled, from
 * dist/nodes), flow builders and small waits. The lines run on the built-in emulator (`sim:` ports).
 */
import assert from 'node:assert/strict';
import type { VoiceLine } from '../../lib/line/voice-line';
import type { EmulatedModem } from '../../lib/at/emulator/emulated-modem';
import voiceLine = require('../../nodes/voice-line');
import voiceEvents = require('../../nodes/voice-events');
import voiceDial = require('../../nodes/voice-dial');
import voiceAnswer = require('../../nodes/voice-answer');
import voiceHangup = require('../../nodes/voice-hangup');
import { chooseNodeRed } from '../../scripts/node-red-runtime';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper');
helper.init(chooseNodeRed().main);

export const NODES = [voiceLine, voiceEvents, voiceDial, voiceAnswer, voiceHangup];

export type FlowNode = Record<string, unknown> & { id: string; type: string };
export type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A running node as the tests see it (Node-RED's Node, loosely). */
export interface TestNode {
  id: string;
  line?: VoiceLine;
  on(event: string, fn: (arg: any) => void): void; // eslint-disable-line @typescript-eslint/no-explicit-any
  receive(msg: Msg): void;
}

export const ALL_EVENTS = [
  'incoming', 'dialing', 'ringing', 'early-media', 'answered', 'held', 'resumed', 'waiting', 'dtmf', 'transfer',
  'ended', 'line-up', 'line-down', 'registered', 'unregistered', 'registration-failed',
];

export function lineNode(id: string, props: Record<string, unknown> = {}): FlowNode {
  return { id, type: 'voice-line', name: 'test line', backend: 'at', serialPort: 'sim:ec600n', baudRate: 115200, modem: 'auto', autoAnswer: 0, autoReject: false, ...props };
}

/** A node of `type` using line `line`, wired to `wires` (one array per output). */
export function voiceNode(id: string, type: string, line: string, wires: string[][], props: Record<string, unknown> = {}): FlowNode {
  return { id, type, name: '', line, wires, ...props };
}

export function sink(id: string): FlowNode {
  return { id, type: 'helper' };
}

export function getNode(id: string): TestNode {
  const node = helper.getNode(id) as TestNode | null;
  assert.ok(node, `node ${id} is running`);
  return node;
}

export function lineOf(lineId: string): VoiceLine {
  const line = getNode(lineId).line;
  assert.ok(line, `config node ${lineId} made a line`);
  return line;
}

/** The emulated module behind a `sim:` line (there once the line has opened its port). */
export function emulatorOf(lineId: string): EmulatedModem {
  const backend = lineOf(lineId).backend as unknown as { emulator: EmulatedModem | null } | null;
  assert.ok(backend?.emulator, 'the line runs on the emulator');
  return backend.emulator;
}

/** Polls `check` until it is true, or fails after `ms`. */
export async function waitFor(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function waitReady(lineId: string): Promise<void> {
  return waitFor(`line ${lineId} ready`, () => lineOf(lineId).status.state === 'ready', 8000);
}

/** Every message a helper node receives, in order, and a way to wait for the next that matches. */
export class Inbox {
  readonly messages: Msg[] = [];
  constructor(id: string) {
    getNode(id).on('input', (msg: Msg) => this.messages.push(msg));
  }

  async next(what: string, match: (msg: Msg) => boolean = () => true, ms = 8000): Promise<Msg> {
    let found: Msg | undefined;
    await waitFor(what, () => (found = this.messages.find(match)) !== undefined, ms);
    return found as Msg;
  }

  topics(): string[] {
    return this.messages.map((m) => m.topic as string);
  }
}

export interface Status {
  fill?: string;
  shape?: string;
  text?: string;
}

/** The arguments of every call of a Node method on node `id` since the flow was loaded (the helper spies on them). */
function callsOf(method: 'status' | 'error', id: string): unknown[][] {
  const spy = helper._NodePrototype[method] as { getCalls(): { thisValue: { id?: string } | null; args: unknown[] }[] };
  return spy
    .getCalls()
    .filter((c) => c.thisValue?.id === id)
    .map((c) => c.args);
}

/** Every status node `id` has shown, in order. */
export function statusesOf(id: string): Status[] {
  return callsOf('status', id).map((args) => args[0] as Status);
}

export function lastStatus(id: string): Status | undefined {
  return statusesOf(id).at(-1);
}

/** The errors node `id` reported (`done(err)` ends in `node.error(err, msg)`), in order. */
export function errorsOf(id: string): Error[] {
  return callsOf('error', id).map((args) => args[0] as Error);
}

/** Waits for the first error of node `id`. */
export async function nextError(id: string): Promise<Error> {
  await waitFor(`an error from ${id}`, () => errorsOf(id).length > 0);
  return errorsOf(id)[0];
}
