/**
 * Conference tests on SIP lines (test/integration/conference-*.test.ts): two lines on 127.0.0.1, A
 * (the far ends) dialling B (the room), each with its own media setting; calls whose far end plays
 * a tone; the amplitude of a tone in what a far end heard.
 */
import { randomInt } from 'node:crypto';
import type { Call } from '../../lib/call/call';
import type { LineConfig } from '../../lib/line/voice-line';
import type { RtpMedia } from '../../lib/media-engine/rtp-media';
import { beep } from '../../lib/media/tone-generator';
import { powerAt } from './audio-spectrum';
import { memoryLog } from './at-harness';
import { EventLog } from './event-log';
import { connect, rtpOf, SipAudioPair, WAIT_MS } from './sip-audio-pair';
import { sipLine } from './sip-line';
import { pickPorts, waitFor } from './sip-peers';

/** The amplitude of `hz` in `samples` (a −20 dBFS tone is about 3300). */
export const amplitude = (samples: Int16Array, hz: number): number => (2 * Math.sqrt(powerAt(samples, hz))) / Math.max(1, samples.length);

export interface Party {
  /** B's side: the call in the room. */
  b: Call;
  /** A's side: the far end, which plays its tone and listens. */
  far: RtpMedia;
  hz: number;
}

/** A (the far ends) and B (the room), each with its own media setting. */
export async function startLines(a: Partial<LineConfig>, b: Partial<LineConfig>): Promise<SipAudioPair> {
  const log = memoryLog();
  const base = await pickPorts(2);
  const rtp = 30000 + 32 * randomInt(0, 300);
  const lineA = sipLine('line-a', '1001', base, base + 1, rtp, log, { ...a, callWaiting: 'off' });
  const lineB = sipLine('line-b', '2002', base + 1, base, rtp + 16, log, { ...b, callWaiting: 'off' });
  const pair = { a: lineA, b: lineB, evA: new EventLog(lineA, WAIT_MS), evB: new EventLog(lineB, WAIT_MS), log, stop: async () => void (await Promise.all([lineA.stop(), lineB.stop()])) };
  await Promise.all([lineA.start(), lineB.start()]);
  await waitFor('both lines ready', () => lineA.backend?.ready === true && lineB.backend?.ready === true, WAIT_MS);
  return pair;
}

/** One call A → B per tone; each far end plays its tone (−20 dBFS) for `ms`. */
export async function tonedCalls(p: SipAudioPair, tones: readonly number[], ms = 60_000): Promise<Party[]> {
  const out: Party[] = [];
  for (const hz of tones) {
    const { callA, callB } = await connect(p);
    const far = rtpOf(p.a, callA);
    far.play(beep(ms, hz, -20));
    out.push({ b: callB, far, hz });
  }
  return out;
}
