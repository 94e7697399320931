/**
 * The table of the module's calls: every source of call information (RING, +CRING, +CLIP, +CCWA,
 * ^DSCI, +QIND "ccinfo", the call progress results no command owned, and `AT+CLCC`, which is the
 * truth) is turned into observations of the modem's calls and reconciled against one table of
 * {@link CallRecord}s, so that a call announced three times (RING, +CLIP and ccinfo) is still one
 * `incoming` event. `AT+CLCC` is polled only while a call is not idle. A call leaves the table when
 * the module's list or a URC naming it says it is gone; call-end.ts works out why.
 */
import { Logger } from '../backend';
import { Call, CallInfo, TransitionReason } from '../call/call';
import { CallState, isAlerting } from '../call/call-state';
import { EndInfo } from '../call/cause';
import { CallStateError } from '../errors';
import { AtChannel, AtResponse } from './at-channel';
import { CALL_FINALS, EndEvidence, infoAs, workOutEnd } from './call-end';
import type { AtTiming } from './modem-backend';
import type { HoldView } from './features/other-side-hold';
import { CallReport } from './modem-profile';
import { CallObservation, CallerId, ClccStat, parseCcinfo, parseCcwa, parseClcc, parseClip, parseDsci } from './urc-parsers';

/** The backend's bookkeeping for one call: the modem's index and what we asked of it. */
export interface CallRecord extends EndEvidence {
  /** The modem's call index once known (never invented). */
  index?: number;
  /**
   * The {@link CallTable} sequence number of the latest URC about this call (or its creation). An
   * AT+CLCC answer sent before it is older news: it neither moves nor ends the call.
   */
  touched?: number;
  /** The modem's latest report of the call (^DSCI, ccinfo, +CLCC), for the events' `payload.callInfo`. */
  info?: CallInfo;
  /** The module took our request to end it (its command's `OK`): the call is on its way out. */
  hangupAcked?: boolean;
  /** AT+CLCC answers that did not list the call while it had no index yet (see doPoll). */
  unlisted?: number;
  /** The {@link CallTable} sequence number when an unowned call progress result became `progress`. */
  progressSeq?: number;
}

/** What the table needs of the backend. */
export interface CallTableHost {
  readonly log: Logger;
  readonly lineId: string;
  readonly timing: AtTiming;
  /** The channel while the line is ready (null while it is down or stopped). */
  readyChannel(): AtChannel | null;
  /** How the module reports call state: URCs, or only AT+CLCC (`poll`). */
  callReport(): CallReport;
  /** A new call: the backend's `call` event. */
  announce(call: Call): void;
  /**
   * The state to give `call` when the modem reports `reported`, and who holds it: the other side's
   * hold (+CSSU) is followed by the control feature.
   */
  follow(call: Call, reported: CallState): HoldView;
}

/**
 * AT+CLCC answers that may leave out a call we dialled (the module's `OK` to `ATD` came, its list
 * lags) before the call is taken as gone. Counted in answers, not time.
 */
const UNLISTED_POLLS = 2;

const STAT_TO_STATE: Record<number, CallState> = {
  [ClccStat.Active]: CallState.Active,
  [ClccStat.Held]: CallState.Held,
  [ClccStat.Dialing]: CallState.Dialing,
  [ClccStat.Alerting]: CallState.Ringing,
  [ClccStat.Incoming]: CallState.Incoming,
  [ClccStat.Waiting]: CallState.Waiting,
};

export class CallTable {
  /** The calls in progress on the module. */
  private readonly records = new Map<string, CallRecord>();
  /**
   * Calls the module released whose end is being worked out (+CEER, or the round trip that collects
   * what the module printed about the release): no longer in progress, still the owner of a call
   * progress result that arrives meanwhile (see {@link finishCall}).
   */
  private readonly releasing = new Map<string, CallRecord>();
  /** Waiting in {@link afterReleases}. */
  private releaseWaiters: Array<() => void> = [];
  private pollTimer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  /** A bare RING waiting for the caller's number (see AtTiming.ringClipWaitMs). */
  private ringWait: NodeJS.Timeout | null = null;
  /**
   * Counts URC observations. Every URC about a call (and every release by URC) is stamped with it, so
   * that a poll can tell which of its lines are older than what a URC already said (see doPoll).
   */
  private seq = 0;
  /** Modem indexes released by a URC, with the {@link seq} of that release. */
  private readonly releasedAt = new Map<number, number>();

