/**
 * Two sip.js user agents in one process calling each other over UDP on 127.0.0.1, each a line with
 * our transport (SipUserAgent in trunk mode: each one's "server" is the other) and our
 * SessionDescriptionHandler: what the SIP backend does with a call's media, without the backend.
 * Also the groundwork of the two-line loopback (two voice-lines calling each other without a PBX).
 */
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { Invitation, Inviter, Session, SessionState, UserAgent } from 'sip.js';
import type { InviterOptions, SessionInviteOptions } from 'sip.js';
import type { IncomingResponse } from 'sip.js/lib/core';
import { beep, concat } from '../../lib/media/tone-generator';
import { RtpDescriptionHandler, RtpDescriptionHandlerOptions } from '../../lib/sip/rtp-description-handler';
import { RtpDescriptionHandlerFactory } from '../../lib/sip/rtp-description-handler-factory';
import { RtpPortAllocator, RtpPortPair } from '../../lib/sip/rtp-port-allocator';
import { RtpPortsExhaustedError } from '../../lib/sip/rtp-ports-exhausted-error';
import { RtpSession } from '../../lib/sip/rtp-session';
import { SdpNegotiationError } from '../../lib/sip/sdp-negotiation-error';
import { SipUserAgent } from '../../lib/sip/sip-user-agent';
import { memoryLog, sleep } from '../helpers/at-harness';
import { goertzelPower, LOCALHOST, record, testAllocator, until, zeroCrossingHz } from '../helpers/rtp-harness';
import { pickPorts } from '../helpers/sip-peers';

/** One side: a SIP account, its media, and the calls offered to it. */
interface Line {
  name: string;
  port: number;
  agent: SipUserAgent;
  allocator: RtpPortAllocator;
  media: RtpDescriptionHandlerFactory;
  /** Do what the backend does with an incoming INVITE: prepare the media first (else accept straight away). */
  prepare: boolean;
  /** 'invitation' (invitation, prepared handler) for each call ready to answer; 'refused' (status code sent). */
  events: EventEmitter;
}

function makeLine(name: string, port: number, peerPort: number, log: ReturnType<typeof memoryLog>): Line {
  const allocator = testAllocator(8);
  const media = new RtpDescriptionHandlerFactory({ allocator, address: LOCALHOST, log });
  const events = new EventEmitter();
  const line: Line = {
    name,
    port,
    allocator,
    media,
    prepare: true,
    events,
    agent: new SipUserAgent({
      server: `${LOCALHOST}:${peerPort}`,
      username: name,
      register: false,
      localAddress: LOCALHOST,
      localPort: port,
      keepAliveSeconds: 0,
      log,
      sip: {
        sessionDescriptionHandlerFactory: media.sessionDescriptionHandlerFactory,
        delegate: {
          onInvite: (invitation) => {
            if (!line.prepare) {
              events.emit('invitation', invitation);
              return;
            }
            // What the backend does: media ready before ringing, or the right refusal (see prepare()).
            media.prepare(invitation).then(
              (handler) => events.emit('invitation', invitation, handler),
              (err: unknown) => {
                const statusCode = err instanceof SdpNegotiationError ? err.statusCode : err instanceof RtpPortsExhaustedError ? 503 : 500;
                void invitation.reject({ statusCode });
                events.emit('refused', statusCode);
              },
            );
          },
        },
      },
    }),
  };
  return line;
}

/** Resolves when the session reaches `state`; rejects if it ends first. */
function reach(session: Session, state: SessionState, timeoutMs = 10_000): Promise<void> {
  if (session.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`session still ${session.state}, not ${state}, after ${timeoutMs} ms`)), timeoutMs);
    const listener = (s: SessionState): void => {
      if (s === state) done();
      else if (s === SessionState.Terminated) done(new Error(`session ended before it was ${state}`));
    };
    const done = (err?: Error): void => {
      clearTimeout(timer);
      session.stateChange.removeListener(listener);
      if (err) reject(err);
      else resolve();
    };
    session.stateChange.addListener(listener);
  });
}

