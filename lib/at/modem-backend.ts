import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { Backend, DialOptions, HangupRequest, LineStatus, Logger, SILENT_LOGGER } from '../backend';
import { Call, CallInfo, TransitionReason } from '../call/call';
import { CallState, isAlerting } from '../call/call-state';
import { Cause, EndInfo, causeFromQ850, q850ForHangup } from '../call/cause';
import { CallStateError, CommandFailedError, LineNotReadyError } from '../errors';
import { validatePhoneNumber } from '../validate';
import { AtChannel, AtCommandOptions, AtError, AtResponse } from './at-channel';
import { CallReport, ModemIdentity, ModemProfile, detectProfile, profileByName } from './modem-profile';
import { SerialDevice, createSerialDevice } from './serial-device';
import type { EmulatedModem } from './emulator/emulated-modem';
import { AtFeatureContext, AtFeatureHooks } from './at-feature';
import { AtDtmf } from './features/dtmf';
import { AtControl } from './features/control';
import { AtForwarding } from './features/forwarding';
import { AtAudio } from './features/audio';
import {
  CallObservation,
  ClccStat,
  parseCcinfo,
  parseCcwa,
  parseCeer,
  parseClcc,
  parseClip,
  parseDsci,
  q850FromText,
} from './urc-parsers';

export interface AtTiming {
  /** Configuration commands (design §4: ~300 ms). */
  commandTimeoutMs: number;
  /** ATD, ATA, CHUP, CCFC: up to 90 s. */
  callCommandTimeoutMs: number;
  /** AT+CLCC poll period while a call is up and the module reports no call state by URC. */
  pollMs: number;
  /** The same, as a safety net, when the module does report call state by URC. */
  pollWithUrcMs: number;
  /** First and longest wait between reconnect attempts. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** After a timeout: how long each `AT` probe of the channel's resync waits for `OK`. */
  resyncTimeoutMs: number;
  /** After the resync's `OK`: how long the channel waits without any final result (a late reply). */
  resyncQuietMs: number;
  /** After `AT+CFUN=1,1` (option `resetOnHang`): the longest wait for the module's `RDY`. */
  restartWaitMs: number;
  /**
   * A bare `RING` / `+CRING` waits this long for the `+CLIP` (or call report) that names the caller
   * before the call is announced without a number: modules send RING first, CLIP right after.
   */
  ringClipWaitMs: number;
}

export const DEFAULT_AT_TIMING: AtTiming = {
  commandTimeoutMs: 300,
  callCommandTimeoutMs: 90_000,
  pollMs: 500,
  pollWithUrcMs: 2000,
  reconnectMinMs: 1000,
  reconnectMaxMs: 30_000,
  resyncTimeoutMs: 500,
  resyncQuietMs: 100,
  restartWaitMs: 20_000,
  ringClipWaitMs: 400,
};

export interface AtBackendOptions {
  lineId: string;
  /** A device path, or `sim:<profile>[?demo=N]`. */
  path: string;
  baudRate: number;
  /** `auto` or a profile name from MODEM_PROFILES. */
  modem: string;
  pin?: string;
  log?: Logger;
  timing?: Partial<AtTiming>;
  /** Replaces the device made from `path` (tests). */
  device?: SerialDevice;
  /**
   * The module's second serial port that carries call audio as PCM (`AT+QPCMV=1,0`, EC2x/EG2x: its
   * NMEA port, e.g. /dev/ttyUSB1), for streaming and playback. Not needed for `sim:` ports (the
   * emulator brings its own) nor for recording into the module's file system.
   */
  pcmPort?: string;
  /**
   * A module still silent after the port was reopened gets `AT+CFUN=1,1` (a full restart), once per
   * hang, before the line keeps retrying. Off by default: a restart drops every call on the module.
   */
  resetOnHang?: boolean;
}

/** The backend's bookkeeping for one call: the modem's index and what we asked of it. */
interface CallRecord {
  call: Call;
  /** The modem's call index once known (never invented). */
  index?: number;
  /** Set when the flow asked to end the call: the end is then ours, with this cause. */
  hangup?: HangupRequest;
  /** Q.850 cause the modem gave with the release (^DSCI), if any. */
  q850?: number;
  /** The port was lost while this call was up: if it is gone after the reconnect, we cannot know why. */
  lostContact?: boolean;
  /**
   * The {@link AtBackend.seq} of the latest URC about this call (or its creation). An AT+CLCC answer
   * sent before it is older news: it neither moves nor ends the call.
   */
  touched?: number;
  /** The modem's latest report of the call (^DSCI, ccinfo, +CLCC), for the events' `payload.callInfo`. */
  info?: CallInfo;
  /**
   * The call progress result about this call (`BUSY`, `NO ANSWER`, `NO CARRIER`, `NO DIALTONE`): its
   * own `ATD`'s final, or one no command owned that came while it was the only call (or the only
   * one being released). Evidence of how it ended, never a reason to end it.
   */
  progress?: string;
  /** Its `ATD` failed without a call progress result (`ERROR`, `+CME ERROR`, a timeout). */
  refused?: AtError;
  /** The module took our request to end it (its command's `OK`): the call is on its way out. */
  hangupAcked?: boolean;
  /** AT+CLCC answers that did not list the call while it had no index yet (see doPoll). */
  unlisted?: number;
}

/** The module answered nothing at all, not even `AT` (as opposed to refusing a command). */
class ModemSilentError extends Error {}

/**
 * AT+CLCC answers that may leave out a call we dialled (the module's `OK` to `ATD` came, its list
 * lags) before the call is taken as gone. Counted in answers, not time.
 */
const UNLISTED_POLLS = 2;

/** A final result code that ends a call, as a URC (27.007 §6.2 / V.250). */
const CALL_FINALS = ['NO CARRIER', 'BUSY', 'NO ANSWER', 'NO DIALTONE'] as const;