  constructor(private readonly host: CallTableHost) {}

  /** The calls in progress. */
  calls(): Call[] {
    return [...this.records.values()].map((r) => r.call);
  }

  get size(): number {
    return this.records.size;
  }

  /** Records of the calls in progress (for the actions: which command, which index). */
  live(): CallRecord[] {
    return [...this.records.values()];
  }

  callByIndex(index: number): Call | undefined {
    return [...this.records.values()].find((r) => r.index === index)?.call;
  }

  /** The call-state URCs this table follows, by prefix (the backend subscribes them on each channel). */
  urcHandlers(): Record<string, (line: string) => void> {
    const incoming = (line: string): void => this.onIncomingIndication(line, null);
    const handlers: Record<string, (line: string) => void> = {
      RING: incoming,
      '+CRING:': incoming,
      '+CLIP:': (line) => this.onIncomingIndication(line, parseClip(line)),
      '+CCWA:': (line) => this.onIncomingIndication(line, parseCcwa(line), true),
      '^DSCI:': (line) => this.onObservation(parseDsci(line), line),
      '+QIND: "ccinfo"': (line) => this.onObservation(parseCcinfo(line), line),
    };
    for (const f of CALL_FINALS) handlers[f] = (line) => this.onCallFinal(line);
    return handlers;
  }

  clearRingWait(): void {
    if (this.ringWait) clearTimeout(this.ringWait);
    this.ringWait = null;
  }

  /** The port was lost: a call that is gone after the reconnect ended for a reason we cannot know. */
  markLost(): void {
    for (const rec of this.records.values()) rec.lostContact = true;
  }

  /** Ends every call in progress with `end` (the line closed, the module restarted). */
  endAll(end: EndInfo, evidence: string): void {
    for (const rec of [...this.records.values()]) this.endCall(rec, end, evidence);
  }

  /** The flow's (or a feature's) request to end `call`, or none, before its command is sent. */
  expectEnd(call: Call, end: EndEvidence['hangup'] | null): void {
    const rec = this.records.get(call.id);
    if (rec) rec.hangup = end ?? undefined;
    this.releaseChanged();
  }

  /** RING, +CRING, +CLIP, +CCWA: an incoming call, perhaps already known from another URC. */
  private onIncomingIndication(
    evidence: string,
    id: CallerId | null,
    waiting = false,
    waited = false,
  ): void {
    let rec = [...this.records.values()].find(
      (r) => r.call.direction === 'inbound' && (r.call.state === CallState.Incoming || r.call.state === CallState.Waiting),
    );
    if (!rec && !id && !waited) {
      // A bare RING says nothing of the caller: give the +CLIP (or ^DSCI / ccinfo / AT+CLCC) that
      // follows it a moment, so that the flow's `incoming` event carries the number.
      if (!this.ringWait) {
        this.ringWait = setTimeout(() => {
          this.ringWait = null;
          if (!this.host.readyChannel()) return;
          this.onIncomingIndication(evidence, null, waiting, true);
        }, this.host.timing.ringClipWaitMs);
      }
      this.schedulePoll(0);
      return;
    }
    if (!rec) {
      // A call we asked the module to end (and it said OK) is leaving: it makes no other call waiting.
      const others = [...this.records.values()].some((r) => !r.hangupAcked);
      rec = this.createCall('inbound', id?.number ?? '', waiting || others ? CallState.Waiting : CallState.Incoming, {
        text: waiting || others ? 'a call is waiting' : 'an incoming call',
        evidence,
      }, undefined, id);
    } else if (id && id.number && !rec.call.remote.number) {
      rec.call.remote.number = id.number;
      if (id.name) rec.call.remote.name = id.name;
    }
    if (id?.withheld && !rec.call.remote.withheld) Object.assign(rec.call.remote, { withheld: true, withheldReason: id.withheld });
    rec.touched = ++this.seq;
    this.schedulePoll(0);
  }