/** The louder-than-silence frames joined: a tone's samples. */
function loud(frames: Array<{ samples: Int16Array }>): Int16Array {
  return concat(frames.filter((f) => f.samples.some((s) => Math.abs(s) > 1000)).map((f) => f.samples));
}

function assertTone(samples: Int16Array, hz: number, other: number): void {
  const measured = zeroCrossingHz(samples);
  assert.ok(Math.abs(measured - hz) < 5, `expected ${hz} Hz, measured ${measured.toFixed(1)} Hz`);
  assert.ok(goertzelPower(samples, hz) > 100 * goertzelPower(samples, other), `${hz} Hz dominates ${other} Hz`);
}

/** A sip.js modifier that makes an offer G.722 only (a codec our lines do not take). */
async function g722Only(d: { type: string; sdp: string }): Promise<{ type: string; sdp: string }> {
  if (d.type !== 'offer') return d;
  return { type: d.type, sdp: d.sdp.replace(/^m=audio (\d+) RTP\/AVP .*$/m, 'm=audio $1 RTP/AVP 9').replace(/^a=(rtpmap|fmtp).*\r\n/gm, '') };
}

function directionIn(sdp: string | undefined): string | undefined {
  return /^a=(sendrecv|sendonly|recvonly|inactive)\r?$/m.exec(sdp ?? '')?.[1];
}

