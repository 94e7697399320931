import { EventEmitter } from 'node:events';
import { SessionState } from 'sip.js';
import type { Session, SessionDescriptionHandler, SessionDescriptionHandlerModifier, SessionDescriptionHandlerOptions } from 'sip.js';
import type { Logger } from '../backend';
import { CallStateError, NotSupportedError } from '../errors';
import { DEFAULT_DTMF_DURATION_MS } from '../media/dtmf-sender';
import { dtmfKeyToEvent } from '../media/telephone-event';
import { G711Codec, MediaDirection, sends } from './media-params';
import type { MediaEngine } from '../media-engine/media-engine';
import { RemoteRtpSession } from '../media-engine/remote-rtp-session';
import type { RtpMedia } from '../media-engine/rtp-media';
import type { RtpPortAllocator } from './rtp-port-allocator';
import { MediaTickSource, RtpSession } from './rtp-session';
import { LocalSdp, NegotiatedMedia, parseRemoteSdp, RemoteSdp } from './sdp';
import type { MediaEncryption } from './sdes';

/**
 * sip.js's SessionDescriptionHandler for Node: the SDP offer/answer of one call leg (lib/sip/sdp.ts)
 * and its media, our own G.711 RTP (lib/sip/rtp-session.ts). No WebRTC. See docs/sip-in-node.md.
 *
 * sip.js drives it (node_modules/sip.js/lib/api/session.js getOffer / setAnswer /
 * setOfferAndGetAnswer / rollbackOffer, and Session.dispose → close):
 * - offerer: `getDescription()` makes the offer, `setDescription(answer)` completes it;
 * - answerer: `setDescription(offer)` makes the answer, `getDescription()` hands it out;
 * the media follows what an exchange decided once it is complete (our answer handed out, their answer
 * read), never a half-done one, so a callee sends nothing while it only rings.
 *
 * The ports are taken from the line's allocator at the first offer or answer (sip.js creates
 * handlers synchronously, binding is not) and given back by `close()`.
 */

/**
 * How a line SENDS DTMF: RFC 4733 events, SIP INFO (sent by the SIP layer, lib/sip/sip-dtmf.ts), or
 * tones in the audio. Whatever the mode, RFC 4733 and INFO keys are received; `inband` also detects
 * tones in the received audio.
 */
export type SipDtmfMode = 'rfc4733' | 'info' | 'inband';
export const SIP_DTMF_MODES: readonly SipDtmfMode[] = ['rfc4733', 'info', 'inband'];

/** What a line's handlers share: checked once by RtpDescriptionHandlerFactory. */
export interface RtpHandlerConfig {
  allocator: RtpPortAllocator;
  /** The IPv4 address we advertise in SDP (`c=`, `o=`): where the remote party sends RTP. */
  address: string;
  codecs: readonly G711Codec[];
  dtmfMode: SipDtmfMode;
  /** The telephone-event payload type we offer (in every mode: RFC 4733 keys are always received). */
  telephoneEventPt: number;
  /** SRTP by SDES: `none`, `optional`, `required` (lib/sip/sdp.ts, docs/sip-srtp.md). */
  encryption: MediaEncryption;
  clock?: MediaTickSource;
  /** The media workers the legs run in (docs/media-engine.md); `null`: in this thread, on `clock`. */
  engine: MediaEngine | null;
  log: Logger;
}

/**
 * The options sip.js passes through from `sessionDescriptionHandlerOptions` (initial INVITE) and
 * `sessionDescriptionHandlerOptionsReInvite` (later offers and answers, both ways).
 */
export interface RtpDescriptionHandlerOptions extends SessionDescriptionHandlerOptions {
  /**
   * We hold the remote party: our offer is `sendonly` (`inactive` when it holds us too), our answer
   * `sendonly` or `inactive`. sip.js keeps the re-INVITE options, so answers to the peer's later
   * re-INVITEs keep holding until a re-INVITE without it.
   */
  hold?: boolean;
}

/** `sendDtmf()` options, as sip.js's own (web) handler takes them. */
export interface RtpDtmfOptions {
  /** Each key's length in ms (40–1000, default 100). */
  duration?: number;
}

export interface RtpDescriptionHandlerEvents {
  /** The call leg's media exists (its ports are bound): listen to its audio, tx and dtmf here. */
  session: [RtpMedia];
  /** The media worker running this leg died: the leg's media is gone (the SIP layer ends the call `media-failed`). */
  'media-failed': [Error];
  /** An offer/answer exchange completed and the media follows it (early media's 183 too). */
  negotiated: [NegotiatedMedia];
  /** The remote party holds us (its SDP stopped wanting our audio), and when it stops. */
  held: [];
  resumed: [];
  /** close() finished: ports given back. */
  closed: [];
}

