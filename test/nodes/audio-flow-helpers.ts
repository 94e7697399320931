/**
 * Fixtures of the voice-record and voice-play node tests: the node modules (with the five of
 * flow-helpers), a call answered on an emulated line, and the example flows loaded as the editor
 * would deploy them (debug nodes become test sinks).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import voiceRecord = require('../../nodes/voice-record');
import voicePlay = require('../../nodes/voice-play');
import { FlowNode, NODES, emulatorOf, helper, lineOf, waitFor, waitReady } from './flow-helpers';

export const AUDIO_NODES = [...NODES, voiceRecord, voicePlay];

// eslint-disable-next-line @typescript-eslint/no-require-imports
const CORE_NODES = ['common/20-inject.js', 'function/10-switch.js', 'function/89-delay.js', 'common/90-comment.js'].map((f) => require(`@node-red/nodes/core/${f}`));

/** Rings the line's emulator from `number` and answers the call; resolves with its id. */
export async function answeredCall(lineId: string, number = '5550100'): Promise<string> {
  await waitReady(lineId);
  emulatorOf(lineId).incomingCall(number);
  await waitFor('the incoming call', () => lineOf(lineId).activeCalls().length === 1);
  const call = await lineOf(lineId).answer();
  return call.id;
}

/** Loads examples/<file> (with `change` applied to each node); resolves with its line and its debug node ids. */
export async function loadExample(file: string, change: (n: FlowNode) => FlowNode = (n) => n): Promise<{ line: string; debug: string }> {
  const root = join(__dirname, '..', '..', '..');
  const nodes = JSON.parse(readFileSync(join(root, 'examples', file), 'utf8')) as FlowNode[];
  const tab = 'examples-tab';
  const flow: FlowNode[] = [
    { id: tab, type: 'tab', label: file },
    ...nodes.map((n) => change(n.type === 'debug' ? { id: n.id, type: 'helper', z: tab } : n.type === 'voice-line' ? n : { ...n, z: tab })),
  ];
  await helper.load([...AUDIO_NODES, ...CORE_NODES], flow);
  const line = nodes.find((n) => n.type === 'voice-line')!.id;
  await waitReady(line);
  return { line, debug: nodes.find((n) => n.type === 'debug')!.id };
}
