import { Grammar, Invitation, SessionState, URI, UserAgent } from 'sip.js';
import type { Notification, Referral, Session } from 'sip.js';
import type { IncomingResponse } from 'sip.js/lib/core';
import type { Call } from '../call/call';
import { CallState } from '../call/call-state';
import { TransferProgress, transferCauseOfTargetEnd } from '../capabilities/forwarding';
import type { ForwardingCapability, ForwardRequest, ForwardRule, TransferCause } from '../capabilities/forwarding';
import { CallStateError, CommandFailedError, InvalidInputError, NotSupportedError } from '../errors';
import type { DialReferral } from '../backend';
import { isSipTarget, printable, validateCallTarget } from '../validate';
import { sipTargetKind, sipTargetUri, validateSipTarget } from './sip-target';
import type { SipCallContext, SipCallFeature, SipIncomingRefusal } from './sip-call-context';
import { isReferEvent, readReferNotify, sendReferNotify } from './sip-refer-notify';

/** What to do with a REFER the other side sends (it asks us to call someone and leave this call). */
export type IncomingReferPolicy = 'follow' | 'refuse';
export const INCOMING_REFER_POLICIES: readonly IncomingReferPolicy[] = ['follow', 'refuse'];

export interface SipForwardingOptions {
  /** Default `refuse`. */
  incomingRefer?: IncomingReferPolicy;
  /**
   * The host[:port] a number is made a SIP address with (`sip:<number>@<host>`): the backend passes
   * the one its dial uses (the domain, else the server). Without it: the host (and port) of the
   * line's address of record.
   */
  targetHost?: () => string;
  /**
   * How long a transfer of ours waits for the final NOTIFY after the REFER's 202, in ms (default
   * {@link TRANSFER_NOTIFY_TIMEOUT_MS}). An option of the backend, not a line setting: 64 × T1 is what
   * SIP gives a transaction; tests shorten it.
   */
  transferNotifyTimeoutMs?: number;
}

/**
 * How long a transfer waits for the transferee's final NOTIFY after its 202: 64 × T1, the longest a
 * SIP transaction lives (RFC 3261 timer B). A target still ringing then is given up on: the transfer
 * rejects and the call stays connected (a flow can hang it up; BYE-ing a call whose transfer may still
 * work would drop the caller).
 */
export const TRANSFER_NOTIFY_TIMEOUT_MS = 32_000;

/**
 * After a transfer of ours succeeded elsewhere (we followed their REFER; the target of an attended
 * transfer replaced the other call), the other side ends the old dialog itself (RFC 5589 §6-7). If it
 * has not within this time, we send the BYE.
 */
const OLD_DIALOG_GRACE_MS = 4000;

/** Response to a REFER we refuse (policy `refuse`, or one we cannot follow): 603 Decline (RFC 3261 §21.6.2, "does not wish to"). */
const REFUSE_CODE = 603;

/** One transfer of ours in progress (a REFER sent, waiting for its outcome). */
interface PendingTransfer {
  call: Call;
  session: Session;
  /** Its `transfer` reports. */
  progress: TransferProgress;
  /** Words for the target in messages: `3003`, `sip:bob@pbx`, `call <id> (2002)`. */
  what: string;
  resolve(): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
  /** The REFER got its 202. */
  accepted: boolean;
  done: boolean;
  /** The other call of an attended transfer: it ends `transferred` too. */
  other?: Call;
  /** Stops following the session. */
  cleanup(): void;
}

/**
 * Forwarding on a SIP line (docs/forwarding.md, "SIP lines"):
 * - divert: a ringing call is answered `302 Moved Temporarily`, `Contact: <target>`; it ends
 *   `redirected`, `by: "local"`, sipCode 302.
 * - blind transfer: `REFER` with `Refer-To: <target>`; the NOTIFYs' sipfrag become `transfer` reports;
 *   the final 2xx NOTIFY → we BYE and the call ends `transferred`; a refused REFER, a final non-2xx
 *   NOTIFY or no final NOTIFY within {@link TRANSFER_NOTIFY_TIMEOUT_MS} → the method rejects with a
 *   CommandFailedError naming the code and the call stays connected (design §5: BYE only after the
 *   final NOTIFY, or the late NOTIFY gets a 481).
 * - attended transfer: `REFER` to one call with `Refer-To: <the other's remote target?Replaces=...>`
 *   (sip.js builds it from the other Session); success ends both calls `transferred`.
 * - incoming REFER: `refuse` (default) → 603, the call goes on; `follow` → 202, we call the Refer-To
 *   address (host included) as a new call of the line, with the REFER's `Referred-By` and the
 *   Refer-To's `Replaces` (an attended transfer), NOTIFY its progress, and the original call ends
 *   `transferred`, `by: "remote"`, once the target answered.
 * - incoming INVITE with `Replaces` matching a connected call of ours: the new call is answered at
 *   once, and the old one ends `replaced` (BYE); one that matches no connected call is refused 481
 *   (RFC 3891 §3), never rung as a new call.
 * Network forwarding rules (`AT+CCFC`) are the mobile network's: a SIP line has none.
 */
