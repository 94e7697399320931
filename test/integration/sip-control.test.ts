/**
 * voice-control over SIP on the two-line loopback (two trunk-mode VoiceLines calling each other on
 * 127.0.0.1): hold / resume by re-INVITE, the other side's hold, swap, mute, and what a SIP line
 * cannot do. Media is checked by RTP packet counts: "stops" means no packet in a whole second.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { Call } from '../../lib/call/call';
import { CallState } from '../../lib/call/call-state';
import { CallStateError, NotSupportedError } from '../../lib/errors';
import { VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import type { SipBackend } from '../../lib/sip/sip-backend';
import { memoryLog } from '../helpers/at-harness';
import { pickPorts } from '../helpers/sip-peers';
import { sipLine } from '../helpers/sip-line';

const WAIT_MS = 15_000;
/** A quiet media stream is silent for this long (a sending one sends 50 packets a second). */
const QUIET_MS = 1000;

/** Resolves with the line's next event of `topic` (for `call`, when given), from now on. */
function nextEvent(line: VoiceLine, topic: string, call?: Call): Promise<VoiceEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      line.off('event', on);
      reject(new Error(`${line.id}: no "${topic}" within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const on = (e: VoiceEvent): void => {
      if (e.topic !== topic || (call && e.call?.id !== call.id)) return;
      clearTimeout(timer);
      line.off('event', on);
      resolve(e);
    };
    line.on('event', on);
  });
}

function received(line: VoiceLine, call: Call): number {
  const rtp = (line.backend as SipBackend).rtpOf(call);
  assert.ok(rtp, `${line.id} has the call's media`);
  return rtp.stats().packetsReceived;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The packets `line` receives on `call` keep coming: at least 5 more within WAIT_MS. */
async function flowing(line: VoiceLine, call: Call): Promise<void> {
  const start = received(line, call);
  const deadline = Date.now() + WAIT_MS;
  while (received(line, call) < start + 5) {
    if (Date.now() > deadline) throw new Error(`${line.id} received no audio on call ${call.id}`);
    await sleep(20);
  }
}

/** No packet reaches `line` on `call` for QUIET_MS (after a moment for packets already on their way). */
async function quiet(line: VoiceLine, call: Call): Promise<void> {
  await sleep(200);
  const before = received(line, call);
  await sleep(QUIET_MS);
  assert.equal(received(line, call), before, `${line.id} still receives audio on call ${call.id}`);
}

describe('SIP voice-control on the two-line loopback (integration)', function () {
  this.timeout(90_000);
  const log = memoryLog();
  let a: VoiceLine;
  let b: VoiceLine;

  beforeEach(async function () {
    const base = await pickPorts(2);
    const rtp = 30000 + 32 * randomInt(0, 300);
    a = sipLine('line-a', '1001', base, base + 1, rtp, log);
    b = sipLine('line-b', '2002', base + 1, base, rtp + 16, log);
    const up = Promise.all([nextEvent(a, 'line-up'), nextEvent(b, 'line-up')]);
    await Promise.all([a.start(), b.start()]);
    await up;
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(log.lines.slice(-80).join('\n'));
    log.lines.length = 0;
    await Promise.all([a?.stop(), b?.stop()]);
  });

  /** A calls B, B answers (`waiting`: B has a call already): both calls active, audio flowing both ways. */
  async function connected(arrives = 'incoming'): Promise<{ callA: Call; callB: Call }> {
    const incoming = nextEvent(b, arrives);
    const answeredA = nextEvent(a, 'answered');
    const callA = await a.dial('2002');
    const callB = (await incoming).call;
    assert.ok(callB);
    const answeredB = nextEvent(b, 'answered');
    await b.answer(callB.id);
    await Promise.all([answeredA, answeredB]);
    const live = b.activeCalls().find((c) => c.id === callB.id) as Call;
    await Promise.all([flowing(a, callA), flowing(b, live)]);
    return { callA, callB: live };
  }

  /** Every event of `topic` a line emits during the test. */
  function count(line: VoiceLine, topic: string): VoiceEvent[] {
    const seen: VoiceEvent[] = [];
    line.on('event', (e: VoiceEvent) => e.topic === topic && seen.push(e));
    return seen;
  }

  it('A holds: held on both sides (B\'s "held by the other side"), B stops sending; A resumes: resumed on both, audio both ways', async function () {
    const { callA, callB } = await connected();
    const heldA = count(a, 'held');
    const heldB = count(b, 'held');
    const bHeld = nextEvent(b, 'held');
    await a.control.hold(callA.id);
    assert.equal(callA.state, CallState.Held, 'held once hold() resolved');
    assert.equal(heldA.length, 1);
    assert.match(String(heldA[0].payload.evidence), /^SIP\/2\.0 200/);
    assert.equal(heldA[0].payload.heldBy, 'local');
    const remote = await bHeld;
    assert.equal(remote.payload.reason, 'held by the other side');
    assert.equal(remote.payload.heldBy, 'remote');
    assert.equal(callB.state, CallState.Held);
    // We hold with sendonly: B (recvonly) sends nothing; we may still send (music on hold).
    await quiet(a, callA);
    await flowing(b, callB);

    const resumedA = count(a, 'resumed');
    const bResumed = nextEvent(b, 'resumed');
    await a.control.resume(callA.id);
    assert.equal(callA.state, CallState.Active);
    assert.equal(resumedA[0].payload.heldBy, 'local');
    const bBack = await bResumed;
    assert.equal(bBack.payload.reason, 'resumed by the other side');
    assert.equal(bBack.payload.heldBy, 'remote');
    assert.equal(callB.state, CallState.Active);
    await Promise.all([flowing(a, callA), flowing(b, callB)]);
    assert.deepEqual([heldA.length, heldB.length, resumedA.length], [1, 1, 1], 'each change is one event');
  });

  it('B holds: A sees held by the other side; B cannot be resumed by A (CallStateError), B resumes it', async function () {
    const { callA, callB } = await connected();
    const aHeld = nextEvent(a, 'held');
    await b.control.hold(callB.id);
    const e = await aHeld;
    assert.equal(e.payload.reason, 'held by the other side');
    assert.equal(callA.state, CallState.Held);
    assert.equal(e.payload.evidence, 'our media is now recvonly');
    await assert.rejects(a.control.resume(callA.id), (err: Error) => err instanceof CallStateError && /held by the other side: only they can take it back/.test(err.message));
    const aResumed = nextEvent(a, 'resumed');
    await b.control.resume(callB.id);
    await aResumed;
    assert.equal(callA.state, CallState.Active);
  });

  it('hold refuses a call that is not active, resume one that is not held, swap a single call (CallStateError)', async function () {
    const { callA } = await connected();
    const refused = (re: RegExp) => (err: Error) => err instanceof CallStateError && re.test(err.message);
    await assert.rejects(a.control.resume(callA.id), refused(/is active: only a held call can be resumed/));
    await a.control.hold(callA.id);
    await assert.rejects(a.control.hold(callA.id), refused(/is held: only an active call can be put on hold/));
    await assert.rejects(a.control.swap(), refused(/swap needs one active call and one held or waiting call; this line has held$/));
    assert.equal(callA.state, CallState.Held);
  });

  it('swap: A with one active and one held call holds the active one and resumes the held one', async function () {
    const first = await connected();
    await a.control.hold(first.callA.id);
    const second = await connected('waiting');
    const { active, held } = await a.control.swap();
    assert.equal(active.id, first.callA.id);
    assert.equal(held.id, second.callA.id);
    assert.deepEqual([first.callA.state, second.callA.state], [CallState.Active, CallState.Held]);
    assert.deepEqual([first.callB.state, second.callB.state], [CallState.Active, CallState.Held], 'B follows both re-INVITEs');
  });

  it('swap with a waiting call: B holds its active call and answers the waiting one', async function () {
    const first = await connected();
    const waiting = nextEvent(b, 'waiting');
    const secondA = await a.dial('2002');
    const id = (await waiting).call?.id;
    const aHeld = nextEvent(a, 'held', first.callA);
    const aAnswered = nextEvent(a, 'answered', secondA);
    const { active, held } = await b.control.swap();
    assert.deepEqual([active.id, active.state, held.id, held.state], [id, CallState.Active, first.callB.id, CallState.Held]);
    await Promise.all([aHeld, aAnswered]);
    assert.deepEqual([first.callA.state, secondA.state], [CallState.Held, CallState.Active]);
  });

  it('mute stops A\'s audio (B receives nothing) with the call up; unmute sends again; getMute follows', async function () {
    const { callA, callB } = await connected();
    await a.control.setMute(true);
    assert.equal((await a.control.settings()).muted, true);
    await quiet(b, callB);
    await flowing(a, callA);
    assert.deepEqual([callA.state, callB.state], [CallState.Active, CallState.Active], 'the call stays up');
    await a.control.setMute(false);
    assert.equal((await a.control.settings()).muted, false);
    await flowing(b, callB);
  });

  it('a call that starts while the line is muted is muted too', async function () {
    await a.control.setMute(true);
    const incoming = nextEvent(b, 'incoming');
    const answered = nextEvent(a, 'answered');
    const callA = await a.dial('2002');
    const id = (await incoming).call?.id;
    await b.answer(id);
    await answered;
    await flowing(a, callA);
    await quiet(b, b.activeCalls().find((c) => c.id === id) as Call);
  });

  it('mute-call silences that call only: the line stays unmuted; with both mutes on, either one alone keeps it silent', async function () {
    const { callA, callB } = await connected();
    assert.equal(await a.control.setCallMute(callA.id, true), callA);
    await quiet(b, callB);
    assert.equal((await a.control.settings()).muted, false, 'the line\'s mute is another thing');
    await a.control.setMute(true);
    await a.control.setMute(false);
    await quiet(b, callB); // unmuting the line leaves the call's own mute on
    await a.control.setMute(true);
    await a.control.setCallMute(callA.snapshot(), false);
    await quiet(b, callB); // the line's mute still holds it
    await a.control.setMute(false);
    await flowing(b, callB);
    await assert.rejects(a.control.setCallMute(callA.id, 'yes'), { name: 'InvalidInputError', message: /mute must be true or false, got string yes/ });
    const { stats } = a.control.stats();
    assert.deepEqual(Object.keys(stats).sort(), ['bytesReceived', 'bytesSent', 'codec', 'jitterMs', 'lossRatio', 'packetsLost', 'packetsReceived', 'packetsSent']);
    assert.equal(stats.codec, 'PCMU');
  });

  it('volume and audio channel: NotSupportedError naming the SIP line; settings leave them out', async function () {
    await assert.rejects(a.control.setVolume(5), (err: Error) => err instanceof NotSupportedError && /setting the volume is not supported on a SIP line \(sip:1001@127\.0\.0\.1/.test(err.message));
    await assert.rejects(a.control.getVolume(), NotSupportedError);
    await assert.rejects(a.control.setChannel('speaker'), NotSupportedError);
    const settings = await a.control.settings();
    assert.deepEqual(settings, { autoAnswer: 0, autoReject: false, muted: false, dtmfDetection: true });
  });
});
