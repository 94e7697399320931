import { SessionState } from 'sip.js';
import type { Info, Session } from 'sip.js';
import type { IncomingResponse } from 'sip.js/lib/core';
import { Call } from '../call/call';
import { CallState } from '../call/call-state';
import { checkDtmfDigits, checkDtmfDuration, detectionOffMessage, DtmfCapability, isDtmfSymbol } from '../capabilities/dtmf';
import { CallStateError, CommandFailedError, NotSupportedError } from '../errors';
import { DtmfMerge } from '../media/dtmf-merge';
import { printable } from '../validate';
import { RtpDescriptionHandler, whenMedia } from './rtp-description-handler';
import { DTMF_GAP_MS } from './rtp-session';
import type { RtpDtmfEvent } from './rtp-session';
import type { RtpMedia } from '../media-engine/rtp-media';
import type { SipCallContext, SipCallFeature } from './sip-call-context';
import { formatDtmfRelay, INFO_DTMF_CONTENT_TYPES, parseInfoDtmf } from './sip-info-dtmf';

/** What the SIP DTMF feature needs of the backend: the sip.js session of a call, the line's name, a log. */
export type SipDtmfContext = Pick<SipCallContext, 'sessionOf' | 'description' | 'log'>;

/** Where a received key came from (`msg.payload.source` of a `dtmf` event). */
export type SipDtmfSource = 'rfc4733' | 'info' | 'inband';

/**
 * DTMF on a SIP line (docs/dtmf.md, "SIP lines"). The line's mode (`dtmfMode`, kept by its
 * RtpDescriptionHandler) says how keys are SENT:
 *
 * - `rfc4733` (default): RFC 4733 events in the call's RTP;
 * - `info`: one SIP INFO per key in the dialog (`application/dtmf-relay`, `Signal=` / `Duration=`),
 *   each waiting for the peer's 2xx; a refusal is a CommandFailedError naming the code;
 * - `inband`: the keys' tones in the call's audio.
 *
 * Keys are RECEIVED whichever way the peer chooses, in every mode: RFC 4733 events (telephone-event
 * is offered in every mode), SIP INFO (`application/dtmf-relay` and `application/dtmf`), and, in
 * `inband` mode only, tones detected in the audio (a detector costs CPU and can mistake speech for
 * a key, so only a line that asks for it runs one). A key that arrives two ways is reported once
 * ({@link DtmfMerge}). Each key becomes `call.report('dtmf', { digit, source })`, only while the call
 * is connected (active or held) or in early media (an announcement's keys, before the answer), only
 * for the sixteen DTMF symbols (lib/capabilities/dtmf.ts).
 */
export class SipDtmf implements DtmfCapability, SipCallFeature {
  readonly name = 'dtmf';
  /** The INFO send in progress on each call: two sends run one after the other, never interleaved. */
  private readonly infoSends = new WeakMap<Call, Promise<void>>();
  /** Each call's key reporter, made when it is attached (its INFO and its media report through it). */
  private readonly reporters = new WeakMap<Call, KeyReporter>();
  /** SIP INFO (RFC 2976 / application/dtmf-relay) handled here. */
  readonly allow = ['INFO'] as const;
  /** sip.js hands INFO to the session's delegate once the session is established. */
  readonly session = {
    onInfo: (call: Call, info: Info): void => {
      const report = this.reporters.get(call);
      if (report) this.onInfo(call, info, report);
    },
  };
  /** The flow's choice (setDetection): received keys are reported unless it switched them off. */
  private reporting = true;

  constructor(private readonly ctx: SipDtmfContext) {}

  /**
   * Listens for the peer's keys on `call`: SIP INFO from now on (sip.js hands INFO to the session's
   * delegate once the session is established), the media's keys from when the media exists (an
   * outgoing call's early media included; sip.js makes an Inviter's handler during `invite()`, so it
   * is looked for again at each session state change).
   */
  attach(call: Call, session: Session): void {
    const report = keyReporter(call, this.ctx, () => this.reporting);
    this.reporters.set(call, report);
    whenMedia(session, (media) => media.on('dtmf', (d: RtpDtmfEvent) => report(d.digit, d.source, d.durationMs)));
  }

  async send(call: Call, digits: string, options: { durationMs: number }): Promise<void> {
    const checked = checkDtmfDigits(digits);
    // INFO carries the duration as a whole number of ms; the media rounds it to its 20 ms ticks.
    const durationMs = Math.round(checkDtmfDuration(options.durationMs));
    if (call.state !== CallState.Active) throw new CallStateError(`call ${call.id} is ${call.state}: DTMF works only on a connected (active) call`);
    const handler = this.handlerOf(call);
    if (handler.dtmfMode !== 'info') {
      await handler.sendDigits(checked, durationMs);
      return;
    }
    const previous = this.infoSends.get(call) ?? Promise.resolve();
    const mine = previous.catch(() => undefined).then(() => this.sendInfo(call, checked, durationMs));
    this.infoSends.set(call, mine);
    try {
      await mine;
    } finally {
      if (this.infoSends.get(call) === mine) this.infoSends.delete(call);
    }
  }

  /** The media reports every key it receives (RFC 4733 always; tones in `inband` mode), INFO is always read: nothing to switch on. */
  async enableDetection(call: Call): Promise<void> {
    if (!this.reporting) throw new CallStateError(detectionOffMessage(this.ctx.description()));
    this.handlerOf(call);
  }

  get detection(): boolean {
    return this.reporting;
  }

