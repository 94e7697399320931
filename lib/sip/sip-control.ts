import { Invitation, SessionState } from 'sip.js';
import type { Session } from 'sip.js';
import { Call } from '../call/call';
import { CallState } from '../call/call-state';
import { AudioChannel, ControlCapability, swapPair } from '../capabilities/control';
import { CallStateError, NotSupportedError } from '../errors';
import { RtpDescriptionHandler } from './rtp-description-handler';
import type { RtpMedia } from '../media-engine/rtp-media';
import { sipMediaStats } from './sip-media-stats';
import type { CallMediaStats } from '../call/media-stats';
import type { SipCallContext, SipCallFeature, SipSessionHooks } from './sip-call-context';
import { reoffer, startLine } from './sip-reinvite';

/** What SIP call control needs of the backend. */
export type SipControlContext = Pick<SipCallContext, 'sessionOf' | 'calls' | 'answer' | 'hangup' | 'description' | 'shape' | 'log'>;

/**
 * Q.850 41, temporary failure: what a BYE (its `Reason`) says when the call's media failed (its
 * media worker died, docs/media-engine.md). The failure is ours and short-lived (the worker is
 * started again at once): "the network is not functioning correctly and the condition is not likely
 * to last a long period of time; the user may wish to try another call attempt almost immediately"
 * (Q.850 §2.2.7.1). Refusing a call not answered yet: 500 (RFC 3261: a server error).
 */
export const MEDIA_FAILED_Q850 = 41;

/** Who holds a call: we (our re-INVITE was answered), the other side (its SDP stopped wanting our audio), or both. */
interface HoldState {
  local: boolean;
  remote: boolean;
}

/** How long swap waits for a waiting call it answered to be connected. */
const ANSWER_WAIT_MS = 32_000;

/**
 * Call control on a SIP line (docs/sip-backend.md, "Call control"):
 * - hold / resume: a re-INVITE with sip.js's `hold` option (our SDP `sendonly`) / with `{}` (sip.js
 *   keeps the previous options when given none, docs/sip-in-node.md); the call changes state when the
 *   re-INVITE is answered 2xx, and the method resolves after that.
 * - the other side's hold (its re-INVITE `sendonly` / `inactive`): the media handler's `held` /
 *   `resumed`, the call's `held` / `resumed` with "held by the other side".
 * A call is `held` while either side holds it: one state, so each change is one event, whose
 * `heldBy` (`local` / `remote`) says whose hold changed.
 * - mute: the RTP sessions stop sending audio (all calls, and calls that start while muted); mute per
 *   call (`setCallMute`): that call's RtpSession only. A call is silent while either is on.
 * - media statistics of a call (`callStats`): its RtpSession's counters.
 * - a call whose media failed (its media worker died) is hung up: cause `media-failed`.
 * - volume and audio channel: a SIP line has no loudspeaker: NotSupportedError.
 */
