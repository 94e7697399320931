import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { Backend, DialOptions, HangupRequest, LineStatus, Logger, SILENT_LOGGER } from '../backend';
import { Call } from '../call/call';
import { CallStateError, LineNotReadyError } from '../errors';
import { AtChannel, AtCommandOptions } from './at-channel';
import { CallReport, ModemIdentity, ModemProfile } from './modem-profile';
import { SerialDevice, createSerialDevice } from './serial-device';
import type { EmulatedModem } from './emulator/emulated-modem';
import { AtFeatureContext, AtFeatureHooks } from './at-feature';
import { AtDtmf } from './features/dtmf';
import { AtControl } from './features/control';
import { AtForwarding } from './features/forwarding';
import { AtAudio } from './features/audio';
import { AtAnalysis } from './features/analysis';
import { AtMultiparty } from './features/conference';
import { CallTable } from './call-table';
import { CallActions } from './call-actions';
import { ModemSilentError, initialiseModule } from './modem-init';
import { SimLockedError } from './sim-unlock';

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

/**
 * The AT backend: one cellular module on one serial port (design §4). This file keeps the line: the
 * port, the connection and its escalation, the status, the feature modules. The parts of a call are
 * each in a file of their own: initialising the module (modem-init.ts), the table of its calls that
 * URCs and `AT+CLCC` keep (call-table.ts), how a call ended (call-end.ts), and what the flow does to
 * calls (call-actions.ts). Who owns a call outcome: docs/architecture.md.
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
  /** The module's calls (see call-table.ts). */
  private readonly table: CallTable;
  private readonly actions: CallActions;
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
  readonly dtmf: AtDtmf;
  readonly control: AtControl;
  readonly forwarding: AtForwarding;
  readonly audio: AtAudio;
  /** Call analysis on the PCM port's downlink (lib/at/features/analysis.ts). */
  readonly analysis: AtAnalysis;
  /** The network's multiparty call as the line's one conference room (lib/at/features/conference.ts). */
  readonly multiparty: AtMultiparty;
  /** The feature modules, for their hooks (URCs, re-apply after init, cleanup). */
  private readonly features: AtFeatureHooks[];

  constructor(options: AtBackendOptions) {
    super();
    this.opts = options;
    this.log = options.log ?? SILENT_LOGGER;
    this.timing = { ...DEFAULT_AT_TIMING, ...options.timing };
    this.reconnectDelay = this.timing.reconnectMinMs;
    this.table = new CallTable({
      log: this.log,
      lineId: options.lineId,
      timing: this.timing,
      readyChannel: () => (this._ready && !this.stopped ? this.channel : null),
      callReport: () => this.report,
      announce: (call) => this.emit('call', call),
      follow: (call, reported) => this.control.follow(call, reported),
    });
    this.actions = new CallActions(
      {
        timing: this.timing,
        requireChannel: () => this.requireChannel(),
        profile: () => this._profile,
        away: () => !this._ready && !this.stopped,
        whenReady: (ms) => this.whenReady(ms),
      },
      this.table,
    );
    const ctx = this.featureContext();
    this.dtmf = new AtDtmf(ctx);
    this.control = new AtControl(ctx);
    this.forwarding = new AtForwarding(ctx);
    this.audio = new AtAudio(ctx);
    this.multiparty = new AtMultiparty(ctx, (work) => this.control.oneAtATime(work));
    this.features = [this.dtmf, this.control, this.forwarding, this.audio, this.multiparty];
    this.analysis = new AtAnalysis(ctx, this.audio, (call, request) => this.hangup(call, request));
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
        const rec = this.table.recordOf(call);
        if (rec.index === undefined) await this.table.poll();
        if (rec.index === undefined) throw new CallStateError(`the modem has not numbered call ${call.id} yet`);
        return rec.index;
      },
      calls: () => this.calls(),
      callInfo: (call) => this.table.live().find((r) => r.call === call)?.info,
      callByIndex: (index) => this.table.callByIndex(index),
      device: () => this.device,
      poll: () => this.table.schedulePoll(0),
      refresh: () => this.table.poll(),
      expectEnd: (call, end) => this.table.expectEnd(call, end),
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
    return this.table.calls();
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
    this.table.stopPolling();
    if (this.connecting) await this.connecting.catch(() => undefined);
    const channel = this.channel;
    if (channel && this._ready && this.table.size > 0) {
      // Calls do not outlive the line: a redeploy must not leave a call up on the module unseen. The
      // wait is bounded: AT+CHUP may queue behind a call command (ATD, up to 90 s), and stop() must end.
      await Promise.race([channel.send('AT+CHUP', { timeoutMs: 2000 }).catch(() => undefined), delay(2500)]);
    }
    this.table.endAll({ cause: 'normal', by: 'local', text: 'the line was closed' }, 'line closed');
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
      // A SIM the line's PIN cannot unlock waits for new credentials (a redeploy): never retried.
      if (err instanceof SimLockedError) return this.setStatus('error', err.message);
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
    await this.table.poll();
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

  /** The init sequence of design §4 (modem-init.ts). */
  private async initialise(ch: AtChannel): Promise<void> {
    this.report = await initialiseModule(ch, { log: this.log, timing: this.timing, modem: this.opts.modem, pin: this.opts.pin, port: this.opts.path }, (identity, profile) => {
      this._identity = identity;
      this._profile = profile;
    });
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
  private async teardown(lost: boolean, why?: string): Promise<void> {
    const wasReady = this._ready;
    this._ready = false;
    this.table.stopPolling();
    this.table.clearRingWait();
    this.downFeatures();
    const ch = this.channel;
    this.channel = null;
    ch?.close();
    this.port = null;
    // Our 'close' listener stays (onPortClosed ignores a port that is no longer this.port): removing
    // all of them would also remove the port's own, e.g. the emulator's, which closes the emulator.
    if (lost) this.table.markLost();
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
    for (const [prefix, handler] of Object.entries(this.table.urcHandlers())) ch.onUrc(prefix, guard(prefix, handler));
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
    this.table.stopPolling();
    this.downFeatures();
    this.table.endAll({ cause: 'network-error', by: 'remote', text: 'the modem restarted' }, evidence);
    if (wasReady) this.emit('line', { topic: 'line-down', payload: { state: 'connecting', text: 'the modem restarted' } });
    this.setStatus('connecting', 'the modem restarted; initialising');
    this.initialiseFully(ch).then(
      () => {
        if (this.stopped || this.channel !== ch) return;
        this.markReady();
      },
      (err: Error) => {
        if (this.stopped || this.channel !== ch) return;
        void this.teardown(true).then(() =>
          err instanceof SimLockedError ? this.setStatus('error', err.message) : this.failAndRetry(`the modem did not initialise after a restart: ${err.message}`),
        );
      },
    );
  }

  // ───────────────────────────── actions (call-actions.ts) ─────────────────────────────

  async dial(number: string, options: DialOptions): Promise<Call> {
    // Far-end detection without the call's audio is refused before dialing; tones alone are dropped.
    const analysis = options.analysis && this.analysis.acceptsDial(options.analysis) ? options.analysis : null;
    const call = await this.actions.dial(number, options);
    if (analysis && !call.ended) this.analysis.dialled(call, analysis);
    return call;
  }

  answer(call: Call): Promise<void> {
    return this.actions.answer(call);
  }

  hangup(call: Call, request: HangupRequest): Promise<void> {
    return this.actions.hangup(call, request);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
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

export type { AtCommandOptions };