/** One sip.js modifier step: what it is given and may change (a structural RTCSessionDescriptionInit). */
interface DescriptionInit {
  type: 'offer' | 'answer';
  sdp: string;
}

const SDP_CONTENT_TYPE = 'application/sdp';

export class RtpDescriptionHandler extends EventEmitter<RtpDescriptionHandlerEvents> implements SessionDescriptionHandler {
  private setup: Promise<{ session: RtpMedia; sdp: LocalSdp }> | null = null;
  private rtp: RtpMedia | null = null;
  /** An exchange in progress: we offered (waiting for the answer), or they did (our answer is ready). */
  private localOffer = false;
  private remoteOffer: { remote: RemoteSdp; hold: boolean; answer: { sdp: string; media: NegotiatedMedia } } | null = null;
  private current: NegotiatedMedia | null = null;
  private remoteHeld = false;
  /** Serialises offer/answer steps: each reads the state the previous one left. */
  private chain: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | null = null;

  /**
   * The handler of a sip.js session, when it is one of ours (sip.js types it as the interface);
   * `undefined` before sip.js made one (an Inviter before `invite()`, an Invitation before
   * `accept()` / `progress()`).
   */
  static of(session: Session): RtpDescriptionHandler | undefined {
    const sdh = session.sessionDescriptionHandler;
    return sdh instanceof RtpDescriptionHandler ? sdh : undefined;
  }

  constructor(private readonly config: RtpHandlerConfig) {
    super();
  }

  /**
   * The call leg's media, once its ports are bound (after the first offer or answer). After close()
   * it stays readable, closed: its stats() are the call's final figures.
   */
  get session(): RtpMedia | null {
    return this.rtp;
  }

  /** What the last completed exchange decided, or `null` before one completed. */
  get negotiated(): Readonly<NegotiatedMedia> | null {
    return this.current;
  }

  /** The remote party holds us (per its last SDP). */
  get remoteHold(): boolean {
    return this.remoteHeld;
  }