describe('sip.js calls with RtpDescriptionHandler: two user agents on 127.0.0.1 (integration)', function () {
  this.timeout(30_000);
  const log = memoryLog();
  let alice: Line;
  let bob: Line;
  const sessions: Session[] = [];

  before(async function () {
    const base = await pickPorts(2);
    alice = makeLine('alice', base, base + 1, log);
    bob = makeLine('bob', base + 1, base, log);
    await Promise.all([alice.agent.start(), bob.agent.start()]);
    assert.equal(alice.agent.ready && bob.agent.ready, true, 'both agents ready (trunk mode)');
  });

  afterEach(async function () {
    for (const s of sessions.splice(0)) await s.dispose().catch(() => undefined);
    await Promise.all([alice.media.closeAll(), bob.media.closeAll()]);
    alice.prepare = bob.prepare = true;
    if (this.currentTest?.state === 'failed') console.log(log.lines.slice(-40).join('\n'));
  });

  after(async function () {
    await Promise.all([alice?.agent.stop(), bob?.agent.stop()]);
  });

  /** An Inviter from `from` to `to`; resolves with the invitation as `to` sees it (not answered yet). */
  async function invite(from: Line, to: Line, options: InviterOptions = {}, inviteOptions: Parameters<Inviter['invite']>[0] = {}) {
    const target = UserAgent.makeURI(`sip:${to.name}@${LOCALHOST}:${to.port}`) as NonNullable<ReturnType<typeof UserAgent.makeURI>>;
    const inviter = new Inviter(from.agent.userAgent, target, options);
    sessions.push(inviter);
    const offered = once(to.events, 'invitation') as Promise<[Invitation, RtpDescriptionHandler?]>;
    await inviter.invite(inviteOptions);
    const [invitation, prepared] = await offered;
    sessions.push(invitation);
    return { inviter, invitation, prepared };
  }

  /** A call from alice to bob, answered. */
  async function connect(options: InviterOptions = {}) {
    const { inviter, invitation, prepared } = await invite(alice, bob, options);
    await invitation.accept();
    await reach(inviter, SessionState.Established);
    const callee = RtpDescriptionHandler.of(invitation) as RtpDescriptionHandler;
    assert.equal(callee, prepared, 'sip.js took the handler prepare() made');
    return { inviter, invitation, caller: RtpDescriptionHandler.of(inviter) as RtpDescriptionHandler, callee };
  }

  /** A re-INVITE, resolved once its 200 was read and ACKed (sip.js's requestDelegate.onAccept). */
  function reinvite(session: Session, options: SessionInviteOptions): Promise<IncomingResponse> {
    return new Promise((resolve, reject) => {
      session
        .invite({ ...options, requestDelegate: { onAccept: resolve, onReject: (r) => reject(new Error(`re-INVITE refused: ${r.message.statusCode}`)) } })
        .catch(reject);
    });
  }

  it('a call carries audio both ways; BYE closes both handlers and gives the ports back', async function () {
    const { inviter, invitation, caller, callee } = await connect();
    assert.ok(caller && callee, 'sip.js uses our handlers on both sides');
    assert.equal(alice.allocator.inUse, 1);
    assert.equal(bob.allocator.inUse, 1);
    assert.equal(alice.media.openHandlers + bob.media.openHandlers, 2, 'one handler a leg');
    assert.match(String(inviter.body?.body), /^m=audio \d+ RTP\/AVP 0 8 101\r$/m, 'the INVITE carries our offer');
    assert.equal(caller.negotiated?.codec, 'PCMU');
    assert.equal(callee.negotiated?.direction, 'sendrecv');

    const sa = caller.session as RtpSession;
    const sb = callee.session as RtpSession;
    const atA = record(sa);
    const atB = record(sb);
    await Promise.all([sa.play(beep(600, 1000)).done, sb.play(beep(600, 440)).done]);
    await until(() => loud(atB.audio).length >= 4000 && loud(atA.audio).length >= 4000, 5000, 'both tones');
    assertTone(loud(atB.audio), 1000, 440);
    assertTone(loud(atA.audio), 440, 1000);

    const closed = Promise.all([once(caller, 'closed'), once(callee, 'closed')]);
    await inviter.bye();
    await reach(invitation, SessionState.Terminated);
    await reach(inviter, SessionState.Terminated);
    await closed;
    assert.equal(caller.closed && callee.closed, true);
    assert.equal(alice.allocator.inUse, 0);
    assert.equal(bob.allocator.inUse, 0);
    assert.equal(alice.media.openHandlers + bob.media.openHandlers, 0);
  });

  it('DTMF sent with the handler\'s sendDtmf() arrives once per key (RFC 4733)', async function () {
    const { caller, callee } = await connect();
    const atB = record(callee.session as RtpSession);
    // What a sip.js application calls: session.sessionDescriptionHandler.sendDtmf(tones, { duration }).
    assert.equal(caller.sendDtmf('159#', { duration: 100 }), true);
    await until(() => atB.dtmf.length === 4, 5000, 'four keys');
    // Audio after the keys has arrived, so have all their end packets.
    const frames = atB.audio.length;
    await until(() => atB.audio.length >= frames + 5, 5000, 'audio after the keys');
    assert.deepEqual(
      atB.dtmf.map((d) => `${d.digit}/${d.source}`),
      ['1/rfc4733', '5/rfc4733', '9/rfc4733', '#/rfc4733'],
    );
  });

  it('hold by re-INVITE (sessionDescriptionHandlerOptions.hold): the other side sees sendonly, is held, stops sending; resume', async function () {
    const { inviter, invitation, caller, callee } = await connect();
    const sa = caller.session as RtpSession;
    const sb = callee.session as RtpSession;
    const atB = record(sb);
    const seenByBob: Array<{ offer: string; answer: string }> = [];
    // Session.delegate.onInvite sees each re-INVITE bob answered, and the response sent as text
    // (session.js onInviteRequest).
    invitation.delegate = {
      onInvite: (request, response) => seenByBob.push({ offer: request.body, answer: response.slice(response.indexOf('\r\n\r\n') + 4) }),
    };
    const heldEvents: string[] = [];
    callee.on('held', () => heldEvents.push('held'));
    callee.on('resumed', () => heldEvents.push('resumed'));

    const hold: RtpDescriptionHandlerOptions = { hold: true };
    await reinvite(inviter, { sessionDescriptionHandlerOptions: hold });
    assert.equal(seenByBob.length, 1);
    assert.equal(directionIn(seenByBob[0].offer), 'sendonly');
    assert.equal(directionIn(seenByBob[0].answer), 'recvonly');
    assert.deepEqual(heldEvents, ['held']);
    assert.equal(sa.media.direction, 'sendonly');
    assert.equal(sb.media.direction, 'recvonly');

    // Held: bob sends nothing; alice may still send (music on hold), and bob hears it. Bob's media
    // worker applies the direction at its next turn, which may come after a tick that was due (its
    // clock sleeps the last 1–3 ms before a tick: docs/media-engine.md, "One tick"), and its counters
    // are at most a tick old: the count is taken once two ticks have passed.
    await sleep(60);
    const bobSent = sb.stats().packetsSent;
    const heard = atB.audio.length;
    await sa.play(beep(200, 1000)).done;
    await until(() => atB.audio.length >= heard + 8, 5000, 'alice\'s audio at bob while held');
    assert.equal(sb.stats().packetsSent, bobSent, 'the held side sends nothing');
    assertTone(loud(atB.audio.slice(heard)), 1000, 440);

    await reinvite(inviter, { sessionDescriptionHandlerOptions: {} });
    assert.equal(directionIn(seenByBob[1].offer), 'sendrecv');
    assert.equal(directionIn(seenByBob[1].answer), 'sendrecv');
    assert.deepEqual(heldEvents, ['held', 'resumed']);
    await until(() => sb.stats().packetsSent >= bobSent + 5, 5000, 'bob sending again');
    assert.equal(sa.media.direction, 'sendrecv');
  });

  it('early media: a 183 with SDP sets the caller\'s media up before the 200 (Inviter earlyMedia: true)', async function () {
    const progress: number[] = [];
    const { inviter, invitation } = await invite(alice, bob, { earlyMedia: true }, { requestDelegate: { onProgress: (r) => progress.push(r.message.statusCode ?? 0) } });
    await invitation.progress({ statusCode: 183 });
    const caller = RtpDescriptionHandler.of(inviter) as RtpDescriptionHandler;
    await until(() => caller.negotiated !== null, 5000, 'the 183 answer applied');
    assert.ok(progress.includes(183));
    assert.equal(inviter.state, SessionState.Establishing, 'not answered yet');
    const bobSession = (RtpDescriptionHandler.of(invitation) as RtpDescriptionHandler).session as RtpSession;
    const atA = record(caller.session as RtpSession);
    await bobSession.play(beep(300, 440)).done;
    await until(() => loud(atA.audio).length >= 1600, 5000, 'the announcement before the answer');
    assertTone(loud(atA.audio), 440, 1000);
    assert.equal(inviter.state, SessionState.Establishing);

    let negotiatedAgain = 0;
    caller.on('negotiated', () => negotiatedAgain++);
    await invitation.accept();
    await reach(inviter, SessionState.Established);
    assert.equal(negotiatedAgain, 0, 'sip.js does not set the 200\'s SDP again: the 183 answer stands');
    assert.equal(bob.media.openHandlers, 1, 'the 183 and the 200 used the one prepared handler');
  });

  it('an INVITE without SDP: the callee offers in the 200, the caller answers in the ACK', async function () {
    const { inviter, invitation, caller, callee } = await connect({ inviteWithoutSdp: true });
    assert.equal(inviter.body, undefined, 'no offer in the INVITE');
    await until(() => callee.negotiated !== null, 5000, 'the answer in the ACK read');
    assert.equal(caller.negotiated?.direction, 'sendrecv');
    const atA = record(caller.session as RtpSession);
    await (callee.session as RtpSession).play(beep(200, 440)).done;
    await until(() => loud(atA.audio).length >= 800, 5000, 'the callee\'s audio');
    assert.equal(invitation.state, SessionState.Established);
  });

  it('a re-INVITE offer the other side cannot use is refused 488 by sip.js; the call keeps its media', async function () {
    const { inviter, caller, callee } = await connect();
    const before = { ...callee.negotiated };
    await assert.rejects(reinvite(inviter, { sessionDescriptionHandlerModifiers: [g722Only] }), /re-INVITE refused: 488/);
    assert.equal(inviter.state, SessionState.Established);
    assert.deepEqual({ ...callee.negotiated }, before);
    assert.equal(caller.negotiated?.direction, 'sendrecv');
    // Alice's refused offer was rolled back: her next re-INVITE is an ordinary exchange.
    await reinvite(inviter, { sessionDescriptionHandlerModifiers: [], sessionDescriptionHandlerOptions: { hold: true } as RtpDescriptionHandlerOptions });
    assert.equal(callee.session?.media.direction, 'recvonly');
  });

  it('an offer with no common codec is refused 488 when the media is prepared (sip.js alone answers 480)', async function () {
    for (const [prepare, expected] of [[true, 488], [false, 480]] as const) {
      bob.prepare = prepare;
      const target = UserAgent.makeURI(`sip:bob@${LOCALHOST}:${bob.port}`) as NonNullable<ReturnType<typeof UserAgent.makeURI>>;
      const inviter = new Inviter(alice.agent.userAgent, target, { sessionDescriptionHandlerModifiers: [g722Only] });
      sessions.push(inviter);
      const rejected = new Promise<number>((resolve) => {
        void inviter.invite({ requestDelegate: { onReject: (r) => resolve(r.message.statusCode ?? 0) } });
      });
      if (!prepare) {
        const [invitation] = (await once(bob.events, 'invitation')) as [Invitation];
        sessions.push(invitation);
        await assert.rejects(invitation.accept(), SdpNegotiationError, 'accept() rejects with our error...');
      } else {
        assert.deepEqual(await once(bob.events, 'refused'), [488]);
      }
      assert.equal(await rejected, expected, prepare ? 'prepare() lets the line answer 488' : '...but the caller got 480 from sip.js');
      await reach(inviter, SessionState.Terminated);
      await until(() => bob.allocator.inUse === 0 && alice.allocator.inUse === 0, 5000, 'the ports given back');
    }
  });

  it('a full RTP port range refuses the call with 503', async function () {
    const held: RtpPortPair[] = [];
    try {
      for (;;) held.push(await bob.allocator.allocate());
    } catch (err) {
      assert.ok(err instanceof RtpPortsExhaustedError);
    }
    try {
      const target = UserAgent.makeURI(`sip:bob@${LOCALHOST}:${bob.port}`) as NonNullable<ReturnType<typeof UserAgent.makeURI>>;
      const inviter = new Inviter(alice.agent.userAgent, target);
      sessions.push(inviter);
      const rejected = new Promise<number>((resolve) => {
        void inviter.invite({ requestDelegate: { onReject: (r) => resolve(r.message.statusCode ?? 0) } });
      });
      assert.equal(await rejected, 503);
      await until(() => alice.allocator.inUse === 0, 5000, 'alice\'s ports given back');
    } finally {
      await Promise.all(held.map((p) => p.close()));
    }
  });

  it('a call cancelled while ringing closes the prepared handler (ports back on both sides)', async function () {
    const { inviter, invitation } = await invite(alice, bob);
    await invitation.progress();
    assert.equal(bob.allocator.inUse, 1, 'bob\'s media was prepared');
    await inviter.cancel();
    await reach(invitation, SessionState.Terminated);
    await reach(inviter, SessionState.Terminated);
    await until(() => bob.allocator.inUse === 0 && alice.allocator.inUse === 0, 5000, 'the ports given back');
    // sip.js rejects (it does not throw) a cancel() once the call is over: the SIP layer must guard it.
    await assert.rejects(inviter.cancel(), /Invalid session state Terminated/);
  });
});