  /** ^DSCI / ccinfo (URCs) or +CLCC (`fromPoll`): the modem's own view of one call. */
  private onObservation(o: CallObservation | null, evidence: string, fromPoll = false): void {
    if (!o) {
      this.host.log.debug(`unreadable call report: ${evidence}`);
      return;
    }
    if (o.mode !== 0) return; // a data or fax "call" (some modules list the PDP context): not ours
    const rec = this.recordFor(o);
    if (!fromPoll) {
      if (rec) rec.touched = ++this.seq;
      if (o.stat === ClccStat.Released) this.releasedAt.set(o.index, ++this.seq);
    }
    // The modem speaks of the call now: whatever happened while the port was away, it is known.
    if (rec) rec.lostContact = false;
    const info = callInfoOf(o);
    if (rec?.info?.inbandTones !== undefined && info.inbandTones === undefined) info.inbandTones = rec.info.inbandTones;
    if (rec) rec.info = info;
    if (o.stat === ClccStat.Released) {
      if (rec) {
        if (o.q850 !== undefined) rec.q850 = o.q850;
        void this.finishCall(rec, evidence);
      } else if (o.q850 !== undefined) {
        // The release of a call already ending (its ATD failed first): its cause is evidence still.
        const ending = [...this.releasing.values()].find((r) => r.index === o.index);
        if (ending && ending.q850 === undefined) ending.q850 = o.q850;
      }
      return;
    }
    const state = STAT_TO_STATE[o.stat];
    if (!rec && o.dir === 1 && o.number === '' && isAlerting(state)) {
      // A caller without a number: the +CLIP / +CCWA that says why (withheld...) follows, as after a bare RING.
      this.onIncomingIndication(evidence, null, state === CallState.Waiting);
      return;
    }
    if (!rec) {
      const dir = o.dir === 0 ? 'outbound' : 'inbound';
      this.createCall(dir, o.number, state, { text: `reported by the modem`, evidence, callInfo: info }, o.index).info = info;
    } else {
      if (o.number && !rec.call.remote.number) rec.call.remote.number = o.number;
      this.move(rec, state, evidence);
    }
    this.schedulePoll();
  }

  /**
   * The record an observation is about: by the modem's index, else the one call of that direction
   * that has no index yet (our dial before the modem numbered it; an incoming call seen by RING).
   */
  private recordFor(o: CallObservation): CallRecord | undefined {
    const all = [...this.records.values()];
    const dir = o.dir === 0 ? 'outbound' : 'inbound';
    const byIndex = all.find((r) => r.index === o.index);
    if (byIndex && (byIndex.call.direction === dir || o.stat === ClccStat.Released)) return byIndex;
    if (byIndex) {
      // The modem reuses a freed index: a call of the other direction under ours means that ours is
      // gone and its release was never seen (it ended while the port was away).
      void this.finishCall(byIndex, `index ${o.index} now belongs to another call`);
    }
    const pending = all.find((r) => r.index === undefined && r.call.direction === dir);
    if (pending) {
      pending.index = o.index;
      pending.call.index = o.index;
    }
    return pending;
  }

  private move(rec: CallRecord, reported: CallState, evidence: string): void {
    const { call } = rec;
    const { state, heldBy } = this.host.follow(call, reported); // the other side's hold (+CSSU) too
    if (call.state === state) return;
    if (!call.canTransition(state)) {
      this.host.log.debug(`call ${call.index ?? '?'}: ignoring ${call.state} → ${state} (${evidence})`);
      return;
    }
    call.transition(state, { text: describeState(state, call), evidence, ...(heldBy ? { heldBy } : {}), ...(rec.info ? { callInfo: rec.info } : {}) });
  }

  /**
   * NO CARRIER, BUSY, NO ANSWER, NO DIALTONE that no command in flight owned: some call ended, and
   * AT+CLCC (or a URC naming its index) tells which; this line never ends a call by itself. It is
   * kept as evidence of the one call being released, or else of the only call in progress.
   */
  private onCallFinal(line: string): void {
    const releasing = [...this.releasing.values()];
    const live = [...this.records.values()];
    const owner = releasing.length > 0 ? (releasing.length === 1 ? releasing[0] : undefined) : live.length === 1 ? live[0] : undefined;
    if (owner && owner.progress === undefined) {
      owner.progress = line;
      owner.progressSeq = ++this.seq;
    } else this.host.log.debug(`${line}: no single call it can be about`);
    this.schedulePoll(0);
  }

