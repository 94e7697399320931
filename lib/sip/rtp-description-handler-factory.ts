import { Core, SessionState } from 'sip.js';
import type { Invitation, Session, SessionDescriptionHandlerFactory } from 'sip.js';
import { Logger, SILENT_LOGGER } from '../backend';
import { MediaEngine, mediaEngine, mediaWorkerCount, MediaWorkersSetting } from '../media-engine/media-engine';
import { MEDIA_PRIORITIES, MediaPriority } from '../media-engine/thread-priority';
import { checkOneOf, checkOptions } from '../media/check-option';
import { DEFAULT_TELEPHONE_EVENT_PT } from '../media/dtmf-sender';
import { checkIpv4, G711_CODECS, G711Codec } from './media-params';
import { RtpDescriptionHandler, RtpHandlerConfig, SIP_DTMF_MODES, SipDtmfMode } from './rtp-description-handler';
import { RtpPortAllocator } from './rtp-port-allocator';
import type { MediaTickSource } from './rtp-session';
import { LocalSdp } from './sdp';
import { MEDIA_ENCRYPTIONS, MediaEncryption } from './sdes';

export interface RtpDescriptionHandlerFactoryOptions {
  /** The line's RTP port range. */
  allocator: RtpPortAllocator;
  /**
   * The IPv4 address advertised in SDP: where the remote party sends RTP (the line's SIP address).
   * Default: the allocator's address, which must then not be `0.0.0.0`.
   */
  address?: string;
  /** Codecs in order of preference (default PCMU, PCMA). */
  codecs?: readonly G711Codec[];
  /**
   * How the line SENDS keys: `rfc4733` (default) as RTP events, `inband` as tones in the audio,
   * `info` as SIP INFO (the SIP layer sends them, lib/sip/sip-dtmf.ts). In every mode telephone-event
   * is offered and RFC 4733 keys are received (SIP INFO too, by the SIP layer); `inband` also detects
   * tones in the received audio.
   */
  dtmfMode?: SipDtmfMode;
  /** The telephone-event payload type we offer (96–127, default 101). */
  telephoneEventPt?: number;
  /** SRTP by SDES (RFC 4568): `none` (default), `optional` or `required` (docs/sip-srtp.md). */
  encryption?: MediaEncryption;
  /**
   * Media worker threads for the calls (docs/media-engine.md): `auto` (default: one per core), a
   * number, or 0: the media runs in this thread. Given a `clock`, the media runs here on it.
   */
  mediaWorkers?: MediaWorkersSetting;
  /** The media workers' scheduling priority (lib/media-engine/thread-priority.ts): `normal` (default), `high`, `realtime`. */
  mediaPriority?: MediaPriority;
  /** The pool the workers come from (default: the process's, shared by every line). */
  engine?: MediaEngine;
  /** Default: the process's shared media clock (tests pass one they tick by hand). Media in this thread. */
  clock?: MediaTickSource;
  log?: Logger;
}

/**
 * The SessionDescriptionHandlers of one line: every call leg gets an {@link RtpDescriptionHandler}
 * with ports from the line's range, the line's address, codecs and DTMF mode.
 *
 * ```ts
 * const media = new RtpDescriptionHandlerFactory({ allocator, address, codecs, dtmfMode });
 * new UserAgent({ ..., sessionDescriptionHandlerFactory: media.sessionDescriptionHandlerFactory });
 * // incoming INVITE: check media before accepting (sip.js itself would answer 480, see prepare())
 * await media.prepare(invitation)  // rejects: SdpNegotiationError → 488, RtpPortsExhaustedError → 503
 * ```
 */
export class RtpDescriptionHandlerFactory {
  /** What sip.js's `UserAgentOptions.sessionDescriptionHandlerFactory` takes. */
  readonly sessionDescriptionHandlerFactory: SessionDescriptionHandlerFactory;
  private readonly config: RtpHandlerConfig;
  /** Handlers made by prepare(), waiting for sip.js to ask for their session's. */
  private readonly prepared = new WeakMap<Session, RtpDescriptionHandler>();
  private readonly live = new Set<RtpDescriptionHandler>();
  /** Media workers asked of the pool (0: the media runs in this thread). */
  readonly mediaWorkers: number;
  private readonly pool: MediaEngine;
  /** This line's use of the pool, from its first call until closeAll(). */
  private lease: { release(): Promise<void> } | null = null;
  private readonly mediaPriority: MediaPriority;

