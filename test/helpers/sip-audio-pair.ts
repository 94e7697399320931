/**
 * Two SIP VoiceLines in one process, each in trunk mode with the other as its "server", on 127.0.0.1
 * (as test/integration/sip-loopback.test.ts), with a call between them: for the call audio tests.
 */
import { randomInt } from 'node:crypto';
import assert from 'node:assert/strict';
import type { Call } from '../../lib/call/call';
import { LineConfig, VoiceLine } from '../../lib/line/voice-line';
import type { RtpMedia } from '../../lib/media-engine/rtp-media';
import type { SipBackend } from '../../lib/sip/sip-backend';
import { memoryLog } from './at-harness';
import { EventLog } from './event-log';
import { pickPorts, waitFor } from './sip-peers';
import { sipLine } from './sip-line';

export const WAIT_MS = 20_000;

export interface SipAudioPair {
  a: VoiceLine;
  b: VoiceLine;
  evA: EventLog;
  evB: EventLog;
  log: ReturnType<typeof memoryLog>;
  stop(): Promise<void>;
}

/** Lines A (1001) and B (2002), started and ready. */
export async function startPair(extra: Partial<LineConfig> = {}): Promise<SipAudioPair> {
  const log = memoryLog();
  const base = await pickPorts(2);
  const rtp = 30000 + 32 * randomInt(0, 300);
  const a = sipLine('line-a', '1001', base, base + 1, rtp, log, extra);
  const b = sipLine('line-b', '2002', base + 1, base, rtp + 16, log, extra);
  const evA = new EventLog(a, WAIT_MS);
  const evB = new EventLog(b, WAIT_MS);
  await Promise.all([a.start(), b.start()]);
  await waitFor('both lines ready', () => a.backend?.ready === true && b.backend?.ready === true, WAIT_MS);
  return { a, b, evA, evB, log, stop: async () => void (await Promise.all([a.stop(), b.stop()])) };
}

/** A dials B, B answers: the call on each side, once both are answered. */
export async function connect(p: SipAudioPair): Promise<{ callA: Call; callB: Call }> {
  const callA = await p.a.dial('2002');
  const incoming = await p.evB.next('incoming');
  const callB = await p.b.answer(incoming.call?.id);
  await Promise.all([p.evA.next('answered'), p.evB.next('answered')]);
  return { callA, callB };
}

/** A call's media on a SIP line (in this thread or a media worker). */
export function rtpOf(line: VoiceLine, call: Call): RtpMedia {
  const rtp = (line.backend as SipBackend).rtpOf(call);
  assert.ok(rtp, `${line.id} has the call's media`);
  return rtp;
}

/** Collects what `rtp` decodes for `ms`. */
export async function hear(rtp: RtpMedia, ms: number): Promise<Int16Array> {
  const chunks: Int16Array[] = [];
  const on = (samples: Int16Array): void => void chunks.push(Int16Array.from(samples));
  rtp.on('audio', on);
  await new Promise((r) => setTimeout(r, ms));
  rtp.off('audio', on);
  const all = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) all.set(c, (at += c.length) - c.length);
  return all;
}
