/**
 * Conference rooms on two SIP lines on 127.0.0.1 (test/integration/conference-*.test.ts): line A
 * dials line B once per party; B's calls go into rooms; each far end on A plays its own tone and
 * what it hears is checked by frequency (Goertzel).
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { Call } from '../../lib/call/call';
import type { RoomEvent } from '../../lib/conference/rooms';
import type { LineConfig } from '../../lib/line/voice-line';
import type { RtpMedia } from '../../lib/media-engine/rtp-media';
import { beep } from '../../lib/media/tone-generator';
import { memoryLog } from './at-harness';
import { powerAt } from './audio-spectrum';
import { EventLog } from './event-log';
import { connect, hear, rtpOf, SipAudioPair, WAIT_MS } from './sip-audio-pair';
import { sipLine } from './sip-line';
import { pickPorts, waitFor } from './sip-peers';

/** The tones of the parties, one each. */
export const TONES = [500, 900, 1300];
/** The amplitude of `hz` in `samples` (a −20 dBFS tone is about 3300). */
export const amplitude = (samples: Int16Array, hz: number): number => (2 * Math.sqrt(powerAt(samples, hz))) / Math.max(1, samples.length);
export const HEARD = 1000;
export const NOT_HEARD = 60;

export interface Party {
  /** B's side: the call in the room. */
  b: Call;
  /** A's side: the far end, which plays its tone and listens. */
  far: RtpMedia;
  hz: number;
}

/** What each far end hears for `ms`, as the amplitude of each of `tones`. */
export async function listen(parties: Party[], ms = 1000, tones = TONES): Promise<Array<Record<number, number>>> {
  const heard = await Promise.all(parties.map((p) => hear(p.far, ms)));
  return heard.map((s) => Object.fromEntries(tones.map((hz) => [hz, Math.round(amplitude(s, hz))])));
}

export function assertHears(what: Record<number, number>, who: string, heard: number[], notHeard: number[]): void {
  for (const hz of heard) assert.ok(what[hz] > HEARD, `${who} hears ${hz} Hz: ${JSON.stringify(what)}`);
  for (const hz of notHeard) assert.ok(what[hz] < NOT_HEARD, `${who} does not hear ${hz} Hz: ${JSON.stringify(what)}`);
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

/** One call A → B per tone, each far end playing its tone (−20 dBFS) for `ms`. */
export async function callParties(p: SipAudioPair, tones = TONES, ms = 60_000): Promise<Party[]> {
  const parties: Party[] = [];
  for (const hz of tones) {
    const { callA, callB } = await connect(p);
    const far = rtpOf(p.a, callA);
    far.play(beep(ms, hz, -20));
    parties.push({ b: callB, far, hz });
  }
  return parties;
}

/** What {@link roomFixture} sets up before each test: the lines, one call per tone, the room events of B. */
export interface RoomFixture {
  p: SipAudioPair;
  parties: Party[];
  events: RoomEvent[];
}

/**
 * Registers the `beforeEach` / `afterEach` of a describe block: lines A (main thread) and B (`mode`),
 * one call per tone (`TONES`), B's room events collected; the log's end printed when a test failed.
 */
export function roomFixture(mode: Partial<LineConfig>): RoomFixture {
  const f = {} as RoomFixture;
  let stopEvents: (() => void) | undefined;
  beforeEach(async function () {
    f.p = await startLines({ mediaWorkers: 0 }, mode);
    f.events = [];
    stopEvents = f.p.b.conference.onEvent((e) => f.events.push(e));
    f.parties = await callParties(f.p);
  });
  afterEach(async function () {
    stopEvents?.();
    // eslint-disable-next-line no-console
    if (this.currentTest?.state === 'failed') console.log(f.p?.log.lines.slice(-40).join('\n'));
    await f.p?.stop();
  });
  return f;
}
