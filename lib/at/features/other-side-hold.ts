import { Call } from '../../call/call';
import { CallState } from '../../call/call-state';
import { printable } from '../../validate';
import { AtFeatureContext } from '../at-feature';
import { CSSU_HELD, CSSU_RETRIEVED, SsNotification, parseSsNotification } from '../urc-parsers';

/** Who holds a call: we (the module lists it held), the other side (`+CSSU: 2`), or both. */
interface HoldState {
  local: boolean;
  remote: boolean;
}

/** The state a call is given for what the module reported, and whose hold changed with it. */
export interface HoldView {
  state: CallState;
  heldBy?: 'local' | 'remote';
}

/**
 * The two holds of an AT call, as on a SIP line (lib/sip/sip-control.ts): ours, which the module
 * reports as the call's state (`+CLCC` / ccinfo / `^DSCI` "held"), and the other side's, which it
 * reports only with the supplementary service notification `+CSSU: 2` (held) / `+CSSU: 3` (retrieved)
 * after `AT+CSSN=1,1` (27.007 §7.17). A call is `held` while either side holds it, so each change is
 * one `held` / `resumed` event, with `heldBy` saying whose hold it was.
 *
 * `+CSSU` names no call (its `<index>` is a closed user group's). It is applied to:
 * - `+CSSU: 2`: the one connected call the other side does not hold yet; with several, the one the
 *   module has active (the held ones' parties hear nothing of us anyway);
 * - `+CSSU: 3`: the one call the other side holds.
 * When that is not one call, the line polls `AT+CLCC` (a call may have ended unseen) and tries again;
 * still ambiguous, the notification is logged and dropped: no call is moved on a guess.
 *
 * `+CSSI` (during our call's set-up: forwarded, waiting at the other side, barred...) and the other
 * `+CSSU` codes change no state: they are logged.
 */
export class OtherSideHold {
  private readonly holds = new WeakMap<Call, HoldState>();

  constructor(private readonly ctx: AtFeatureContext) {}

  /** The URC handlers (installed by the control feature). */
  readonly urcs = {
    '+CSSU:': (line: string): void => void this.onNotification(line),
    '+CSSI:': (line: string): void => void this.onNotification(line),
  };

  /** The other side holds `call` now (`+CSSU: 2` was applied to it). */
  heldByRemote(call: Call): boolean {
    return this.holds.get(call)?.remote === true;
  }

  /** We hold `call` (the module lists it held). */
  heldLocally(call: Call): boolean {
    return this.holdOf(call).local;
  }

  /**
   * What the module reported of a call (its own view: our hold only) → the state the call takes: an
   * active call the other side holds stays `held`. Called by the backend for every report.
   */
  follow(call: Call, reported: CallState): HoldView {
    const h = this.holdOf(call);
    if (reported === CallState.Held) {
      h.local = true;
      return { state: reported, heldBy: 'local' };
    }
    if (reported !== CallState.Active) return { state: reported };
    h.local = false;
    if (h.remote) return { state: CallState.Held, heldBy: 'remote' };
    return call.state === CallState.Held ? { state: reported, heldBy: 'local' } : { state: reported };
  }

  private async onNotification(line: string): Promise<void> {
    try {
      await this.handle(line);
    } catch (err) {
      // A URC never throws into the channel, nor leaves a rejected promise behind.
      this.ctx.log.warn(`control: ${printable(line)}: ${(err as Error).message}`);
    }
  }

  private async handle(line: string): Promise<void> {
    const n = parseSsNotification(line);
    if (!n) {
      this.ctx.log.debug(`control: ignoring "${printable(line)}" (not a supplementary service notification)`);
      return;
    }
    if (n.kind !== 'cssu' || (n.code !== CSSU_HELD && n.code !== CSSU_RETRIEVED)) {
      this.ctx.log.info(`control: the network says ${n.text} (${line})`);
      return;
    }
    let call = this.target(n);
    if (call === 'ambiguous') {
      await this.ctx.refresh();
      call = this.target(n);
    }
    if (call === 'ambiguous' || call === null) {
      this.ctx.log.warn(`control: ${line} (${n.text}): ${call === null ? 'no call it could be about' : 'several calls it could be about'}, ignored`);
      return;
    }
    this.apply(call, n.code === CSSU_HELD, line);
  }

  /** The call a hold notification is about, null when none fits, 'ambiguous' when several do. */
  private target(n: SsNotification): Call | null | 'ambiguous' {
    const connected = this.ctx.calls().filter((c) => c.state === CallState.Active || c.state === CallState.Held);
    let fits: Call[];
    if (n.code === CSSU_HELD) {
      fits = connected.filter((c) => !this.heldByRemote(c));
      if (fits.length > 1) fits = fits.filter((c) => !this.holdOf(c).local);
    } else {
      fits = connected.filter((c) => this.heldByRemote(c));
    }
    return fits.length === 1 ? fits[0] : fits.length === 0 ? null : 'ambiguous';
  }

  private apply(call: Call, held: boolean, evidence: string): void {
    const h = this.holdOf(call);
    h.remote = held;
    const reason = { text: held ? 'held by the other side' : 'resumed by the other side', evidence, heldBy: 'remote' as const };
    if (held && call.state === CallState.Active) call.transition(CallState.Held, reason);
    else if (!held && call.state === CallState.Held && !h.local) call.transition(CallState.Active, reason);
  }

  private holdOf(call: Call): HoldState {
    let h = this.holds.get(call);
    if (!h) this.holds.set(call, (h = { local: call.state === CallState.Held, remote: false }));
    return h;
  }
}
