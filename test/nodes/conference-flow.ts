/**
 * voice-conference flows (test/nodes/voice-conference*.test.ts): two SIP line nodes on 127.0.0.1
 * (A dials B, media in the main thread), and calls from A answered on B.
 */
import { randomInt } from 'node:crypto';
import type { VoiceLine } from '../../lib/line/voice-line';
import { pickPorts } from '../helpers/sip-peers';
import type { FlowNode } from './flow-helpers';

/** The line nodes `A` (1001) and `B` (2002), each the other's server. */
export async function twoSipLineNodes(): Promise<FlowNode[]> {
  const base = await pickPorts(2);
  const rtp = 30000 + 32 * randomInt(0, 300);
  const sipLine = (id: string, username: string, port: number, peer: number, rtpMin: number): FlowNode => ({
    id, type: 'voice-line', name: `line ${username}`, backend: 'sip', server: `127.0.0.1:${peer}`, transport: 'udp', mediaWorkers: 0,
    username, domain: '', register: false, localPort: port, rtpPortMin: rtpMin, rtpPortMax: rtpMin + 15, autoAnswer: 0, autoReject: false, callWaiting: 'off',
  });
  return [sipLine('A', '1001', base, base + 1, rtp), sipLine('B', '2002', base + 1, base, rtp + 16)];
}

/** `n` calls from `a` to 2002, answered on `b`: their ids on `b`. */
export async function answeredCalls(a: VoiceLine, b: VoiceLine, n: number): Promise<string[]> {
  const calls: string[] = [];
  for (let i = 0; i < n; i++) {
    const dialled = a.dial('2002');
    const ringing = await new Promise<string>((resolve) => {
      const on = (e: { topic: string; call?: { id: string } }): void => {
        if (e.topic !== 'incoming' || !e.call) return;
        b.off('event', on);
        resolve(e.call.id);
      };
      b.on('event', on);
    });
    await b.answer(ringing);
    await dialled;
    calls.push(ringing);
  }
  return calls;
}