export class SipControl implements ControlCapability, SipCallFeature {
  readonly name = 'control';
  private readonly holds = new WeakMap<Call, HoldState>();
  private readonly media = new Map<Call, RtpMedia>();
  private muted = false;
  /** Calls muted on their own (`mute-call`), besides the line's mute. */
  private readonly mutedCalls = new WeakSet<Call>();
  /** One re-INVITE of the line at a time (swap is two in a row; sip.js refuses a second one per session anyway). */
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Answered incoming calls whose ACK has not come yet. A re-INVITE sent before it (a hold or swap
   * right after answering) meets the ACK in sip.js with our offer pending ("Invalid signaling state
   * HaveLocalOffer"), and sip.js ends the call; RFC 3261 §14.1 has the UAS wait for the ACK before a
   * re-INVITE. So hold and resume wait here for the ACK (or the call's end).
   */
  private readonly acks = new WeakMap<Call, { done: Promise<void>; resolve: () => void }>();
  /** The initial ACK of an incoming call (sip.js's session delegate onAck, fanned out). */
  readonly session: SipSessionHooks = { onAck: (call) => this.acks.get(call)?.resolve() };

  constructor(private readonly ctx: SipControlContext) {}

  /**
   * Follows a call's media from when it exists: the other side's hold, and our mute. The backend calls
   * it for every call it tracks; sip.js makes an Inviter's handler during `invite()`, so it is looked
   * for again at each session state change.
   */
  attach(call: Call, session: Session): void {
    this.holds.set(call, { local: false, remote: false });
    if (session instanceof Invitation) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      this.acks.set(call, { done, resolve });
    }
    let handler: RtpDescriptionHandler | undefined;
    const find = (): void => {
      if (handler || call.ended) return;
      handler = RtpDescriptionHandler.of(session);
      if (!handler) return;
      const h = handler;
      h.on('held', () => this.remote(call, true, h));
      h.on('resumed', () => this.remote(call, false, h));
      h.on('media-failed', (err) => this.mediaFailed(call, err));
      const withMedia = (rtp: RtpMedia): void => {
        if (call.ended) return;
        this.media.set(call, rtp);
        this.applyMute(call, rtp);
      };
      if (handler.session) withMedia(handler.session);
      else handler.once('session', withMedia);
    };
    find();
    session.stateChange.addListener((state) => {
      if (state === SessionState.Terminated) {
        this.media.delete(call);
        this.acks.get(call)?.resolve();
      } else find();
    });
  }

  hold(call: Call): Promise<void> {
    return this.oneAtATime(() => this.doHold(call));
  }

  resume(call: Call): Promise<void> {
    return this.oneAtATime(() => this.doResume(call));
  }

  swap(): Promise<{ active: Call; held: Call }> {
    return this.oneAtATime(async () => {
      const { active: wasActive, next } = swapPair(this.ctx.calls());
      if (next.state === CallState.Held) this.checkResumable(next);
      await this.doHold(wasActive, true);
      if (next.state === CallState.Waiting) await this.answerAndWait(next);
      else await this.reInvite(next, false);
      return { active: next, held: wasActive };
    });
  }

  /**
   * Call waiting (docs/control.md, "Call waiting"; the same contract as an AT line's `AT+CHLD=2`):
   * before `call` is answered, the line's active call is put on hold (our re-INVITE, `sendonly`), so
   * that answering never leaves two calls active. A call the flow is ending (its BYE sent: the session
   * is no longer Established) is left alone: hang up first, then answer, is end-and-answer. Resolves
   * once the hold was answered 2xx; rejects (the waiting call not answered) when the other side
   * refused it. With no active call (swap held it already) it does nothing, without queueing.
   */
  holdActiveBefore(call: Call): Promise<void> {
    const established = (c: Call): boolean => c.state === CallState.Active && this.ctx.sessionOf(c)?.state === SessionState.Established;
    if (!this.others(call).some(established)) return Promise.resolve();
    return this.oneAtATime(async () => {
      for (const other of this.others(call).filter(established)) await this.doHold(other, true);
    });
  }

  async setMute(on: boolean): Promise<void> {
    this.muted = on;
    for (const [call, rtp] of this.media) this.applyMute(call, rtp);
  }

  async getMute(): Promise<boolean> {
    return this.muted;
  }

  /** One call's mute: its RtpSession sends no audio while it or the line's mute is on. */
  async setCallMute(call: Call, on: boolean): Promise<void> {
    if (call.ended || !this.holds.has(call)) throw new CallStateError(`call ${call.id} is not in progress on this line (${this.ctx.description()})`);
    if (on) this.mutedCalls.add(call);
    else this.mutedCalls.delete(call);
    const rtp = this.media.get(call);
    if (rtp) this.applyMute(call, rtp);
  }

  /** The call's media figures now (lib/sip/sip-media-stats.ts). */
  callStats(call: Call): CallMediaStats {
    const session = this.ctx.sessionOf(call);
    const stats = session && sipMediaStats(session);
    if (!stats) throw new CallStateError(`call ${call.id} has no media yet (${this.ctx.description()}): no statistics`);
    return stats;
  }

  private applyMute(call: Call, rtp: RtpMedia): void {
    if (this.muted || this.mutedCalls.has(call)) rtp.mute();
    else rtp.unmute();
  }

  setVolume(_level: number): Promise<void> {
    return this.unsupported('setting the volume');
  }

  getVolume(): Promise<number> {
    return this.unsupported('reading the volume');
  }

  setChannel(_channel: AudioChannel): Promise<void> {
    return this.unsupported('choosing the audio channel');
  }

  getChannel(): Promise<AudioChannel | null> {
    return this.unsupported('reading the audio channel');
  }

  // ── inside ────────────────────────────────────────────────────────────────────────────────────

  private async doHold(call: Call, swapping = false): Promise<void> {
    if (call.state !== CallState.Active) {
      throw new CallStateError(`call ${call.id} is ${call.state}: only an active call can be put on hold`);
    }
    // The contract's shape (one held call at a time, nothing waiting): swap does both steps itself.
    const other = swapping ? undefined : this.others(call).find((c) => c.state === CallState.Held || c.state === CallState.Waiting);
    if (other?.state === CallState.Held) {
      throw new CallStateError(`call ${other.id} is already on hold: use swap to change over`);
    }
    if (other) {
      throw new CallStateError(`call ${other.id} is waiting: use swap to hold call ${call.id} and answer it, or answer or reject it first`);
    }
    await this.reInvite(call, true);
  }

  private async doResume(call: Call): Promise<void> {
    this.checkResumable(call);
    const other = this.others(call).find((c) => c.state === CallState.Active || c.state === CallState.Waiting);
    if (other?.state === CallState.Active) {
      throw new CallStateError(`call ${other.id} is active: use swap to hold it and resume call ${call.id}`);
    }
    if (other) {
      throw new CallStateError(`call ${other.id} is waiting: answer or reject it first`);
    }
    await this.reInvite(call, false);
  }

  private checkResumable(call: Call): void {
    if (call.state !== CallState.Held) {
      throw new CallStateError(`call ${call.id} is ${call.state}: only a held call can be resumed`);
    }
    if (!this.holds.get(call)?.local) {
      throw new CallStateError(`call ${call.id} is held by the other side: only they can take it back`);
    }
  }

  /**
   * Hold (our SDP `sendonly`) / resume (`{}`, see the class comment) by re-INVITE (lib/sip/sip-reinvite.ts):
   * 2xx → the call's new state, before this resolves; anything else → rejected, the call as it was.
   */
  private async reInvite(call: Call, hold: boolean): Promise<void> {
    await this.acks.get(call)?.done;
    const answer = await reoffer(this.ctx, call, { what: hold ? 'hold' : 'resume', media: hold ? { hold: true } : {} });
    this.local(call, hold, startLine(answer));
  }

  /** The call's media is gone (its worker died): the call cannot go on, we end it `media-failed`. */
  mediaFailed(call: Call, err: Error): void {
    if (call.ended) return;
    this.ctx.log.warn(`sip: call ${call.id} ends: ${err.message}`);
    const end = { signal: 'normal' as const, endCause: 'media-failed' as const, text: `the call's media failed: ${err.message}`, q850: MEDIA_FAILED_Q850, sipCode: 500 };
    this.ctx.hangup(call, end).catch((e: Error) => this.ctx.log.warn(`sip: call ${call.id} could not be ended after its media failed: ${e.message}`));
  }

  /** Our hold changed (the re-INVITE answered 2xx). */
  private local(call: Call, on: boolean, evidence: string): void {
    const h = this.holdOf(call);
    h.local = on;
    this.follow(call, h, { text: on ? 'on hold' : 'resumed', evidence, heldBy: 'local' });
  }

  /** The other side's SDP stopped (or started again) wanting our audio. */
  private remote(call: Call, on: boolean, handler: RtpDescriptionHandler): void {
    const h = this.holdOf(call);
    if (h.remote === on) return;
    h.remote = on;
    const evidence = `our media is now ${handler.negotiated?.direction ?? 'unknown'}`;
    this.follow(call, h, { text: on ? 'held by the other side' : 'resumed by the other side', evidence, heldBy: 'remote' });
  }

  /** Held while either side holds: a connected call moves only when that changes. */
  private follow(call: Call, h: HoldState, reason: { text: string; evidence: string; heldBy: 'local' | 'remote' }): void {
    if (call.ended) return;
    const held = h.local || h.remote;
    if (held && call.state === CallState.Active) call.transition(CallState.Held, reason);
    else if (!held && call.state === CallState.Held) call.transition(CallState.Active, reason);
  }

  private holdOf(call: Call): HoldState {
    let h = this.holds.get(call);
    if (!h) this.holds.set(call, (h = { local: false, remote: false }));
    return h;
  }

  private async answerAndWait(call: Call): Promise<void> {
    let done!: (err?: Error) => void;
    const connected = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new CallStateError(`call ${call.id} was answered but not connected within ${ANSWER_WAIT_MS / 1000} s`)), ANSWER_WAIT_MS);
      const onTransition = (): void => {
        if (call.state === CallState.Active) done();
        else if (call.ended) done(new CallStateError(`call ${call.id} ended while it was being answered`));
      };
      done = (err?: Error): void => {
        clearTimeout(timer);
        call.off('transition', onTransition);
        if (err) reject(err);
        else resolve();
      };
      call.on('transition', onTransition);
    });
    connected.catch(() => undefined);
    try {
      await this.ctx.answer(call);
    } catch (err) {
      done(err as Error);
    }
    await connected;
  }

  private others(call: Call): Call[] {
    return this.ctx.calls().filter((c) => c !== call && !c.ended);
  }

  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private unsupported<T>(what: string): Promise<T> {
    return Promise.reject(new NotSupportedError(`${what} is not supported on a SIP line (${this.ctx.description()}): the call audio is the flow's, set its level there`));
  }
}
