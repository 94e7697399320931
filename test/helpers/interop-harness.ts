/**
 * The harness every SIP interop test file shares (a VoiceLine against real peers on 127.0.0.1,
 * design §6): a memory log, what each test started (lines, peers, folders) stopped after it in
 * reverse order also when it failed, and on a failure the end of the log and of every peer's output
 * printed, so that a failure on CI says what the peer saw.
 *
 * Call it inside a `describe` (it registers that block's `beforeEach` / `afterEach`):
 *
 *     const h = interopHarness('interop');
 *     it('…', async () => {
 *       const uas = await h.startSipp({ scenario: sippScenario('x.xml'), calls: 1 });
 *       const { line, events } = await h.startLine({ server: uas.address });
 */
import { randomInt } from 'node:crypto';
import { LineConfig, VoiceLine } from '../../lib/line/voice-line';
import { sipBackendOptions } from '../../lib/sip/sip-line-settings';
import { SipBackend, SipBackendOptions } from '../../lib/sip/sip-backend';
import { memoryLog } from './at-harness';
import { EventLog } from './event-log';
import { Baresip, BaresipOptions, LOOPBACK, Sipp, SippOptions, pickPorts, waitFor } from './sip-peers';

/** How long a line may take to be ready, and an event to come. */
export const INTEROP_WAIT_MS = 20_000;

/** A line of the harness: its events from the start, and its SIP port. */
export interface InteropLine {
  line: VoiceLine;
  events: EventLog;
  port: number;
}

export interface InteropLineOptions {
  /** The account's password, a credential of the line (as the voice-line node passes it). */
  password?: string;
  /**
   * SipBackend options a line's settings do not have (e.g. `transferNotifyTimeoutMs`): the line gets
   * a backend factory building its SipBackend from its SIP settings plus these.
   */
  backend?: Partial<SipBackendOptions>;
}

export interface InteropHarnessOptions {
  /** More output printed when a test failed, for every test (a peer the whole block shares). */
  output?: () => string;
  /** How many of the last log lines a failure prints (default 80). */
  logLines?: number;
}

export interface InteropHarness {
  /** Every line's log (cleared before each test). */
  readonly log: ReturnType<typeof memoryLog>;
  /**
   * A SIP line (trunk mode on 127.0.0.1, user 1001, UDP, an RTP range of 16 ports of its own, `config`
   * over that) on `port` (0: any), not started; stopped after the test.
   */
  makeLine(config: Partial<LineConfig>, port: number, options?: InteropLineOptions): InteropLine;
  /** {@link makeLine} on a picked port, started, resolved once its backend is ready. */
  startLine(config: Partial<LineConfig>, options?: InteropLineOptions): Promise<InteropLine>;
  /** Stops `peer` after the test; prints `output` if the test failed. */
  track<T extends { stop(): Promise<void> }>(peer: T, output: () => string): T;
  /** Runs `stop` after the test (an error of it ignored); prints `output` if the test failed. */
  defer(stop: () => unknown, output?: () => string): void;
  /** baresip, tracked. */
  startBaresip(options: BaresipOptions): Promise<Baresip>;
  /** SIPp, tracked. */
  startSipp(options: SippOptions): Promise<Sipp>;
}

export function interopHarness(id: string, harnessOptions: InteropHarnessOptions = {}): InteropHarness {
  const log = memoryLog();
  const stops: Array<() => unknown> = [];
  const diagnostics: Array<() => string> = [];

  // Cleared before a test rather than after one: an afterEach of the test file may still read what
  // the last test logged (its lines stopping included).
  beforeEach(() => {
    log.lines.length = 0;
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      const outputs = [...diagnostics, ...(harnessOptions.output ? [harnessOptions.output] : [])];
      // eslint-disable-next-line no-console
      console.log([...log.lines.slice(-(harnessOptions.logLines ?? 80)), ...outputs.map((d) => d().slice(-3000))].join('\n'));
    }
    diagnostics.length = 0;
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch {
        // a peer that died with the test: nothing more to stop
      }
    }
  });

  function defer(stop: () => unknown, output?: () => string): void {
    stops.push(stop);
    if (output) diagnostics.push(output);
  }

  function makeLine(config: Partial<LineConfig>, port: number, options: InteropLineOptions = {}): InteropLine {
    const rtp = 40000 + 32 * randomInt(0, 300);
    const settings: LineConfig = { id, backend: 'sip', transport: 'udp', username: '1001', register: false, localPort: port, localAddress: LOOPBACK, rtpPortMin: rtp, rtpPortMax: rtp + 15, ...config };
    const { backend } = options;
    // The line's settings through the settings pipeline (lib/sip/sip-line-settings.ts), plus these.
    const backendFactory = backend
      ? (l: VoiceLine) => new SipBackend({ ...sipBackendOptions(l.config, { lineId: l.id, password: l.credentials.password, log: l.log }), ...backend })
      : undefined;
    const line = new VoiceLine(settings, {
      log,
      credentials: options.password ? { password: options.password } : {},
      ...(backendFactory ? { backendFactory } : {}),
    });
    const events = new EventLog(line, INTEROP_WAIT_MS);
    defer(() => line.stop());
    return { line, events, port };
  }

  async function startLine(config: Partial<LineConfig>, options?: InteropLineOptions): Promise<InteropLine> {
    const made = makeLine(config, await pickPorts(1), options);
    await made.line.start();
    await waitFor(`line ready (${made.line.status.text})`, () => made.line.backend?.ready === true, INTEROP_WAIT_MS);
    return made;
  }

  function track<T extends { stop(): Promise<void> }>(peer: T, output: () => string): T {
    defer(() => peer.stop(), output);
    return peer;
  }

  return {
    log,
    makeLine,
    startLine,
    track,
    defer,
    startBaresip: async (options) => {
      const b = await Baresip.start(options);
      return track(b, () => b.process.text());
    },
    startSipp: async (options) => {
      const s = await Sipp.start(options);
      return track(s, () => s.process.text());
    },
  };
}