  /** Polls AT+CLCC after `delayMs`, if a call is not idle (or `force`). */
  schedulePoll(delayMs?: number): void {
    if (!this.host.readyChannel()) return;
    if (this.records.size === 0 && delayMs === undefined) return;
    const ms = delayMs ?? (this.host.callReport() === 'poll' ? this.host.timing.pollMs : this.host.timing.pollWithUrcMs);
    if (this.pollTimer) {
      if (delayMs !== 0) return;
      clearTimeout(this.pollTimer);
    }
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      void this.poll();
    }, ms);
  }

  stopPolling(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  /** One AT+CLCC, diffed against the table. Concurrent requests share one poll. */
  poll(): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = this.doPoll().finally(() => {
      this.polling = null;
      if (this.records.size > 0) this.schedulePoll();
    });
    return this.polling;
  }

  private async doPoll(): Promise<void> {
    const ch = this.host.readyChannel();
    if (!ch) return;
    let res: AtResponse;
    // The answer is read a little after the modem wrote it: a URC right behind its OK is handled
    // first. What a URC said after `mark` is newer than this list, which must not undo it (end a call
    // just announced, revive one just released, move a call back to an older state).
    const mark = this.seq;
    const newer = (index: number): boolean =>
      (this.releasedAt.get(index) ?? -1) > mark || [...this.records.values()].some((r) => r.index === index && (r.touched ?? -1) > mark);
    try {
      res = await ch.send('AT+CLCC', { expect: ['+CLCC:'] });
    } catch (err) {
      this.host.log.debug(`AT+CLCC: ${(err as Error).message}`);
      return;
    }
    const seen = new Set<string>();
    for (const line of res.lines) {
      const o = parseClcc(line);
      if (!o || o.mode !== 0) continue;
      if (!newer(o.index)) this.onObservation(o, line, true);
      const rec = [...this.records.values()].find((r) => r.index === o.index);
      if (rec) seen.add(rec.call.id);
      // A call progress result that came before this AT+CLCC was sent, which still lists the call, was
      // not about its end: it is no evidence of it any more.
      if (rec && rec.progressSeq !== undefined && rec.progressSeq <= mark) rec.progress = rec.progressSeq = undefined;
    }
    for (const [index, at] of this.releasedAt) if (at <= mark) this.releasedAt.delete(index);
    // A call the modem no longer lists is over. A call that the modem has not numbered yet (our dial,
    // its list lagging behind its OK) is given UNLISTED_POLLS answers, unless a result says it ended.
    const ends: Promise<void>[] = [];
    for (const rec of [...this.records.values()]) {
      if (seen.has(rec.call.id) || (rec.touched ?? -1) > mark) continue;
      if (rec.index === undefined && !rec.progress && !rec.hangup && (rec.unlisted = (rec.unlisted ?? 0) + 1) <= UNLISTED_POLLS) continue;
      // This answer came after anything the module printed about the release: no round trip is needed.
      ends.push(this.finishCall(rec, `not listed by AT+CLCC${rec.progress ? ` after ${rec.progress}` : ''}`, true));
    }
    await Promise.all(ends);
  }

  /**
   * The modem says the call is gone: work out why (our request, ^DSCI cause, call progress result,
   * +CEER) and end it. The call leaves the table at once (a second report of the same release does
   * nothing) for {@link releasing}, where it still owns a call progress result that arrives before
   * one command after the release has been answered: the channel is ordered, so by then the module
   * has said all it had to say about it (`BUSY` after an ASR `^DSCI` release, `NO CARRIER` after our
   * own). That command is `AT+CEER` when the cause is still unknown, else a bare round trip
   * (`AT+CLCC`, its answer unused), unless the release was seen in an AT+CLCC answer (`fenced`).
   */
  finishCall(rec: CallRecord, evidence: string, fenced = false): Promise<void> {
    if (rec.call.ended || !this.records.delete(rec.call.id)) return Promise.resolve();
    this.releasing.set(rec.call.id, rec);
    return workOutEnd(rec, fenced, { channel: () => this.host.readyChannel() })
      .then((end) => this.endCall(rec, end, evidence, true))
      .catch((err: Error) => this.host.log.warn(`working out how call ${rec.call.index ?? '?'} ended: ${err.message}`))
      .finally(() => {
        this.releasing.delete(rec.call.id);
        // Whatever went wrong, the call ends.
        if (!rec.call.ended) this.endCall(rec, { cause: 'failed', by: 'remote', text: 'the call ended' }, evidence, true);
        this.releaseChanged();
      });
  }

  endCall(rec: CallRecord, end: EndInfo, evidence: string, claimed = false): void {
    if (!claimed) this.records.delete(rec.call.id);
    if (rec.call.ended) return;
    const callInfo = infoAs(rec, 'released');
    try {
      rec.call.transition(CallState.Ended, { text: end.text ?? `ended (${end.cause})`, evidence, end, ...(callInfo ? { callInfo } : {}) });
    } finally {
      this.releaseChanged();
    }
  }

  /** Wakes {@link afterReleases}: a call ended, or a hang-up failed. */
  releaseChanged(): void {
    for (const wake of this.releaseWaiters.splice(0)) wake();
  }

  /**
   * Resolves once no call is being released: none whose end is being worked out, none we asked the
   * module to end (its command in flight, or answered `OK`). `dial()` and `answer()` wait here, so
   * that what the module still prints about the old call (a `NO CARRIER`) has come before the new
   * command is sent, and is never taken for its result. Bounded by the call command timeout (a module
   * that never lets a call go). Resolves to true when it waited.
   */
  async afterReleases(): Promise<boolean> {
    const leaving = (): boolean => this.releasing.size > 0 || [...this.records.values()].some((r) => r.hangup);
    if (!leaving()) return false;
    const limit = delay(this.host.timing.callCommandTimeoutMs).then(() => 'timeout' as const);
    while (leaving()) {
      const changed = new Promise<'changed'>((resolve) => this.releaseWaiters.push(() => resolve('changed')));
      if ((await Promise.race([changed, limit])) === 'timeout') {
        this.host.log.warn('a call the modem was asked to end is still up: going on');
        break;
      }
    }
    return true;
  }

  createCall(
    direction: 'inbound' | 'outbound',
    number: string,
    state: CallState,
    reason: TransitionReason,
    index?: number,
    caller?: Pick<CallerId, 'name' | 'withheld'> | null,
  ): CallRecord {
    const call = new Call({
      line: this.host.lineId,
      direction,
      remote: { number, ...(caller?.name ? { name: caller.name } : {}), ...(caller?.withheld ? { withheld: true, withheldReason: caller.withheld } : {}) },
      state,
      reason,
      index,
    });
    const rec: CallRecord = { call, index, touched: ++this.seq };
    if (direction === 'inbound') this.clearRingWait();
    this.records.set(call.id, rec);
    this.host.announce(call);
    return rec;
  }

  recordOf(call: Call): CallRecord {
    const rec = this.records.get(call.id);
    if (!rec) throw new CallStateError(`call ${call.id} is not in progress on this modem`);
    return rec;
  }
}