const STAT_TO_STATE: Record<number, CallState> = {
  [ClccStat.Active]: CallState.Active,
  [ClccStat.Held]: CallState.Held,
  [ClccStat.Dialing]: CallState.Dialing,
  [ClccStat.Alerting]: CallState.Ringing,
  [ClccStat.Incoming]: CallState.Incoming,
  [ClccStat.Waiting]: CallState.Waiting,
};

/**
 * The AT backend: one cellular module on one serial port (design §4).
 *
 * Every source of call information (RING, +CRING, +CLIP, +CCWA, ^DSCI, +QIND "ccinfo", the final
 * result URCs, and `AT+CLCC`, which is the truth) is turned into observations of the modem's calls and
 * reconciled against one table of {@link CallRecord}s, so that a call announced three times (RING,
 * +CLIP and ccinfo) is still one `incoming` event. `AT+CLCC` is polled only while a call is not idle.
 */
export class AtBackend extends EventEmitter implements Backend {
  readonly kind = 'at' as const;
  private readonly opts: AtBackendOptions;
  private readonly log: Logger;
  private readonly timing: AtTiming;
  private device: SerialDevice | null = null;
  private port: Duplex | null = null;
  private channel: AtChannel | null = null;
  private _ready = false;
  private stopped = true;
  private connecting: Promise<void> | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelay: number;
  private pollTimer: NodeJS.Timeout | null = null;
  /** A bare RING waiting for the caller's number (see AtTiming.ringClipWaitMs). */
  private ringWait: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
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
  private report: CallReport = 'poll';
  private _profile: ModemProfile | null = null;
  private _identity: ModemIdentity | null = null;
  private _status: LineStatus = { state: 'idle', text: 'idle' };
  /** Connection attempts that failed since the line was last ready (for the status: "attempt 3"). */
  private failures = 0;
  /** `AT+CFUN=1,1` was tried in this hang (option `resetOnHang`): once per hang, not per attempt. */
  private restartTried = false;
  /** `RDY` came while an initialisation was running: run it again once it is done. */
  private reinitRequested = false;
  /** Hang-ups waiting for the line to come back (see {@link whenReady}). */
  private readyWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  /**
   * Counts URC observations. Every URC about a call (and every release by URC) is stamped with it, so
   * that a poll can tell which of its lines are older than what a URC already said (see doPoll).
   */
  private seq = 0;
  /** Modem indexes released by a URC, with the {@link seq} of that release. */
  private readonly releasedAt = new Map<number, number>();

  readonly dtmf: AtDtmf;
  readonly control: AtControl;
  readonly forwarding: AtForwarding;
  readonly audio: AtAudio;
  /** The feature modules, for their hooks (URCs, re-apply after init, cleanup). */
  private readonly features: AtFeatureHooks[];

  constructor(options: AtBackendOptions) {
    super();
    this.opts = options;
    this.log = options.log ?? SILENT_LOGGER;
    this.timing = { ...DEFAULT_AT_TIMING, ...options.timing };
    this.reconnectDelay = this.timing.reconnectMinMs;
    const ctx = this.featureContext();
    this.dtmf = new AtDtmf(ctx);
    this.control = new AtControl(ctx);
    this.forwarding = new AtForwarding(ctx);
    this.audio = new AtAudio(ctx);
    this.features = [this.dtmf, this.control, this.forwarding, this.audio];
  }

  /** "Quectel EC200U (quectel-unisoc)", or the path before the module is identified. */
  get description(): string {
    const id = this._identity;
    const who = id && (id.manufacturer || id.model) ? `${id.manufacturer} ${id.model}`.trim() : this.opts.path;
    return this._profile ? `${who} (${this._profile.name})` : who;
  }

  private featureContext(): AtFeatureContext {
    return {
      log: this.log,
      options: this.opts,
      channel: () => this.requireChannel(),
      profile: () => {
        if (!this._profile) throw new LineNotReadyError(`the modem is not ready (${this._status.text})`);
        return this._profile;
      },
      identity: () => this._identity,
      describeModem: () => this.description,
      indexOf: async (call) => {
        const rec = this.recordOf(call);
        if (rec.index === undefined) await this.poll();
        if (rec.index === undefined) throw new CallStateError(`the modem has not numbered call ${call.id} yet`);
        return rec.index;
      },
      calls: () => this.calls(),
      callByIndex: (index) => [...this.records.values()].find((r) => r.index === index)?.call,
      device: () => this.device,
      poll: () => this.schedulePoll(0),
      expectEnd: (call, end) => {
        const rec = this.records.get(call.id);
        if (rec) rec.hangup = end ?? undefined;
        this.releaseChanged();
      },
    };
  }

  get ready(): boolean {
    return this._ready;
  }

  get status(): LineStatus {
    return this._status;
  }

  /** The module as identified at connect time. */
  get identity(): ModemIdentity | null {
    return this._identity;
  }

  get profile(): ModemProfile | null {
    return this._profile;
  }

  /** How call state is being followed: `dsci`, `ccinfo` or `poll`. */
  get callReport(): CallReport {
    return this.report;
  }

  /** The emulated module behind a `sim:` port, or null on hardware. */
  get emulator(): EmulatedModem | null {
    return this.device?.emulator ?? null;
  }

