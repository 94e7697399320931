/**
 * One REGISTER exchange at a time, on sip.js's user agent core (digest authentication, transactions),
 * with the outcome as a value: the granted expiry, or the failure with its SIP code.
 *
 * Why not sip.js's `Registerer` (node_modules/sip.js/lib/api/registerer.js): it refreshes on its own
 * timer and calls `this.register()` without handling the rejected promise it returns when a REGISTER is
 * still in flight (registerer.js:565-567: an unhandled rejection in Node), it only reports failures as
 * a state change (the SIP code of a failed refresh is lost), and it cannot be restarted after the
 * transport came back without first trying to unregister. The line needs all three (a failure event
 * with its code, re-registering after a reconnect, a bounded close), so the timing lives in
 * SipUserAgent and this class only sends.
 */
import { Core, URI, UserAgent } from 'sip.js';
import type { IncomingResponse, OutgoingRequestDelegate } from 'sip.js/lib/core';

export type RegistrationOutcome =
  | { ok: true; code: number; expires: number }
  | {
      ok: false;
      code: number;
      phrase: string;
      /** True when sip.js made this answer up: no response came (408) or the message could not be sent (503). */
      local: boolean;
      /** Seconds the server asked us to wait (Retry-After), if any. */
      retryAfter?: number;
    };

export interface SipRegistrationOptions {
  /** The registrar's URI (Request-URI of the REGISTER). */
  registrar: URI;
  /** The address of record (To and From). */
  aor: URI;
  /** Requested expiry in seconds. */
  expires: number;
  extraHeaders?: string[];
}

const ALLOW = 'Allow: ACK, CANCEL, INVITE, MESSAGE, BYE, OPTIONS, INFO, NOTIFY, REFER';

export class SipRegistration {
  private readonly request: Core.OutgoingRequestMessage;
  private expires: number;
  private inFlight: Promise<RegistrationOutcome> | undefined;

  constructor(
    private readonly ua: UserAgent,
    private readonly options: SipRegistrationOptions,
  ) {
    this.expires = options.expires;
    // One request object for the life of the registration: RFC 3261 §10.2 wants the same Call-ID
    // and an increasing CSeq for every REGISTER to a registrar (sip.js bumps it again when it
    // answers a digest challenge).
    this.request = ua.userAgentCore.makeOutgoingRequestMessage('REGISTER', options.registrar, options.aor, options.aor, {}, []);
  }

  /** The expiry we ask for (raised after a 423 Interval Too Brief). */
  get requestedExpires(): number {
    return this.expires;
  }

  /** Sends a REGISTER for our current Contact. Resolves with the outcome; never rejects. */
  register(): Promise<RegistrationOutcome> {
    return this.exclusive(async () => {
      let outcome = await this.send(this.expires);
      if (!outcome.ok && outcome.code === 423 && this.minExpires !== undefined && this.minExpires > this.expires) {
        // RFC 3261 §10.2.8: retry once with the registrar's minimum.
        this.expires = this.minExpires;
        outcome = await this.send(this.expires);
      }
      return outcome;
    });
  }

  /** Removes our Contact (expires=0). Resolves with the outcome; never rejects. */
  unregister(): Promise<RegistrationOutcome> {
    return this.exclusive(() => this.send(0));
  }

  private minExpires: number | undefined;
  /** The Contact of our last successful registration. */
  private boundContact: string | undefined;
  /** Settles the REGISTER in flight, if any. */
  private settle: ((outcome: RegistrationOutcome) => void) | undefined;

  /**
   * Gives up waiting for the REGISTER in flight (its transport is gone): it resolves now as a local
   * failure, and the next REGISTER need not wait for its 32 s timeout. A late answer to it is ignored
   * (a newer CSeq follows).
   */
  abandon(): void {
    this.settle?.({ ok: false, code: 0, phrase: 'abandoned', local: true });
  }

  /** RFC 3261 §10.2: no new REGISTER before the previous one got its final response. */
  private exclusive(fn: () => Promise<RegistrationOutcome>): Promise<RegistrationOutcome> {
    const previous = this.inFlight ?? Promise.resolve(undefined);
    const next = previous.then(fn, fn);
    this.inFlight = next;
    void next.finally(() => {
      if (this.inFlight === next) this.inFlight = undefined;
    });
    return next;
  }

  private send(expires: number): Promise<RegistrationOutcome> {
    return new Promise<RegistrationOutcome>((settle) => {
      const resolve = (outcome: RegistrationOutcome): void => {
        if (this.settle === resolve) this.settle = undefined;
        settle(outcome);
      };
      this.settle = resolve;
      const contact = this.ua.contact.toString({ register: true });
      // After a reconnect our Contact may have a new port (a new TCP connection): the binding for the
      // old one is removed in the same REGISTER, so that the server does not keep calling a dead address.
      const stale = this.boundContact !== undefined && this.boundContact !== contact ? [`Contact: ${this.boundContact};expires=0`] : [];
      this.request.cseq++;
      this.request.setHeader('cseq', `${this.request.cseq} REGISTER`);
      this.request.extraHeaders = [...(this.options.extraHeaders ?? []), `Contact: ${contact};expires=${expires}`, ...stale, ALLOW];
      const failed = (response: IncomingResponse): void => {
        const message = response.message;
        const retryAfter = Number.parseInt(message.getHeader('retry-after') ?? '', 10);
        if (message.statusCode === 423) this.minExpires = Number.parseInt(message.getHeader('min-expires') ?? '', 10) || undefined;
        resolve({
          ok: false,
          code: message.statusCode ?? 0,
          phrase: message.reasonPhrase ?? '',
          // sip.js's own 408/503 (user-agent-client.js:211-240) is a bare message without a Via.
          local: !message.hasHeader('via'),
          retryAfter: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
        });
      };
      const delegate: OutgoingRequestDelegate = {
        onAccept: (response) => {
          this.boundContact = expires === 0 ? undefined : contact;
          resolve({ ok: true, code: response.message.statusCode ?? 200, expires: expires === 0 ? 0 : this.grantedExpires(response, expires) });
        },
        onReject: failed,
        onRedirect: failed,
      };
      try {
        this.ua.userAgentCore.register(this.request, delegate);
      } catch (err) {
        resolve({ ok: false, code: 503, phrase: err instanceof Error ? err.message : String(err), local: true });
      }
    });
  }

  /**
   * The expiry the registrar granted our binding: the `expires` parameter of our Contact in the 200
   * (RFC 3261 §10.2.4), else the Expires header, else what we asked for.
   */
  private grantedExpires(response: IncomingResponse, asked: number): number {
    const message = response.message;
    const ours = this.ua.contact.uri;
    const count = message.getHeaders('contact').length;
    for (let i = 0; i < count; i++) {
      const contact = message.parseHeader('contact', i) as { uri?: URI; getParam(name: string): string | undefined } | undefined;
      const uri = contact?.uri;
      if (!uri || uri.user !== ours.user || uri.host.toLowerCase() !== ours.host.toLowerCase() || (uri.port ?? 0) !== (ours.port ?? 0)) continue;
      const value = Number(contact.getParam('expires'));
      if (Number.isFinite(value) && value >= 0) return value;
    }
    const header = Number(message.getHeader('expires'));
    return Number.isFinite(header) && header > 0 ? header : asked;
  }
}