  /**
   * Stops (or resumes) reporting the keys that arrive, on every call of the line. Nothing changes on
   * the wire: telephone-event is still offered and INFO still answered 200, the keys are dropped
   * here, so that the other side sees no difference and switching back on needs no re-INVITE.
   */
  async setDetection(on: boolean): Promise<void> {
    this.reporting = on;
  }

  // ── SIP INFO ──────────────────────────────────────────────────────────────────────────────────

  /**
   * One INFO per key, each after the previous one's 2xx, and no sooner than the key's duration plus
   * DTMF_GAP_MS after the previous one was sent: a gateway that plays INFO keys as tones hears them
   * paced as a phone would press them (and as our RTP keys go).
   */
  private async sendInfo(call: Call, digits: string, durationMs: number): Promise<void> {
    for (let i = 0; i < digits.length; i++) {
      const session = this.ctx.sessionOf(call);
      if (call.state !== CallState.Active || !session) {
        throw new CallStateError(`call ${call.id} is ${call.state}: DTMF "${digits.slice(i)}" not sent (DTMF works only on a connected call)`);
      }
      const started = Date.now();
      await this.sendOneInfo(call, session, digits[i], durationMs);
      const rest = started + durationMs + DTMF_GAP_MS - Date.now();
      if (i + 1 < digits.length && rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    }
  }

  /** Sends one key as an INFO; resolves on its 2xx, rejects on any other final answer or when the call ends first. */
  private sendOneInfo(call: Call, session: Session, digit: string, durationMs: number): Promise<void> {
    const body = formatDtmfRelay(digit, durationMs);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        session.stateChange.removeListener(onState);
        if (err) reject(err);
        else resolve();
      };
      const onState = (state: SessionState): void => {
        if (state === SessionState.Terminated) finish(new CallStateError(`call ${call.id} ended before the DTMF key "${digit}" (SIP INFO) was confirmed`));
      };
      const refused = (response: IncomingResponse): void => {
        const { statusCode, reasonPhrase } = response.message;
        const status = `${statusCode} ${printable(String(reasonPhrase ?? ''))}`.trim();
        finish(new CommandFailedError(`the other side refused the DTMF key "${digit}" sent as SIP INFO: ${status} (${this.ctx.description()})`, status));
      };
      session.stateChange.addListener(onState);
      session
        .info({
          requestDelegate: { onAccept: () => finish(), onReject: refused, onRedirect: refused },
          requestOptions: { body: { contentDisposition: 'render', contentType: body.contentType, content: body.content } },
        })
        .catch((err: Error) => finish(new CallStateError(`the DTMF key "${digit}" could not be sent as SIP INFO on call ${call.id}: ${err.message}`)));
    });
  }

  /**
   * A received INFO: 200 and the key reported, 200 for an INFO without a body (a keep-alive) or a
   * hook flash, 415 (with `Accept`) for another content type, 400 for a DTMF body we cannot read.
   * Nothing in a peer's message can make it throw.
   */
  private onInfo(call: Call, info: Info, report: KeyReporter): void {
    const log = this.ctx.log;
    try {
      const request = info.request;
      const reading = parseInfoDtmf(request.getHeader('content-type'), request.body);
      if (reading.statusCode === 200) {
        info.accept().catch(() => undefined);
        if (reading.digit !== null) report(reading.digit, 'info', reading.durationMs);
        else log.debug(`sip dtmf: call ${call.id}: ${reading.note ?? 'an INFO without a key'}, answered 200`);
        return;
      }
      log.info(`sip dtmf: call ${call.id}: ${reading.problem}, answered ${reading.statusCode}`);
      const extraHeaders = reading.statusCode === 415 ? [`Accept: ${INFO_DTMF_CONTENT_TYPES.join(', ')}`] : [];
      info.reject({ statusCode: reading.statusCode, extraHeaders }).catch(() => undefined);
    } catch (err) {
      log.warn(`sip dtmf: call ${call.id}: an INFO could not be handled: ${(err as Error).message}`);
    }
  }

  private handlerOf(call: Call): RtpDescriptionHandler {
    const session = this.ctx.sessionOf(call);
    const handler = session && RtpDescriptionHandler.of(session);
    if (!handler) throw new NotSupportedError(`DTMF needs the call's media, which call ${call.id} has not got (${this.ctx.description()})`);
    return handler;
  }
}

/** Reports one received key of a call. */
type KeyReporter = (digit: string, source: SipDtmfSource, durationMs?: number) => void;

/**
 * The one place a call's received keys are reported: only while the call is connected or in early
 * media (the DTMF contract), only DTMF symbols, each press once whatever number of ways it came ({@link DtmfMerge}).
 */
function keyReporter(call: Call, ctx: SipDtmfContext, reporting: () => boolean): KeyReporter {
  const merge = new DtmfMerge();
  return (digit, source, durationMs) => {
    if (call.state !== CallState.Active && call.state !== CallState.Held && call.state !== CallState.EarlyMedia) return;
    if (!reporting()) {
      ctx.log.debug(`sip dtmf: call ${call.id}: key ${digit} (${source}) while detection is switched off: not reported`);
      return;
    }
    if (!isDtmfSymbol(digit)) return;
    if (!merge.accept({ digit, source, durationMs })) {
      ctx.log.debug(`sip dtmf: call ${call.id}: key ${digit} also came as ${source}: reported once`);
      return;
    }
    call.report('dtmf', { digit, source });
  };
}