  get dtmfMode(): SipDtmfMode {
    return this.config.dtmfMode;
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  /**
   * Binds the ports and builds the RtpSession now rather than at the first offer or answer. Rejects
   * with RtpPortsExhaustedError when the range is full (the SIP layer answers 503 / fails the dial).
   */
  open(): Promise<RtpMedia> {
    return this.step(async () => (await this.ready()).session);
  }

  /**
   * Our offer, or our answer when a remote offer was set. sip.js calls it for the INVITE (or the
   * re-INVITE) we send, and after `setDescription(offer)` for the response / ACK we send.
   */
  getDescription(options?: RtpDescriptionHandlerOptions, modifiers?: SessionDescriptionHandlerModifier[]): Promise<{ body: string; contentType: string }> {
    const hold = options?.hold === true;
    return this.step(async () => {
      const { session, sdp } = await this.ready();
      const offer = this.remoteOffer;
      if (offer) {
        const answer = offer.hold === hold ? offer.answer : sdp.createAnswer(offer.remote, wantedDirection(hold));
        const { sdp: body } = await applyModifiers({ type: 'answer', sdp: answer.sdp }, modifiers);
        this.remoteOffer = null;
        this.apply(session, answer.media);
        return { body, contentType: SDP_CONTENT_TYPE };
      }
      // RFC 3264 §8.4: holding a stream the peer already holds (we only receive) makes it inactive.
      const direction = hold ? (this.remoteHeld ? 'inactive' : 'sendonly') : 'sendrecv';
      const { sdp: body } = await applyModifiers({ type: 'offer', sdp: sdp.createOffer(direction) }, modifiers);
      this.localOffer = true;
      return { body, contentType: SDP_CONTENT_TYPE };
    });
  }

  /**
   * Their answer to our offer (the media follows it now), or their offer: our answer is made now, so
   * an offer we cannot use fails here (SdpNegotiationError, `statusCode` 488), and handed out by the
   * next `getDescription()`. An early media 183's SDP arrives here as the answer, before the 200.
   */
  setDescription(body: string, options?: RtpDescriptionHandlerOptions, modifiers?: SessionDescriptionHandlerModifier[]): Promise<void> {
    const hold = options?.hold === true;
    return this.step(async () => {
      const { session, sdp } = await this.ready();
      const type = this.localOffer ? 'answer' : 'offer';
      const remote = parseRemoteSdp((await applyModifiers({ type, sdp: body }, modifiers)).sdp);
      if (type === 'answer') {
        this.localOffer = false;
        this.apply(session, sdp.acceptAnswer(remote));
      } else {
        this.remoteOffer = { remote, hold, answer: sdp.createAnswer(remote, wantedDirection(hold)) };
      }
    });
  }

  /**
   * A later answer to our last offer: the 200 after an early media 18x whose SDP differs, or the 200
   * of another fork (lib/sip/sip-early-media.ts). The media follows it; resolves `true` when that
   * changed what it does, `false` when it is the same. Rejects (SdpNegotiationError, or an SDP that
   * cannot be read) and leaves the media alone when it cannot be used.
   */
  followAnswer(body: string): Promise<boolean> {
    return this.step(async () => {
      const { session, sdp } = await this.ready();
      const media = sdp.acceptAnswer(parseRemoteSdp(body));
      if (this.current && sameMedia(this.current, media)) return false;
      this.apply(session, media);
      return true;
    });
  }

  /** sip.js asks before handing us a body: we read SDP only (anything else it answers 415). */
  hasDescription(contentType: string): boolean {
    return typeof contentType === 'string' && contentType.split(';')[0].trim().toLowerCase() === SDP_CONTENT_TYPE;
  }

  /**
   * Forgets the exchange in progress: our offer was refused (a non-2xx to our re-INVITE), or their
   * offer could not be answered. The media stays as the last completed exchange left it.
   */
  rollbackDescription(): Promise<void> {
    return this.step(async () => {
      this.localOffer = false;
      this.remoteOffer = null;
    });
  }

  /**
   * Sends DTMF keys the line's way (RFC 4733 events, or in-band tones), as sip.js's interface wants:
   * `true` when they were queued, `false` when they cannot go (SIP INFO mode: the SIP layer sends
   * INFO; media not negotiated or not sending; RFC 4733 not agreed; not DTMF keys). Use
   * {@link sendDigits} to know when they left.
   */
  sendDtmf(tones: string, options?: RtpDtmfOptions): boolean {
    const durationMs = options?.duration ?? DEFAULT_DTMF_DURATION_MS;
    const problem = this.dtmfProblem(tones, durationMs);
    if (problem) {
      this.config.log.debug(`sip media: DTMF ${JSON.stringify(String(tones))} not sent: ${problem}`);
      return false;
    }
    this.sendDigits(tones, durationMs).catch((err: Error) => this.config.log.warn(`sip media: DTMF not sent: ${err.message}`));
    return true;
  }

  /**
   * Sends DTMF keys the line's way and resolves once the last packet left. NotSupportedError in SIP
   * INFO mode (sent by the SIP layer) and when RFC 4733 was not agreed; CallStateError before the
   * media is negotiated, on hold, or closed (see RtpSession.sendDtmf).
   */
  sendDigits(digits: string, durationMs: number = DEFAULT_DTMF_DURATION_MS): Promise<void> {
    const mode = this.config.dtmfMode;
    if (mode === 'info') {
      return Promise.reject(new NotSupportedError('this line sends DTMF as SIP INFO, not in the media: the SIP session sends it'));
    }
    if (!this.rtp || !this.current) {
      return Promise.reject(new CallStateError('DTMF cannot be sent: the call\'s media is not negotiated yet'));
    }
    return this.rtp.sendDtmf(digits, durationMs, mode);
  }

  /**
   * Closes the media and gives the ports back (also when they are still being bound). sip.js calls it
   * when the session ends; calling it again returns the same promise. Afterwards every offer/answer
   * step rejects with CallStateError.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const setup = await this.setup?.catch(() => null);
      await setup?.session.close();
      this.emit('closed');
    })();
    return this.closing;
  }

  // ── inside ────────────────────────────────────────────────────────────────────────────────────

  /** Runs one offer/answer step after the previous one, refusing once closed. */
  private step<T>(run: () => Promise<T>): Promise<T> {
    const next = this.chain.then(() => {
      if (this.closing) throw closedError();
      return run();
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** The ports, the session and our SDP, made once; refused when close() came meanwhile. */
  private async ready(): Promise<{ session: RtpMedia; sdp: LocalSdp }> {
    this.setup ??= this.openMedia().then((session) => {
      const c = this.config;
      try {
        const sdp = new LocalSdp({
          address: c.address,
          port: session.localPort,
          codecs: c.codecs,
          // telephone-event is offered (and accepted) in every mode: the line receives RFC 4733 keys
          // whatever it sends (the mode only picks how WE send), so a peer that prefers events can use
          // them; one that sends INFO or tones still does (docs/dtmf.md, "SIP lines").
          telephoneEventPt: c.telephoneEventPt,
          encryption: c.encryption,
        });
        this.rtp = session;
        if (session instanceof RemoteRtpSession) {
          void session.failure.then((err) => {
            if (!this.closing) this.emit('media-failed', err);
          });
        }
        if (!this.closing) this.emit('session', session);
        return { session, sdp };
      } catch (err) {
        void session.close();
        throw err;
      }
    });
    const media = await this.setup;
    if (this.closing) throw closedError();
    return media;
  }

  /** The leg's media: in a media worker when the line has them, else here (its ports bound here). */
  private async openMedia(): Promise<RtpMedia> {
    const c = this.config;
    // Until an exchange completes the codec and the peer are unknown: nothing is sent or emitted.
    const start = { codec: c.codecs[0], direction: 'inactive' as const, inbandDtmf: c.dtmfMode === 'inband', log: c.log };
    if (c.engine) return c.engine.open({ allocator: c.allocator, ...start });
    const ports = await c.allocator.allocate();
    try {
      return new RtpSession({ ports, ...start, clock: c.clock });
    } catch (err) {
      void ports.close();
      throw err;
    }
  }

  private apply(session: RtpMedia, media: NegotiatedMedia): void {
    const { codec, payloadType, telephoneEventPt, remote, direction } = media;
    if ((media.srtp?.suite ?? null) !== session.srtpSuite) {
      this.config.log.info(`sip media: ${media.srtp ? `SRTP (${media.srtp.suite}, keys by SDES)` : 'plain RTP (not encrypted)'}`);
    }
    session.setSrtp(media.srtp);
    session.configure({ codec, payloadType, telephoneEventPt, remote, direction });
    this.current = media;
    this.emit('negotiated', media);
    if (media.remoteHold !== this.remoteHeld) {
      this.remoteHeld = media.remoteHold;
      this.emit(media.remoteHold ? 'held' : 'resumed');
    }
  }

  /** Why `sendDtmf()` would fail now, or `null` (the checks RtpSession.sendDtmf makes, as words). */
  private dtmfProblem(tones: unknown, durationMs: unknown): string | null {
    if (typeof tones !== 'string' || tones.length === 0 || [...tones].some((t) => dtmfKeyToEvent(t) === null)) return 'not DTMF keys';
    if (!Number.isInteger(durationMs) || (durationMs as number) < 40 || (durationMs as number) > 1000) return 'the duration must be 40-1000 ms';
    if (this.config.dtmfMode === 'info') return 'the line sends DTMF as SIP INFO';
    const session = this.rtp;
    if (this.closing || !session || !this.current) return 'the media is not negotiated';
    if (!sends(session.media.direction)) return `the media is ${session.media.direction}`;
    if (!session.target) return 'the remote media address is not known';
    if (this.config.dtmfMode === 'rfc4733' && session.media.telephoneEventPt === null) return 'the remote party did not accept telephone-event';
    return null;
  }
}

function closedError(): CallStateError {
  return new CallStateError('the call\'s media is closed (the call ended)');
}

/** Two exchanges decided the same media (codec, payload types, remote address, direction). */
function sameMedia(a: NegotiatedMedia, b: NegotiatedMedia): boolean {
  return (
    a.codec === b.codec &&
    a.payloadType === b.payloadType &&
    a.telephoneEventPt === b.telephoneEventPt &&
    a.direction === b.direction &&
    a.remote?.address === b.remote?.address &&
    a.remote?.port === b.remote?.port
  );
}

function wantedDirection(hold: boolean): MediaDirection {
  return hold ? 'sendonly' : 'sendrecv';
}

/** sip.js modifiers run in order on the text (as its web handler does). */
async function applyModifiers(description: DescriptionInit, modifiers: SessionDescriptionHandlerModifier[] | undefined): Promise<DescriptionInit> {
  let current = description;
  for (const modify of modifiers ?? []) {
    const out = (await modify(current)) as Partial<DescriptionInit> | undefined;
    if (!out || typeof out.sdp !== 'string') throw new TypeError('a session description modifier must resolve with { type, sdp }');
    current = { type: current.type, sdp: out.sdp };
  }
  return current;
}

/**
 * Calls `fn` with the session's media once it exists (at once when it does): sip.js makes an
 * Inviter's handler during `invite()`, its media when the offer is made. Returns a function that
 * stops waiting.
 */
export function whenMedia(session: Session, fn: (media: RtpMedia) => void): () => void {
  let handler: RtpDescriptionHandler | undefined;
  const onState = (state: SessionState): void => {
    if (state === SessionState.Terminated || watch()) session.stateChange.removeListener(onState);
  };
  const watch = (): boolean => {
    handler = RtpDescriptionHandler.of(session);
    if (!handler) return false;
    if (handler.session) fn(handler.session);
    else handler.once('session', fn);
    return true;
  };
  if (!watch()) session.stateChange.addListener(onState);
  return () => {
    session.stateChange.removeListener(onState);
    handler?.off('session', fn);
  };
}