export class SipForwarding implements ForwardingCapability, SipCallFeature {
  readonly name = 'forwarding';
  private readonly pending = new Set<PendingTransfer>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly ctx: SipCallContext,
    readonly options: SipForwardingOptions = {},
  ) {}

  /** REFER (transfers both ways) and the NOTIFYs of its subscription. */
  readonly allow = ['REFER', 'NOTIFY'] as const;
  /** RFC 3891: an INVITE with Replaces (attended transfer). */
  readonly supported = ['replaces'] as const;
  readonly session = {
    /** Takes the other side's REFERs (sip.js would follow them by itself without a delegate). */
    onRefer: (call: Call, referral: Referral): void => {
      const session = this.ctx.sessionOf(call);
      if (session) this.onRefer(call, session, referral);
      else referral.reject().catch(() => undefined);
    },
    /**
     * Attended transfer: the target replaces its call with us by the transferee's (INVITE with Replaces)
     * and then BYEs it (RFC 5589 §7), usually before the transferee's final NOTIFY reaches us (it sends
     * the BYE the moment it answers; the NOTIFY waits for the transferee to see that answer). A BYE on
     * the other call once the REFER was accepted is that replacement: the other call ends `transferred`,
     * `by: "remote"`, not `normal`. (If the target hung up for another reason in that moment, the transfer
     * itself still fails on its own NOTIFY; only the other call's cause would say `transferred`.)
     */
    onBye: (call: Call): void => {
      for (const p of [...this.pending]) {
        if (p.other !== call || p.done) continue;
        if (!p.accepted) {
          // The target hung up before the other side took the transfer: nothing is left to replace.
          const err = new CommandFailedError(`the transfer to ${p.what} failed: it hung up before the transfer was accepted; call ${p.call.id} is still connected`, 'BYE');
          this.fail(p, 'target-hangup', err, { evidence: 'BYE' });
          continue;
        }
        this.ctx.conclude(call, { cause: 'transferred', by: 'remote', text: `replaced at the other side by call ${p.call.id} (${p.call.remote.number || 'the transferee'}), which this line transferred there` });
      }
    },
  };

  /**
   * An INVITE with `Replaces` naming a connected call of ours: this call takes its place. One whose
   * Replaces names nothing we can replace is refused (RFC 3891 §3), before it is reported.
   */
  incoming(call: Call, invitation: Invitation): SipIncomingRefusal | void {
    const found = this.replaced(invitation);
    if (!found) return;
    if ('refuse' in found) return found;
    const old = found;
    this.ctx.log.info(`sip: call ${call.id} replaces call ${old.id} (INVITE with Replaces)`);
    invitation.stateChange.addListener((state) => {
      if (state !== SessionState.Established || old.ended) return;
      this.endOld(old, { cause: 'replaced', by: 'remote', text: `replaced by call ${call.id} (INVITE with Replaces)` }, 0);
    });
    // The backend reports the call and sends 180 right after this hook: answer after that.
    setImmediate(() => {
      if (call.ended || this.stopped) return;
      this.ctx.answer(call).catch((err: Error) => this.ctx.log.warn(`sip: answering call ${call.id}, which replaces call ${old.id}: ${err.message}`));
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const p of [...this.pending]) this.fail(p, 'failed', new CallStateError(`the line closed before the transfer of call ${p.call.id} to ${p.what} was done`));
  }

  async setRule(_request: ForwardRequest): Promise<ForwardRule[]> {
    throw new NotSupportedError(
      `network forwarding rules are not supported on a SIP line (${this.ctx.description()}): they are the mobile network's (AT+CCFC); set forwarding on the PBX`,
    );
  }

  // ───────────────────────────── divert: 302 ─────────────────────────────

  async divert(call: Call, number: string): Promise<void> {
    const target = this.targetUri(number, 'divert number');
    const session = this.ctx.sessionOf(call);
    if (
      call.direction !== 'inbound' ||
      (call.state !== CallState.Incoming && call.state !== CallState.Waiting) ||
      !(session instanceof Invitation) ||
      session.state !== SessionState.Initial
    ) {
      throw new CallStateError(`call ${call.id} is ${call.state}: only a ringing (incoming or waiting) call can be diverted`);
    }
    const contact = target.toString();
    this.ctx.conclude(call, { cause: 'redirected', by: 'local', sipCode: 302, text: `redirected to ${contact}` });
    // Invitation.reject sends a 3xx as a redirect, with our Contact header as given.
    await session.reject({ statusCode: 302, reasonPhrase: 'Moved Temporarily', extraHeaders: [`Contact: <${contact}>`] });
  }

  // ───────────────────────────── transfers we make: REFER ─────────────────────────────

  async transfer(call: Call, number: string): Promise<void> {
    const target = this.targetUri(number, 'transfer number');
    const session = this.established(call, 'transferred');
    const to = isSipTarget(number) ? target.toString() : number;
    await this.refer(call, session, target, new TransferProgress(call, { method: 'blind', role: 'transferor', to }), to);
  }

  async transferToCall(call: Call, other: Call, progress?: TransferProgress): Promise<void> {
    if (call === other) throw new InvalidInputError('a call cannot be transferred to itself: name the other call');
    const session = this.established(call, 'transferred');
    const otherSession = this.established(other, 'transferred to');
    const to = other.remote.number || other.remote.uri || 'the other call';
    await this.refer(call, session, otherSession, progress ?? new TransferProgress(call, { method: 'attended', role: 'transferor', to, target: other.id }), `call ${other.id} (${to})`, other);
  }

  /**
   * Sends the REFER and settles with the transfer's outcome: resolves after the final 2xx NOTIFY (the
   * BYE sent, the call ending `transferred`), rejects with the code otherwise (the call as it was).
   */
  private refer(call: Call, session: Session, referTo: URI | Session, progress: TransferProgress, what: string, other?: Call): Promise<void> {
    if ([...this.pending].some((p) => p.call === call)) {
      return Promise.reject(new CallStateError(`call ${call.id} is already being transferred: wait for that transfer's outcome`));
    }
    return new Promise<void>((resolve, reject) => {
      const onState = (state: SessionState): void => {
        if (state !== SessionState.Terminated) return;
        // Our party hung up (or the flow hung up this call) before the outcome: `hangup`.
        this.fail(p, 'hangup', new CallStateError(`call ${call.id} ended before the transfer to ${what} was done`));
      };
      const p: PendingTransfer = { call, session, progress, what, resolve, reject, accepted: false, done: false, other, cleanup: () => session.stateChange.removeListener(onState) };
      this.pending.add(p);
      session.stateChange.addListener(onState);
      progress.step('started', `asking the other side to call ${what} (REFER)`);
      session
        .refer(referTo, {
          requestDelegate: {
            onAccept: (response: IncomingResponse) => this.referAccepted(p, response),
            onReject: (response: IncomingResponse) => {
              const line = startLine(response);
              const code = response.message.statusCode ?? 0;
              const cause = referRefusalCause(code);
              const why = cause === 'timeout' ? 'no answer to the REFER' : cause === 'hangup' ? 'the other side no longer has this call' : 'the other side refused it';
              this.fail(p, cause, new CommandFailedError(`the transfer to ${what} failed: ${why} (${line}); call ${call.id} is still connected`, line), { sipCode: code, evidence: line });
            },
          },
          onNotify: (notification: Notification) => this.onReferNotify(p, notification),
        })
        .catch((err: Error) => this.fail(p, 'failed', new CallStateError(`call ${call.id} cannot be transferred now: ${err.message}`)));
    });
  }

  private referAccepted(p: PendingTransfer, response: IncomingResponse): void {
    if (p.done) return;
    p.accepted = true;
    const line = startLine(response);
    p.progress.step('accepted', `the other side accepted the transfer to ${p.what}`, { sipCode: response.message.statusCode, evidence: line });
    const timeoutMs = this.options.transferNotifyTimeoutMs ?? TRANSFER_NOTIFY_TIMEOUT_MS;
    p.timer = this.later(timeoutMs, () => {
      const text = `the transfer to ${p.what} failed: no final word (NOTIFY) from the other side within ${timeoutMs / 1000} s; call ${p.call.id} is still connected`;
      this.fail(p, 'timeout', new CommandFailedError(text, line));
    });
  }

  /** A NOTIFY of our REFER's subscription: progress, or the outcome. */
  private onReferNotify(p: PendingTransfer, notification: Notification): void {
    const message = notification.request;
    notification.accept().catch(() => undefined);
    if (p.done || !isReferEvent(message)) return;
    const n = readReferNotify(message);
    const evidence = { sipCode: n.code, evidence: n.statusLine };
    if (n.code !== undefined && n.code < 200) {
      p.progress.step('progress', n.code === 100 ? `calling ${p.what}` : `${p.what} is ringing`, evidence);
      if (!n.terminated) return;
    }
    if (n.code !== undefined && n.code >= 200 && n.code < 300) {
      this.succeeded(p, n.statusLine as string, n.code);
      return;
    }
    if (n.code !== undefined && n.code >= 300) {
      // An attended transfer whose other call (the target) ended meanwhile: the target hung up.
      const cause = p.other?.ended && p.other.end?.cause !== 'transferred' ? 'target-hangup' : sipfragCause(n.code);
      const text = `the transfer to ${p.what} failed: ${p.what} answered ${n.statusLine}; call ${p.call.id} is still connected`;
      this.fail(p, cause, new CommandFailedError(text, n.statusLine), evidence);
      return;
    }
    if (n.terminated) {
      const text = `the transfer to ${p.what} failed: the other side ended the transfer's subscription without a final answer${n.statusLine ? ` (last: ${n.statusLine})` : ''}; call ${p.call.id} is still connected`;
      this.fail(p, 'failed', new CommandFailedError(text, n.statusLine ?? 'NOTIFY Subscription-State: terminated'), evidence);
    }
  }

  /** The final 2xx NOTIFY: the call (and the other, attended) end `transferred`; our BYE goes now. */
  private succeeded(p: PendingTransfer, statusLine: string, code: number): void {
    const { call, other } = p;
    p.progress.outcome('normal', `${p.what} answered: the transfer succeeded`, { sipCode: code, evidence: statusLine });
    const end = (to: string) => ({ cause: 'transferred' as const, by: 'local' as const, text: `transferred to ${to} (${statusLine})` });
    this.ctx.conclude(call, end(p.what));
    // The other call is the target's to end (it BYEs the dialog the transferee replaced): `by: "remote"`,
    // as when its BYE came before this NOTIFY (session.onBye); we BYE it after the grace time if not.
    if (other) this.endOld(other, { ...end(call.remote.number || 'the other call'), by: 'remote' }, OLD_DIALOG_GRACE_MS);
    // Settled first: our own BYE ends the session, which is not a failure of the transfer.
    this.settle(p);
    this.ctx
      .hangup(call, { signal: 'normal', endCause: 'transferred', text: `transferred to ${p.what}` })
      .catch((err: Error) => this.ctx.log.warn(`sip: BYE after the transfer of call ${call.id}: ${err.message}`));
  }

  private settle(p: PendingTransfer, err?: Error): void {
    if (p.done) return;
    p.done = true;
    this.pending.delete(p);
    p.cleanup();
    if (p.timer) this.clear(p.timer);
    if (err) p.reject(err);
    else p.resolve();
  }

  /** The transfer failed: its outcome reported with `cause` (and the error's words), and the method rejects with `err`. */
  private fail(p: PendingTransfer, cause: TransferCause, err: Error, evidence: { sipCode?: number; evidence?: string } = {}): void {
    if (p.done) return;
    p.progress.outcome(cause, err.message, evidence);
    this.settle(p, err);
  }

  // ───────────────────────────── transfers asked of us: their REFER ─────────────────────────────

  private onRefer(call: Call, session: Session, referral: Referral): void {
    const request = referral.request;
    let referTo: URI;
    try {
      referTo = referral.referTo.uri;
    } catch {
      referral.reject({ statusCode: 400, reasonPhrase: 'Bad Refer-To' }).catch(() => undefined);
      this.ctx.log.info(`sip: refused a REFER on call ${call.id}: its Refer-To could not be read`);
      return;
    }
    const shown = printable(`${referTo.scheme}:${referTo.user ?? ''}@${referTo.host}${referTo.port ? `:${referTo.port}` : ''}`, 120);
    const replacesParam = referTo.getHeader('replaces');
    const progress = new TransferProgress(call, { method: replacesParam !== undefined ? 'attended' : 'blind', role: 'transferee', to: shown });
    const refuse = (why: string): void => {
      referral.reject({ statusCode: REFUSE_CODE }).catch(() => undefined);
      this.ctx.log.info(`sip: refused a REFER to ${shown} on call ${call.id} with ${REFUSE_CODE}: ${why}`);
      progress.outcome('failed', `the other side asked to transfer this call to ${shown}: refused (${why})`, { sipCode: REFUSE_CODE, evidence: `REFER ${request.ruri?.toString() ?? ''}`.trim() }, 'refused');
    };
    if ((this.options.incomingRefer ?? 'refuse') !== 'follow') return refuse('the line refuses transfers (incomingRefer: refuse)');
    if (call.state !== CallState.Active && call.state !== CallState.Held) return refuse(`the call is ${call.state}`);
    // The Refer-To as an address to dial (host and parameters kept, its ?headers taken apart): checked
    // as any dialled SIP address (validateCallTarget), then by SipBackend.dial again.
    const address = referTo.clone();
    address.clearHeaders();
    let target: string;
    try {
      target = validateCallTarget(address.toString(), 'transfer target');
    } catch {
      return refuse('the target is not a SIP address this line can call (sip:user@host)');
    }
    const dialReferral: DialReferral = {};
    if (replacesParam !== undefined) {
      // The only header of the Refer-To we put on the INVITE (RFC 3891 §3: its value is percent-encoded in the URI).
      if (replacesParam.length !== 1) return refuse('the Refer-To has more than one Replaces');
      try {
        dialReferral.replaces = decodeURIComponent(replacesParam[0]);
      } catch {
        return refuse('the Refer-To\'s Replaces cannot be decoded');
      }
    }
    const referredBy = request.getHeader('referred-by');
    if (referredBy) dialReferral.referredBy = referredBy;
    void this.follow(call, session, referral, target, dialReferral, progress);
  }

  /**
   * Follows a REFER: 202, NOTIFY 100, a new call of the line to the target (with `Replaces` and
   * `Referred-By` when the REFER gave them); its 180 and its outcome
   * are NOTIFYed; once it is answered, this call ends `transferred`, `by: "remote"` (the referrer
   * sends the BYE; we do after {@link OLD_DIALOG_GRACE_MS} if it does not).
   */
  private async follow(call: Call, session: Session, referral: Referral, to: string, dialReferral: DialReferral, progress: TransferProgress): Promise<void> {
    await referral.accept({ statusCode: 202 }).catch(() => undefined);
    progress.step('accepted', `the other side transfers this call to ${to}: calling it`, { sipCode: 202 });
    void sendReferNotify(session, 100, false);
    // A bad Referred-By or Replaces (from the network) makes dial throw: a failed transfer, NOTIFYed below.
    let target: Call;
    try {
      target = await this.ctx.dial(to, Object.keys(dialReferral).length > 0 ? { referral: dialReferral } : {});
    } catch (err) {
      void sendReferNotify(session, 503, true);
      progress.outcome('failed', `calling ${to} for the transfer failed: ${(err as Error).message}`, { sipCode: 503 });
      return;
    }
    let rang = false;
    const onTransition = (): void => {
      if (!rang && (target.state === CallState.Ringing || target.state === CallState.EarlyMedia)) {
        rang = true;
        void sendReferNotify(session, 180, false);
        progress.step('progress', `${to} is ringing`, { sipCode: 180 });
      } else if (target.state === CallState.Active) {
        target.off('transition', onTransition);
        void sendReferNotify(session, 200, true);
        progress.outcome('normal', `${to} answered (call ${target.id}): the transfer succeeded`, { sipCode: 200 });
        this.endOld(call, { cause: 'transferred', by: 'remote', text: `transferred by the other side to ${to} (call ${target.id})` }, OLD_DIALOG_GRACE_MS);
      } else if (target.ended) {
        const code = target.end?.sipCode ?? 487;
        void sendReferNotify(session, code, true);
        progress.outcome(transferCauseOfTargetEnd(target.end), `${to} did not answer (${target.end?.cause ?? 'ended'}): the transfer failed`, { sipCode: code });
      }
    };
    target.on('transition', onTransition);
    onTransition();
  }

  // ───────────────────────────── inside ─────────────────────────────

  /**
   * Ends a call another call took over: its end is recorded now; the other side normally sends the BYE
   * itself (it ends the old dialog), else we do after `graceMs`.
   */
  private endOld(call: Call, end: { cause: 'transferred' | 'replaced'; by: 'local' | 'remote'; text: string }, graceMs: number): void {
    this.ctx.conclude(call, end);
    const bye = (): void => {
      if (call.ended) return;
      this.ctx.hangup(call, { signal: 'normal', endCause: end.cause, text: end.text }).catch((err: Error) => this.ctx.log.warn(`sip: BYE of call ${call.id}: ${err.message}`));
    };
    if (graceMs <= 0) bye();
    else this.later(graceMs, bye);
  }

  /**
   * The connected call of ours that an INVITE's `Replaces` names (RFC 3891 §3); a refusal when it has
   * a Replaces we cannot honour: unreadable (400), naming no dialog of ours or one not connected (481),
   * `early-only` naming a connected one (486); undefined without Replaces.
   */
  private replaced(invitation: Invitation): Call | SipIncomingRefusal | undefined {
    const header = invitation.request.getHeader('replaces');
    if (header === undefined) return undefined;
    const r = Grammar.parse(header, 'Replaces') as { call_id?: string; replaces_to_tag?: string; replaces_from_tag?: string; early_only?: boolean } | -1;
    if (r === -1 || typeof r.call_id !== 'string') return { refuse: 400, why: 'the INVITE\'s Replaces header cannot be read' };
    for (const call of this.ctx.calls()) {
      const dialog = this.ctx.sessionOf(call)?.dialog;
      if (!dialog || dialog.callId !== r.call_id || dialog.localTag !== r.replaces_to_tag || dialog.remoteTag !== r.replaces_from_tag) continue;
      if (call.state !== CallState.Active && call.state !== CallState.Held) {
        return { refuse: 481, why: `the INVITE's Replaces names call ${call.id}, which is ${call.state}: only a connected call is replaced` };
      }
      if (r.early_only) return { refuse: 486, why: `the INVITE's Replaces names call ${call.id} with early-only, and it is connected` };
      return call;
    }
    return { refuse: 481, why: 'the INVITE\'s Replaces names no call of this line' };
  }

  private established(call: Call, what: string): Session {
    const session = this.ctx.sessionOf(call);
    if ((call.state !== CallState.Active && call.state !== CallState.Held) || !session || session.state !== SessionState.Established) {
      throw new CallStateError(`call ${call.id} is ${call.state}: only a connected call can be ${what}`);
    }
    return session;
  }

  /** The SIP address of a target: as a dialled one (lib/sip/sip-target.ts: numbers, users, sip:, tel:). */
  private targetUri(target: string, what: string): URI {
    const text = validateSipTarget(target, what);
    return sipTargetUri(text, sipTargetKind(text) === 'sip' ? '' : (this.options.targetHost?.() ?? this.aorHost()), what).uri;
  }

  /** The host[:port] of the line's address of record (the domain, else the server's host). */
  private aorHost(): string {
    const aor = this.ctx.userAgent()?.configuration.uri;
    if (!aor) throw new CallStateError(`the line (${this.ctx.description()}) is not connected`);
    return aor.port ? `${aor.host}:${aor.port}` : aor.host;
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private clear(t: NodeJS.Timeout): void {
    clearTimeout(t);
    this.timers.delete(t);
  }
}

function startLine(response: IncomingResponse): string {
  const m = response.message;
  return `SIP/2.0 ${m.statusCode ?? ''} ${m.reasonPhrase ?? ''}`.trim();
}

/**
 * The transfer cause of a final non-2xx status of the transferee's call to the target (the sipfrag of
 * the last NOTIFY, RFC 3515 §2.4.5): 486 Busy Here and 600 Busy Everywhere → `target-busy`; 408 Request
 * Timeout (no answer in time) → `timeout`; 487 Request Terminated (the call to the target was torn down
 * before it answered) → `target-hangup`; any other 4xx-6xx (603 Decline, 403, 404, 480, ...) →
 * `target-rejected`; a 3xx (a redirect the transferee did not follow) → `failed`.
 */
export function sipfragCause(code: number): TransferCause {
  if (code === 486 || code === 600) return 'target-busy';
  if (code === 408) return 'timeout';
  if (code === 487) return 'target-hangup';
  if (code >= 400) return 'target-rejected';
  return 'failed';
}

/**
 * The transfer cause of a refused REFER (the transferee's own answer; the target was not called): 408
 * (sip.js's answer when the REFER got none) → `timeout`; 481 (the other side no longer has the dialog:
 * our party hung up, its BYE on the way) → `hangup`; anything else (405, 501, 403, 603, ...: it will not
 * or cannot transfer) → `failed`.
 */
export function referRefusalCause(code: number): TransferCause {
  if (code === 408) return 'timeout';
  if (code === 481) return 'hangup';
  return 'failed';
}
