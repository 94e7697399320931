import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { EmulatedModem, EmulatorQuirks, EmulatorTiming } from '../../lib/at/emulator';
import { LineStatus } from '../../lib/backend';
import { VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import { FAST_MODEM, memoryLog } from './at-harness';
import { closeAfterEach } from './close-after-each';
import { EventLog } from './event-log';
import { PtyPair, ptyPair, requireSocat } from './pty-pair';

export interface PtyLineOptions {
  /** The emulated module's profile: ec600n, ec200u, ec25, generic. */
  profile: string;
  /** The module's timing; default FAST_MODEM. */
  timing?: Partial<EmulatorTiming>;
  /** Behaviours of other firmware the module shows from power-on (bare `AT` → `ERROR`...). */
  quirks?: EmulatorQuirks;
  /** The folder of the pty links, left in place on close; default a temporary folder, removed on close. */
  reuseDir?: string;
}

/** A line through the REAL serialport binding: one end of a socat pty pair, the emulated module on the other. */
export interface PtyLine {
  line: VoiceLine;
  modem: EmulatedModem;
  /** The pty pair plugged in now (a new one after each plug(), under the same paths). */
  readonly pair: PtyPair;
  /** Every event of the line since it was opened. */
  events: VoiceEvent[];
  /** Every status of the line since it was opened. */
  statuses: LineStatus[];
  /**
   * The first event of `topic` (matching `pred`) not returned before, already seen or still to come:
   * each event is returned once, so two waits for the same topic get two events.
   */
  next(topic: string, pred?: (e: VoiceEvent) => boolean, timeoutMs?: number): Promise<VoiceEvent>;
  /** Pulls the cable: the module's port and the pty pair close under the line's feet (the module keeps its calls). */
  unplug(): Promise<void>;
  /**
   * Plugs the same module back in: a new pty pair under the same paths, so the line finds its device
   * again. Resolves with that path (side a).
   */
  plug(): Promise<string>;
  /** Releases the line, closes the module and its port, stops socat. */
  close(): Promise<void>;
}

/**
 * For a describe block whose tests run on pty lines: skips them, saying why, when socat is missing
 * (a failure under CI=true: requireSocat), and closes every line a test opened after it, also when
 * the test failed half-way. Returns the function that opens a line.
 */
export function ptyLines(): (opts: PtyLineOptions) => Promise<PtyLine> {
  before(function () {
    requireSocat(this);
  });
  const track = closeAfterEach();
  return async (opts) => track(await openPtyLine(opts));
}

/** Opens a line on a new pty pair with the emulated module and resolves once it is up. */
export async function openPtyLine(opts: PtyLineOptions): Promise<PtyLine> {
  const dir = opts.reuseDir ?? mkdtempSync(join(tmpdir(), 'pty-line-'));
  const modem = new EmulatedModem(opts.profile, { timing: opts.timing ?? FAST_MODEM, quirks: opts.quirks });
  let pair: PtyPair | null = null;
  let modemPort: SerialPort | null = null;
  let detach: (() => void) | null = null;

  const unplug = async (): Promise<void> => {
    const [port, p] = [modemPort, pair];
    [modemPort, pair] = [null, null];
    detach?.();
    detach = null;
    await new Promise<void>((resolve) => (port?.isOpen ? port.close(() => resolve()) : resolve()));
    await p?.close();
  };
  const plug = async (): Promise<string> => {
    if (pair) throw new Error('the module is plugged in already');
    const { a, b } = (pair = await ptyPair(5000, dir));
    modemPort = await new Promise<SerialPort>((resolve, reject) => {
      const p = new SerialPort({ path: b, baudRate: 115200 }, (err) => (err ? reject(err) : resolve(p)));
    });
    detach = modem.attach(modemPort);
    return a;
  };

  const statuses: LineStatus[] = [];
  let log: EventLog | undefined;
  const next = (topic: string, pred?: (e: VoiceEvent) => boolean, timeoutMs?: number): Promise<VoiceEvent> =>
    log!.next(topic, pred, timeoutMs);

  let line: VoiceLine | undefined;
  const close = async (): Promise<void> => {
    await line?.release('test');
    modem.close();
    await unplug();
    if (!opts.reuseDir) rmSync(dir, { recursive: true, force: true });
  };
  /** A line that did not come up leaves nothing behind. */
  const fail = async (err: Error): Promise<never> => {
    await close();
    throw err;
  };

  const path = await plug().catch(fail);
  line = new VoiceLine({ id: 'pty', backend: 'at', serialPort: path, baudRate: 115200, modem: 'auto' }, { log: memoryLog() });
  line.on('status', (s: LineStatus) => statuses.push(s));
  log = new EventLog(line, 8000);
  line.acquire('test');
  await next('line-up').catch(fail);
  return {
    line,
    modem,
    get pair() {
      if (!pair) throw new Error('the module is unplugged');
      return pair;
    },
    events: log.events,
    statuses,
    next,
    unplug,
    plug,
    close,
  };
}