  constructor(options: RtpDescriptionHandlerFactoryOptions) {
    const o = checkOptions('RtpDescriptionHandlerFactory', options);
    if (!(o.allocator instanceof RtpPortAllocator)) throw new TypeError('"allocator" must be the line\'s RtpPortAllocator');
    const address = o.address ?? o.allocator.address;
    if (address === '0.0.0.0') {
      throw new TypeError(
        '"address" must be given when the RTP ports are bound to every interface (0.0.0.0): it is the address the remote party sends RTP to',
      );
    }
    if (o.clock !== undefined && o.mediaWorkers !== undefined && o.mediaWorkers !== 0) {
      throw new TypeError('"clock" drives media in this thread: give "mediaWorkers" 0 (or leave it out) with it');
    }
    this.mediaWorkers = o.clock !== undefined ? 0 : mediaWorkerCount(o.mediaWorkers);
    this.pool = o.engine ?? mediaEngine;
    this.mediaPriority = checkOneOf('mediaPriority', o.mediaPriority ?? 'normal', MEDIA_PRIORITIES);
    this.config = {
      allocator: o.allocator,
      engine: null,
      address: checkIpv4('address', address),
      codecs: o.codecs ?? G711_CODECS,
      dtmfMode: checkOneOf('dtmfMode', o.dtmfMode ?? 'rfc4733', SIP_DTMF_MODES),
      telephoneEventPt: o.telephoneEventPt ?? DEFAULT_TELEPHONE_EVENT_PT,
      encryption: checkOneOf('encryption', o.encryption ?? 'none', MEDIA_ENCRYPTIONS),
      clock: o.clock,
      log: o.log ?? SILENT_LOGGER,
    };
    // Codecs and payload type are LocalSdp's to check (with its messages): now, not at the first call.
    new LocalSdp({ address: this.config.address, port: o.allocator.rtpPortMin, codecs: this.config.codecs, telephoneEventPt: this.config.telephoneEventPt });
    this.sessionDescriptionHandlerFactory = (session) => this.create(session);
  }

  /** Handlers not closed yet (each holds, or is about to hold, a port pair). */
  get openHandlers(): number {
    return this.live.size;
  }

  /** The handler for a sip.js session: the one prepare() made for it, else a new one. */
  create(session?: Session): RtpDescriptionHandler {
    const ready = session && this.prepared.get(session);
    if (ready) {
      this.prepared.delete(session);
      if (!ready.closed) return ready;
    }
    this.usePool();
    const handler = new RtpDescriptionHandler(this.config);
    this.live.add(handler);
    handler.once('closed', () => this.live.delete(handler));
    return handler;
  }

  /**
   * Gets an incoming call's media ready before it is answered (or sent a 183): binds the ports and,
   * when the INVITE has an offer, makes our answer. Rejects with SdpNegotiationError (`statusCode`
   * 488) or RtpPortsExhaustedError (answer 503): reject the invitation with that code. Without this
   * step sip.js answers any handler failure during `accept()` with 480 (invitation.js
   * handleResponseError), which tells the caller the wrong thing.
   *
   * sip.js then gets this handler for the invitation; it is closed when the invitation ends, also if
   * it is never answered.
   */
  async prepare(invitation: Invitation): Promise<RtpDescriptionHandler> {
    const handler = this.create();
    this.prepared.set(invitation, handler);
    const onState = (state: SessionState): void => {
      if (state !== SessionState.Terminated) return;
      invitation.stateChange.removeListener(onState);
      void handler.close();
    };
    invitation.stateChange.addListener(onState);
    try {
      const body = Core.getBody(invitation.request);
      if (body && body.contentDisposition === 'session' && handler.hasDescription(body.contentType)) {
        await handler.setDescription(body.content);
      } else {
        await handler.open();
      }
      return handler;
    } catch (err) {
      this.prepared.delete(invitation);
      await handler.close();
      throw err;
    }
  }

  /** The line uses the media workers from its first call until closeAll(). */
  private usePool(): void {
    if (this.mediaWorkers === 0 || this.lease) return;
    this.lease = this.pool.acquire(this.mediaWorkers, { priority: this.mediaPriority, log: this.config.log });
    this.config.engine = this.pool;
  }

  /** Closes every handler of the line (the line is closing); its use of the media workers ends. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.live].map((h) => h.close()));
    const lease = this.lease;
    this.lease = null;
    this.config.engine = null;
    await lease?.release();
  }
}