/** Resolves after `ms` (an unref'd timer: it never keeps the process up). */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

const STATUS_OF_STAT: Record<number, CallInfo['status']> = {
  [ClccStat.Active]: 'active',
  [ClccStat.Held]: 'held',
  [ClccStat.Dialing]: 'dialing',
  [ClccStat.Alerting]: 'alerting',
  [ClccStat.Incoming]: 'incoming',
  [ClccStat.Waiting]: 'waiting',
  [ClccStat.Released]: 'released',
};

/** An observation as the backend-neutral CallInfo of the events (QuecPython voiceCall's VoLTE fields). */
function callInfoOf(o: CallObservation): CallInfo {
  const info: CallInfo = { index: o.index, direction: o.dir === 0 ? 'outbound' : 'inbound', status: STATUS_OF_STAT[o.stat], type: 'voice', number: o.number };
  if (o.multiparty !== undefined) info.multiparty = o.multiparty;
  if (o.numberType !== undefined) info.numberType = o.numberType;
  if (o.inbandTones !== undefined) info.inbandTones = o.inbandTones;
  return info;
}

function describeState(state: CallState, call: Call): string {
  switch (state) {
    case CallState.Ringing:
      return 'the other side is ringing';
    case CallState.Active:
      return call.direction === 'outbound' ? 'the other side answered' : 'answered';
    case CallState.Held:
      return 'on hold';
    case CallState.Waiting:
      return 'a call is waiting';
    default:
      return state;
  }
}