  calls(): Call[] {
    return [...this.records.values()].map((r) => r.call);
  }

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    try {
      this.device = this.opts.device ?? createSerialDevice(this.opts.path, this.opts.baudRate, this.log);
    } catch (err) {
      this.setStatus('error', (err as Error).message);
      return;
    }
    await this.connect();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearReconnect();
    this.stopPolling();
    if (this.connecting) await this.connecting.catch(() => undefined);
    const channel = this.channel;
    if (channel && this._ready && this.records.size > 0) {
      // Calls do not outlive the line: a redeploy must not leave a call up on the module unseen. The
      // wait is bounded: AT+CHUP may queue behind a call command (ATD, up to 90 s), and stop() must end.
      await Promise.race([channel.send('AT+CHUP', { timeoutMs: 2000 }).catch(() => undefined), delay(2500)]);
    }
    for (const rec of [...this.records.values()]) {
      this.endCall(rec, { cause: 'normal', by: 'local', text: 'the line was closed' }, 'line closed');
    }
    for (const f of this.features) await f.stop?.().catch((err: Error) => this.log.warn(`${f.name}, closing: ${err.message}`));
    for (const w of this.readyWaiters.splice(0)) w.reject(new LineNotReadyError('the line was closed'));
    await this.teardown(false);
    this.setStatus('closed', 'closed');
  }

  // ───────────────────────────── connection ─────────────────────────────

  private connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    this.connecting = this.doConnect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  /**
   * One connection attempt: open the port, initialise the module (restarting a silent one when
   * `resetOnHang` is on), come up. The port object is the attempt's identity: once it is no longer
   * `this.port` (closed, torn down, stopped), the attempt gives up without touching the line.
   */
  private async doConnect(): Promise<void> {
    const device = this.device;
    if (!device || this.stopped) return;
    // A reopen after a hang keeps the words of the step that asked for it ("reopening the port").
    if (this._status.state !== 'connecting') {
      this.setStatus('connecting', this.failures > 0 ? `reconnecting (attempt ${this.failures + 1})` : 'connecting');
    }
    let port: Duplex;
    try {
      port = await device.open();
    } catch (err) {
      this.failAndRetry((err as Error).message);
      return;
    }
    if (this.stopped) {
      await device.close();
      return;
    }
    this.port = port;
    port.once('close', () => this.onPortClosed(port));
    port.on('error', (err: Error) => this.log.warn(`serial port: ${err.message}`));
    try {
      await this.initialiseOrRestart(port, this.openChannel(port));
    } catch (err) {
      if (this.stopped || this.port !== port) return;
      await this.teardown(false);
      this.failAndRetry(err instanceof ModemSilentError ? 'modem not answering' : `the modem did not initialise: ${(err as Error).message}`);
      return;
    }
    if (this.stopped || this.port !== port) return;
    await this.markReady();
  }

  /** A channel on `port`, wired to the backend (URC handlers, resync and hang reports). */
  private openChannel(port: Duplex): AtChannel {
    const channel = new AtChannel(port, {
      log: this.log,
      defaultTimeoutMs: this.timing.commandTimeoutMs,
      resyncTimeoutMs: this.timing.resyncTimeoutMs,
      resyncQuietMs: this.timing.resyncQuietMs,
    });
    this.channel = channel;
    channel.on('unresponsive', () => this.onUnresponsive(channel));
    channel.on('resync', () => this.onResync(channel));
    channel.on('resynced', () => this.onResynced(channel));
    this.installUrcHandlers(channel);
    return channel;
  }

  /**
   * Initialises the module on `channel`. A module that answers nothing, with `resetOnHang`, is sent
   * `AT+CFUN=1,1` once per hang: written straight to the port (the channel has given up on the
   * module), then a fresh channel waits for its `RDY` and initialises it.
   */
  private async initialiseOrRestart(port: Duplex, channel: AtChannel): Promise<void> {
    try {
      await this.initialiseFully(channel);
      return;
    } catch (err) {
      if (!(err instanceof ModemSilentError) || !this.opts.resetOnHang || this.restartTried || this.port !== port) throw err;
    }
    this.restartTried = true;
    this.log.warn('the modem answers nothing: restarting it with AT+CFUN=1,1');
    this.setStatus('connecting', 'the modem is still silent: restarting it (AT+CFUN=1,1)');
    channel.close();
    const fresh = this.openChannel(port);
    const booted = waitForUrc(fresh, 'RDY', this.timing.restartWaitMs);
    port.write('AT+CFUN=1,1\r');
    await booted; // RDY, or the longest boot time: either way, try again
    if (this.stopped || this.port !== port) throw new Error('stopped while the modem restarted');
    await this.initialiseFully(fresh);
  }

  /** {@link initialise}, again as long as the module restarted (`RDY`) in the middle of it. */
  private async initialiseFully(channel: AtChannel): Promise<void> {
    for (let round = 0; ; round++) {
      this.reinitRequested = false;
      await this.initialise(channel);
      if (!this.reinitRequested || this.stopped || round >= 3) return;
      this.log.info('the modem restarted during its initialisation: initialising it again');
    }
  }

  private async markReady(): Promise<void> {
    this._ready = true;
    this.failures = 0;
    this.restartTried = false;
    this.reconnectDelay = this.timing.reconnectMinMs;
    await this.readyFeatures();
    if (!this._ready) return;
    this.setStatus('ready', this.readyText());
    this.emit('line', {
      topic: 'line-up',
      payload: { state: 'ready', text: this._status.text, modem: this._identity, profile: this._profile?.name, callReport: this.report },
    });
    // Calls that were up before a reconnect are checked against the modem's list now.
    await this.poll();
    // Hang-ups asked for while the line was down go out now (the poll told which calls survived).
    if (this._ready) for (const w of this.readyWaiters.splice(0)) w.resolve();
  }

  private readyText(): string {
    return `ready (${this._identity?.model || 'modem'})`;
  }

  /**
   * Resolves when the line is ready again (after a reconnect, and after its AT+CLCC), or rejects with a
   * LineNotReadyError after `timeoutMs` or when the line stops.
   */
  private whenReady(timeoutMs: number): Promise<void> {
    if (this._ready) return Promise.resolve();
    if (this.stopped) return Promise.reject(new LineNotReadyError(`the modem is not ready (${this._status.text})`));
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
        reject(new LineNotReadyError(`the modem did not come back in ${Math.round(timeoutMs / 1000)} s (${this._status.text})`));
      }, timeoutMs);
      this.readyWaiters.push(waiter);
    });
  }

  /** The init sequence of design §4. */
  private async initialise(ch: AtChannel): Promise<void> {
    await this.sync(ch);
    await ch.send('ATE0');
    await optional(ch.send('AT+CMEE=1'));
    this._identity = await this.identify(ch);
    const configured = this.opts.modem && this.opts.modem !== 'auto' ? profileByName(this.opts.modem) : null;
    if (this.opts.modem && this.opts.modem !== 'auto' && !configured) {
      throw new Error(`unknown modem profile "${this.opts.modem}"`);
    }
    this._profile = configured ?? detectProfile(this._identity);
    this.log.info(`modem ${this._identity.manufacturer} ${this._identity.model} (${this._identity.revision}): profile ${this._profile.name}`);
    await this.unlockSim(ch);
    await optional(ch.send('ATS0=0')); // auto-answer is a host timer (ATS0 counts rings, not seconds)
    await optional(ch.send('AT+CLIP=1'));
    await optional(ch.send('AT+CRC=1'));
    await optional(ch.send('AT+CCWA=1'));
    await optional(ch.send('AT+COLP=0'));
    this.report = 'poll';
    for (const r of this._profile.callReports) {
      if (r === 'poll') break;
      const cmd = r === 'dsci' ? 'AT^DSCI=1' : 'AT+QINDCFG="ccinfo",1,1';
      if (await optional(ch.send(cmd))) {
        this.report = r;
        break;
      }
    }
    this.log.debug(`call state: ${this.report === 'poll' ? 'AT+CLCC polling' : this.report + ' URCs'}`);
  }

  /**
   * `AT` until the module answers: one that just opened may still be booting or mid-line. `ERROR` or
   * `+CME ERROR` is an answer too: the module speaks AT (oFono's phonesim refuses a bare `AT`, so do
   * real modules at boot or with a SIM error; ModemManager's port probe counts it as an AT port).
   */
  private async sync(ch: AtChannel): Promise<void> {
    let last: unknown;
    for (let i = 0; i < 5; i++) {
      try {
        await ch.send('AT', { timeoutMs: this.timing.resyncTimeoutMs });
        return;
      } catch (err) {
        last = err;
        if (err instanceof AtError && err.kind === 'error') {
          this.log.debug(`AT: ${err.final}: the module speaks AT`);
          return;
        }
        // The channel's own resync probes with AT too: when they all go unanswered, it is a hang.
        if (err instanceof AtError && err.kind === 'unresponsive') throw new ModemSilentError('no answer to AT');
        if (err instanceof AtError && err.kind === 'closed') break;
      }
    }
    throw new Error(`no answer to AT (${(last as Error)?.message ?? 'no reply'})`);
  }

  /**
   * `ATI`, `AT+CGMM`, `AT+CGMR`. Quectel answers with bare lines (`Quectel` / `EC200U` /
   * `Revision: EC200UCNAAR02A01M08`); other firmware prefixes and quotes them (`+CGMR: "..."`) or
   * labels the lines of `ATI` (`Manufacturer: ...`, `Model: ...`). A command the module refuses
   * leaves its part to the others.
   */
  private async identify(ch: AtChannel): Promise<ModemIdentity> {
    const ask = async (cmd: string, prefix?: string): Promise<string[]> => {
      try {
        const { lines } = await ch.send(cmd, { expectBare: true, expect: prefix ? [prefix] : [] });
        return lines.map((l) => unquote(prefix && l.startsWith(prefix) ? l.slice(prefix.length) : l)).filter((l) => l !== '');
      } catch {
        return [];
      }
    };
    const ati = await ask('ATI');
    const cgmm = await ask('AT+CGMM', '+CGMM:');
    const cgmr = await ask('AT+CGMR', '+CGMR:');
    const labelled = (label: RegExp): string | undefined => {
      const line = ati.find((l) => label.test(l));
      return line === undefined ? undefined : unquote(line.replace(label, ''));
    };
    const plain = ati.filter((l) => !/^[A-Za-z][A-Za-z ]*:/.test(l));
    return {
      manufacturer: labelled(/^Manufacturer:/i) ?? plain[0] ?? '',
      model: cgmm[0] ?? labelled(/^Model:/i) ?? plain[1] ?? '',
      revision: (cgmr[0] ?? labelled(/^Revision:/i) ?? '').replace(/^Revision:\s*/i, ''),
    };
  }

  private async unlockSim(ch: AtChannel): Promise<void> {
    let state: string;
    try {
      const r = await ch.send('AT+CPIN?', { expect: ['+CPIN:'], timeoutMs: 5000 });
      state = (r.lines[0] ?? '').replace('+CPIN:', '').trim();
    } catch (err) {
      // No SIM, or a modem without the command: calls will fail, and say why; the line still comes up.
      this.log.warn(`SIM state unknown: ${(err as Error).message}`);
      return;
    }
    if (state === 'READY') return;
    if (state === 'SIM PIN') {
      if (!this.opts.pin) throw new Error('the SIM needs a PIN: set it in the line\'s credentials');
      try {
        await ch.send(`AT+CPIN="${this.opts.pin.replace(/[^0-9]/g, '')}"`, { secret: true, timeoutMs: 5000 });
      } catch {
        throw new Error('the SIM refused the PIN (check it in the line\'s credentials)');
      }
      return;
    }
    throw new Error(`the SIM is locked (${state}); unlock it first`);
  }

  /** A red status with the reason (and the attempt, from the second on), and a retry with back-off. */
  private failAndRetry(reason: string): void {
    this.failures++;
    this.setStatus('error', this.failures > 1 ? `${reason} (attempt ${this.failures})` : reason);
    if (this.stopped) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, this.timing.reconnectMaxMs);
    this.log.debug(`reconnecting in ${delay} ms`);
    this.reconnectIn(delay);
  }

  /**
   * Connects again after `delayMs`. An attempt still finishing (its port already torn down) is waited
   * for, so that the new attempt is never swallowed by the old one.
   */
  private reconnectIn(delayMs: number): void {
    this.clearReconnect();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      const run = (): void => {
        if (!this.stopped && !this.port) void this.connect();
      };
      if (this.connecting) void this.connecting.then(run);
      else run();
    }, delayMs);
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private onPortClosed(port: Duplex): void {
    if (this.stopped || this.port !== port) return;
    this.log.warn('the serial port closed (device unplugged?)');
    // The status first: a flow that reacts to line-down finds the line red, with the reason.
    this.setStatus('error', 'the serial port closed; reconnecting');
    void this.teardown(true).then(() => this.failAndRetry('the serial port closed; reconnecting'));
  }

  /**
   * The escalation of a hung modem, step 2 (step 1 is the channel's resync): its resync got no `OK`,
   * so the port is closed and opened again at once. Still silent after that: `AT+CFUN=1,1` when
   * `resetOnHang` is on (see {@link initialiseOrRestart}), then retries with back-off, each one a red
   * "modem not answering (attempt n)". During an initialisation the attempt itself fails instead.
   */
  private onUnresponsive(channel: AtChannel): void {
    if (this.stopped || this.channel !== channel || !this._ready) return;
    this.log.warn('the modem stopped answering: reopening the port');
    this.setStatus('connecting', 'the modem is not answering: reopening the port');
    void this.teardown(true, 'the modem is not answering').then(() => this.reconnectIn(0));
  }

  /** Step 1 of a hang: a command timed out and the channel probes with `AT`. */
  private onResync(channel: AtChannel): void {
    if (this.stopped || this.channel !== channel || !this._ready) return;
    this.log.warn('no answer from the modem: resynchronising');
    this.setStatus('connecting', 'no answer from the modem: resyncing');
  }

  private onResynced(channel: AtChannel): void {
    if (this.stopped || this.channel !== channel || !this._ready || this._status.state === 'ready') return;
    this.setStatus('ready', this.readyText());
  }

  /** Drops the channel and the port. Calls stay in the table: the next connect resyncs them from AT+CLCC. */
  private clearRingWait(): void {
    if (this.ringWait) clearTimeout(this.ringWait);
    this.ringWait = null;
  }

  private async teardown(lost: boolean, why?: string): Promise<void> {
    const wasReady = this._ready;
    this._ready = false;
    this.stopPolling();
    this.clearRingWait();
    this.downFeatures();
    const ch = this.channel;
    this.channel = null;
    ch?.close();
    const port = this.port;
    this.port = null;
    port?.removeAllListeners('close');
    if (lost) for (const rec of this.records.values()) rec.lostContact = true;
    if (this.device) await this.device.close().catch(() => undefined);
    if (wasReady) {
      this.emit('line', { topic: 'line-down', payload: { state: lost ? 'error' : 'closed', text: why ?? (lost ? 'connection lost' : 'closed') } });
    }
  }

  private setStatus(state: LineStatus['state'], text: string): void {
    this._status = { state, text };
    this.emit('status', this._status);
  }

  private requireChannel(): AtChannel {
    if (!this._ready || !this.channel) throw new LineNotReadyError(`the modem is not ready (${this._status.text})`);
    return this.channel;
  }

  // ───────────────────────────── URCs ─────────────────────────────

  private installUrcHandlers(ch: AtChannel): void {
    const guard = (name: string, fn: (line: string) => void) => (line: string) => {
      try {
        fn(line);
      } catch (err) {
        this.log.warn(`${name}: ${(err as Error).message}`);
      }
    };
    const incoming = guard('incoming', (line) => this.onIncomingIndication(line, null));
    ch.onUrc('RING', incoming);
    ch.onUrc('+CRING:', incoming);
    ch.onUrc('+CLIP:', guard('+CLIP', (line) => this.onIncomingIndication(line, parseClip(line))));
    ch.onUrc('+CCWA:', guard('+CCWA', (line) => this.onIncomingIndication(line, parseCcwa(line), true)));
    ch.onUrc('^DSCI:', guard('^DSCI', (line) => this.onObservation(parseDsci(line), line)));
    ch.onUrc('+QIND: "ccinfo"', guard('ccinfo', (line) => this.onObservation(parseCcinfo(line), line)));
    for (const f of CALL_FINALS) {
      ch.onUrc(f, guard(f, (line) => this.onCallFinal(line)));
    }
    ch.onUrc('RDY', guard('RDY', () => this.onModemRestart('RDY')));
    for (const f of this.features) {
      for (const [prefix, handler] of Object.entries(f.urcs ?? {})) ch.onUrc(prefix, guard(prefix, handler));
    }
  }

  /** Runs every feature's onReady (probes, volatile settings); a failure is logged, not fatal. */
  private async readyFeatures(): Promise<void> {
    for (const f of this.features) {
      try {
        await f.onReady?.();
      } catch (err) {
        this.log.warn(`${f.name}, after initialisation: ${(err as Error).message}`);
      }
    }
  }

  private downFeatures(): void {
    for (const f of this.features) {
      try {
        f.onDown?.();
      } catch (err) {
        this.log.warn(`${f.name}, line down: ${(err as Error).message}`);
      }
    }
  }

  /** RING, +CRING, +CLIP, +CCWA: an incoming call, perhaps already known from another URC. */
  private onIncomingIndication(
    evidence: string,
    id: { number: string; name?: string } | null,
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
          if (this.stopped || !this._ready) return;
          this.onIncomingIndication(evidence, null, waiting, true);
        }, this.timing.ringClipWaitMs);
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
      }, undefined, id?.name);
    } else if (id && id.number && !rec.call.remote.number) {
      rec.call.remote.number = id.number;
      if (id.name) rec.call.remote.name = id.name;
    }
    rec.touched = ++this.seq;
    this.schedulePoll(0);
  }

  /** ^DSCI / ccinfo (URCs) or +CLCC (`fromPoll`): the modem's own view of one call. */
  private onObservation(o: CallObservation | null, evidence: string, fromPoll = false): void {
    if (!o) {
      this.log.debug(`unreadable call report: ${evidence}`);
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

  private move(rec: CallRecord, state: CallState, evidence: string): void {
    const { call } = rec;
    if (call.state === state) return;
    if (!call.canTransition(state)) {
      this.log.debug(`call ${call.index ?? '?'}: ignoring ${call.state} → ${state} (${evidence})`);
      return;
    }
    call.transition(state, { text: describeState(state, call), evidence, ...(rec.info ? { callInfo: rec.info } : {}) });
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
    if (owner && owner.progress === undefined) owner.progress = line;
    else this.log.debug(`${line}: no single call it can be about`);
    this.schedulePoll(0);
  }

  /**
   * `RDY`: the module restarted by itself (power glitch, watchdog, `AT+CFUN=1,1`). Its calls are gone
   * and its settings (echo, URC reporting) are back to defaults: end the calls, initialise again on
   * the same port.
   */
  private onModemRestart(evidence: string): void {
    const ch = this.channel;
    if (!ch || this.stopped) return;
    if (!this._ready) {
      // An initialisation is running (a connect, or an earlier RDY): two on one channel would
      // interleave their commands and bring the line up twice. It starts over once it is done.
      this.reinitRequested = true;
      return;
    }
    this.log.warn(`the modem restarted (${evidence}): initialising it again`);
    const wasReady = this._ready;
    this._ready = false;
    this.stopPolling();
    this.downFeatures();
    for (const rec of [...this.records.values()]) {
      this.endCall(rec, { cause: 'network-error', by: 'remote', text: 'the modem restarted' }, evidence);
    }
    if (wasReady) this.emit('line', { topic: 'line-down', payload: { state: 'connecting', text: 'the modem restarted' } });
    this.setStatus('connecting', 'the modem restarted; initialising');
    this.initialiseFully(ch).then(
      () => {
        if (this.stopped || this.channel !== ch) return;
        this.markReady();
      },
      (err: Error) => {
        if (this.stopped || this.channel !== ch) return;
        void this.teardown(true).then(() => this.failAndRetry(`the modem did not initialise after a restart: ${err.message}`));
      },
    );
  }

  // ───────────────────────────── AT+CLCC ─────────────────────────────

  /** Polls AT+CLCC after `delayMs`, if a call is not idle (or `force`). */
  private schedulePoll(delayMs?: number): void {
    if (!this._ready || this.stopped) return;
    if (this.records.size === 0 && delayMs === undefined) return;
    const ms = delayMs ?? (this.report === 'poll' ? this.timing.pollMs : this.timing.pollWithUrcMs);
    if (this.pollTimer) {
      if (delayMs !== 0) return;
      clearTimeout(this.pollTimer);
    }
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      void this.poll();
    }, ms);
  }

  private stopPolling(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  /** One AT+CLCC, diffed against the table. Concurrent requests share one poll. */
  private poll(): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = this.doPoll().finally(() => {
      this.polling = null;
      if (this.records.size > 0) this.schedulePoll();
    });
    return this.polling;
  }

  private async doPoll(): Promise<void> {
    const ch = this.channel;
    if (!ch || !this._ready) return;
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
      this.log.debug(`AT+CLCC: ${(err as Error).message}`);
      return;
    }
    const seen = new Set<string>();
    for (const line of res.lines) {
      const o = parseClcc(line);
      if (!o || o.mode !== 0) continue;
      if (!newer(o.index)) this.onObservation(o, line, true);
      const rec = [...this.records.values()].find((r) => r.index === o.index);
      if (rec) seen.add(rec.call.id);
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

  // ───────────────────────────── ending calls ─────────────────────────────

  /**
   * The modem says the call is gone: work out why (our request, ^DSCI cause, call progress result,
   * +CEER) and end it. The call leaves the table at once (a second report of the same release does
   * nothing) for {@link releasing}, where it still owns a call progress result that arrives before
   * one command after the release has been answered: the channel is ordered, so by then the module
   * has said all it had to say about it (`BUSY` after an ASR `^DSCI` release, `NO CARRIER` after our
   * own). That command is `AT+CEER` when the cause is still unknown, else a bare round trip
   * (`AT+CLCC`, its answer unused), unless the release was seen in an AT+CLCC answer (`fenced`).
   */
  private finishCall(rec: CallRecord, evidence: string, fenced = false): Promise<void> {
    if (rec.call.ended || !this.records.delete(rec.call.id)) return Promise.resolve();
    this.releasing.set(rec.call.id, rec);
    return this.concludeEnd(rec, evidence, fenced)
      .catch((err: Error) => this.log.warn(`working out how call ${rec.call.index ?? '?'} ended: ${err.message}`))
      .finally(() => {
        this.releasing.delete(rec.call.id);
        // Whatever went wrong, the call ends.
        if (!rec.call.ended) this.endCall(rec, { cause: 'failed', by: 'remote', text: 'the call ended' }, evidence, true);
        this.releaseChanged();
      });
  }

  private async concludeEnd(rec: CallRecord, evidence: string, fenced: boolean): Promise<void> {
    if (rec.hangup) {
      if (!fenced) await this.roundTrip();
      this.endCall(rec, { cause: rec.hangup.endCause, by: 'local', text: rec.hangup.text }, evidence, true);
      return;
    }
    const info: EndInfo = { cause: 'normal', by: 'remote' };
    if (rec.lostContact) {
      info.cause = 'network-error';
      info.text = 'the call ended while the modem was unreachable';
      this.endCall(rec, info, evidence, true);
      return;
    }
    let q850 = rec.q850;
    if (q850 === undefined && (rec.progress === undefined || rec.progress === 'NO CARRIER')) {
      const ceer = await this.queryCeer();
      if (ceer) {
        info.ceer = ceer.line;
        q850 = ceer.q850;
      }
    } else if (!fenced) {
      await this.roundTrip();
    }
    q850 ??= rec.q850; // a ^DSCI release with its cause may come after the dial's own final
    const final = rec.progress;
    if (final) info.finalResult = final;
    if (q850 !== undefined) info.q850 = q850;
    if (rec.refused && !final) {
      const e = rec.refused;
      info.cause = e.kind === 'timeout' ? 'timeout' : 'failed';
      info.text = `the modem refused the call: ${e.final ?? e.message}`;
      if (e.final) info.finalResult = e.final;
      if (e.cmeCode !== undefined) info.ceer = `+CME ERROR: ${e.cmeCode}`;
    } else {
      info.cause = causeOf(rec.call, final, q850);
      info.text = endText(info);
    }
    this.endCall(rec, info, evidence, true);
  }

  /** One command's answer: everything the module printed before it has been read. */
  private async roundTrip(): Promise<void> {
    const ch = this.channel;
    if (!ch || !this._ready) return;
    await ch.send('AT+CLCC', { expect: ['+CLCC:'] }).catch(() => undefined);
  }

  private async queryCeer(): Promise<{ line: string; q850?: number } | null> {
    const ch = this.channel;
    if (!ch || !this._ready) return null;
    try {
      const r = await ch.send('AT+CEER', { expect: ['+CEER:'] });
      const line = r.lines[0];
      if (!line) return null;
      const parsed = parseCeer(line);
      return { line, q850: parsed?.q850 ?? (parsed ? q850FromText(parsed.text) : undefined) };
    } catch {
      return null;
    }
  }

  private endCall(rec: CallRecord, end: EndInfo, evidence: string, claimed = false): void {
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
  private releaseChanged(): void {
    for (const wake of this.releaseWaiters.splice(0)) wake();
  }

  /**
   * Resolves once no call is being released: none whose end is being worked out, none we asked the
   * module to end (its command in flight, or answered `OK`). `dial()` and `answer()` wait here, so
   * that what the module still prints about the old call (a `NO CARRIER`) has come before the new
   * command is sent, and is never taken for its result. Bounded by the call command timeout (a module
   * that never lets a call go). Resolves to true when it waited.
   */
  private async afterReleases(): Promise<boolean> {
    const leaving = (): boolean => this.releasing.size > 0 || [...this.records.values()].some((r) => r.hangup);
    if (!leaving()) return false;
    const limit = delay(this.timing.callCommandTimeoutMs).then(() => 'timeout' as const);
    while (leaving()) {
      const changed = new Promise<'changed'>((resolve) => this.releaseWaiters.push(() => resolve('changed')));
      if ((await Promise.race([changed, limit])) === 'timeout') {
        this.log.warn('a call the modem was asked to end is still up: going on');
        break;
      }
    }
    return true;
  }

  // ───────────────────────────── actions ─────────────────────────────

  private createCall(
    direction: 'inbound' | 'outbound',
    number: string,
    state: CallState,
    reason: TransitionReason,
    index?: number,
    name?: string,
  ): CallRecord {
    const call = new Call({
      line: this.opts.lineId,
      direction,
      remote: name ? { number, name } : { number },
      state,
      reason,
      index,
    });
    const rec: CallRecord = { call, index, touched: ++this.seq };
    if (direction === 'inbound') this.clearRingWait();
    this.records.set(call.id, rec);
    this.emit('call', call);
    return rec;
  }

  /**
   * `ATD<n>;` owns its final result: `OK` (the call goes on, followed by URCs and AT+CLCC), or the
   * call's outcome (`BUSY`, `NO ANSWER`, `NO CARRIER`, `NO DIALTONE`, `ERROR`, `+CME ERROR`). It is
   * sent only once no call is being released (see {@link afterReleases}).
   */
  async dial(number: string, _options: DialOptions): Promise<Call> {
    const n = validatePhoneNumber(number); // again: no path to the modem skips it
    this.requireChannel();
    await this.afterReleases();
    const ch = this.requireChannel();
    const rec = this.createCall('outbound', n, CallState.Dialing, { text: `dialling ${n}`, evidence: `ATD${n};` });
    try {
      await ch.send(`ATD${n};`, { finals: 'dial', timeoutMs: this.timing.callCommandTimeoutMs });
      this.schedulePoll(0);
    } catch (err) {
      const e = err as AtError;
      if (e.final !== undefined && (CALL_FINALS as readonly string[]).includes(e.final)) rec.progress = e.final;
      else rec.refused = e;
      // The call may be in release already (a ^DSCI release came before the final): it ends there.
      await this.finishCall(rec, e.final ?? e.message);
    }
    return rec.call;
  }

  /**
   * `ATA` for the only call (it owns `NO CARRIER`: that call is gone), `AT+CHLD=2` for a waiting one
   * (`OK` / `ERROR` only: a held call's `NO CARRIER` meanwhile is not its answer).
   */
  async answer(call: Call): Promise<void> {
    this.recordOf(call);
    this.requireChannel();
    // A call still being released would make this one look waiting: let it go, and look again.
    if (await this.afterReleases()) await this.poll();
    const rec = this.recordOf(call);
    const ch = this.requireChannel();
    const waiting = call.state === CallState.Waiting || [...this.records.values()].some((r) => r !== rec && !isAlerting(r.call.state));
    const cmd = waiting ? 'AT+CHLD=2' : 'ATA';
    try {
      await ch.send(cmd, { finals: waiting ? 'basic' : 'answer', timeoutMs: this.timing.callCommandTimeoutMs });
    } catch (err) {
      const e = err as AtError;
      if (e.final === 'NO CARRIER') {
        // The caller hung up first: the call's end is the module's to report (URC, AT+CLCC).
        rec.progress ??= e.final;
        this.schedulePoll(0);
      }
      throw new CommandFailedError(`the modem could not answer the call: ${e.final ?? (err as Error).message}`, cmd);
    }
    const callInfo = infoAs(rec, 'active'); // the OK is the modem's word that the call is active
    if (!call.ended) call.tryTransition(CallState.Active, { text: 'answered', evidence: `${cmd} → OK`, ...(callInfo ? { callInfo } : {}) });
    this.schedulePoll(0);
  }

  async hangup(call: Call, request: HangupRequest): Promise<void> {
    const rec = this.recordOf(call);
    if (!this._ready && !this.stopped) {
      // The port is away (unplugged, a hang being escalated): the request is not lost, it goes out
      // once the line is back, unless the reconnect's AT+CLCC shows the call is gone already.
      await this.whenReady(this.timing.callCommandTimeoutMs);
      if (call.ended) return;
    }
    const ch = this.requireChannel();
    if (rec.index === undefined) await this.poll(); // learn the modem's index before choosing a command
    if (call.ended) return;
    const cmd = this.hangupCommand(rec, request);
    rec.hangup = request;
    try {
      await ch.send(cmd, { timeoutMs: this.timing.callCommandTimeoutMs });
    } catch (err) {
      rec.hangup = undefined;
      this.releaseChanged();
      throw new CommandFailedError(`the modem could not end the call: ${(err as AtError).final ?? (err as Error).message}`, cmd);
    }
    if (!call.ended) rec.hangupAcked = true;
    // A module that reports releases by URC ends the call by itself; AT+CLCC confirms for the others.
    this.schedulePoll(0);
  }

  private hangupCommand(rec: CallRecord, request: HangupRequest): string {
    const others = [...this.records.values()].filter((r) => r !== rec && !r.call.ended);
    if (this._profile?.hangupWithCause && rec.index !== undefined) {
      return `AT+QHUP=${q850ForHangup(request.signal)},${rec.index}`;
    }
    if (others.length === 0) return 'AT+CHUP';
    if (rec.index === undefined) {
      throw new CallStateError('the modem has not numbered this call yet, and other calls are up: try again in a moment');
    }
    // 27.007 AT+CHLD: 1<idx> releases one active call; 0 releases held and waiting calls.
    return rec.call.state === CallState.Waiting || rec.call.state === CallState.Held ? 'AT+CHLD=0' : `AT+CHLD=1${rec.index}`;
  }

  private recordOf(call: Call): CallRecord {
    const rec = this.records.get(call.id);
    if (!rec) throw new CallStateError(`call ${call.id} is not in progress on this modem`);
    return rec;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** `"EC200U"` → `EC200U` (and trims). */
function unquote(text: string): string {
  const t = text.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
}

/** Resolves when `channel` passes the URC `line` on, or after `timeoutMs` (to true, or false). */
function waitForUrc(channel: AtChannel, line: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (seen: boolean): void => {
      clearTimeout(timer);
      channel.off('urc', onUrc);
      channel.off('close', onClose);
      resolve(seen);
    };
    const onUrc = (l: string): void => {
      if (l === line) done(true);
    };
    const onClose = (): void => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    channel.on('urc', onUrc);
    channel.on('close', onClose);
  });
}

/** Resolves to true when the command succeeded, false when the modem refused it. */
async function optional(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (err) {
    if (err instanceof AtError && (err.kind === 'closed' || err.kind === 'unresponsive')) throw err;
    return false;
  }
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
  return info;
}

/** The modem's latest report of a call with the status a command's result or a release establishes. */
function infoAs(rec: CallRecord, status: CallInfo['status']): CallInfo | undefined {
  return rec.info && { ...rec.info, status };
}

/** The cause of a call the remote side or the network ended. */
function causeOf(call: Call, final: string | undefined, q850: number | undefined): Cause {
  if (final === 'BUSY') return 'busy';
  if (final === 'NO ANSWER') return 'no-answer';
  if (final === 'NO DIALTONE') return 'network-error';
  // NO CARRIER with no cause, or a silent release: normal if the call was up, else it failed.
  const cause = q850 !== undefined ? causeFromQ850(q850) : call.answeredAt ? 'normal' : 'failed';
  // An incoming call released before it was answered: the caller gave up (SIP: CANCEL).
  if (call.direction === 'inbound' && !call.answeredAt && (cause === 'normal' || cause === 'failed')) return 'cancelled';
  return cause;
}

function endText(info: EndInfo): string {
  const why: Partial<Record<Cause, string>> = {
    normal: 'the other side hung up',
    cancelled: 'the caller hung up before the call was answered',
    busy: 'the number is busy',
    'no-answer': 'no answer',
    rejected: 'the call was rejected',
    'not-found': 'the number does not exist',
    unavailable: 'the other side is unavailable',
    congestion: 'the network is congested',
    'network-error': 'network error',
    failed: 'the call failed',
  };
  return why[info.cause] ?? info.cause;
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

export type { AtCommandOptions };
