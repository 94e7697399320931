import { Duplex } from 'node:stream';
import { AtBackend, AtTiming } from '../../lib/at/modem-backend';
import { SerialDevice } from '../../lib/at/serial-device';
import { EmulatedModem, EmulatorQuirks, EmulatorTiming } from '../../lib/at/emulator/emulated-modem';
import { openSimulatedPort } from '../../lib/at/emulator/sim-port';
import { EmulatedSim } from '../../lib/at/emulator/emulated-sim';
import { VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import { Logger } from '../../lib/backend';
import { EventLog } from './event-log';

/** Fast emulator timing for tests: the far end alerts in 20 ms, answers 60 ms later. */
export const FAST_MODEM: Partial<EmulatorTiming> = {
  alertAfter: 20,
  answerAfter: 60,
  noAnswerAfter: 150,
  ringInterval: 100,
  commandDelay: [0, 2],
  bootTime: 30,
};

export const FAST_BACKEND: Partial<AtTiming> = { pollMs: 40, pollWithUrcMs: 150, reconnectMinMs: 50, reconnectMaxMs: 200 };

/** A log that keeps every line, to assert that secrets never appear. */
export function memoryLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (t: string) => void lines.push(`${level} ${t}`);
  return { lines, debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
}

/**
 * A SerialDevice over the emulator with test timing; every open() is a freshly powered module, with
 * the same SIM card in it (one made from `pin`, or the one given), as on hardware.
 */
export class TestSimDevice implements SerialDevice {
  emulator: EmulatedModem | null = null;
  opens = 0;
  /** Every module opened, in order (the commands of all connections, for counting). */
  readonly modems: EmulatedModem[] = [];
  private port: Duplex | null = null;
  private readonly sim: EmulatedSim | undefined;
  constructor(
    private readonly profile: string,
    private readonly timing: Partial<EmulatorTiming> = FAST_MODEM,
    pin?: string | EmulatedSim,
    private readonly quirks?: EmulatorQuirks,
  ) {
    this.sim = typeof pin === 'string' ? new EmulatedSim({ pin }) : pin;
  }
  async open(): Promise<Duplex> {
    const { port, modem } = await openSimulatedPort(this.profile, { timing: this.timing, sim: this.sim, quirks: this.quirks });
    this.opens++;
    this.port = port;
    this.emulator = modem;
    this.modems.push(modem);
    return port;
  }
  close(): Promise<void> {
    const port = this.port as (Duplex & { isOpen?: boolean; close(cb: () => void): void }) | null;
    this.port = null;
    return new Promise((resolve) => (port && port.isOpen ? port.close(() => resolve()) : resolve()));
  }
  /** Simulates pulling the USB cable: the port closes under the backend's feet. */
  unplug(): Promise<void> {
    return this.close();
  }
}

export interface Harness {
  line: VoiceLine;
  backend: AtBackend;
  device: TestSimDevice;
  modem: () => EmulatedModem;
  events: VoiceEvent[];
  log: ReturnType<typeof memoryLog>;
  /** The first event of `topic` (matching `pred`) not returned before, waiting for it if need be. */
  next(topic: string, pred?: (e: VoiceEvent) => boolean, timeoutMs?: number): Promise<VoiceEvent>;
  close(): Promise<void>;
}

export async function startLine(
  profile: string,
  opts: { modem?: string; pin?: string; simPin?: string; timing?: Partial<EmulatorTiming>; autoAnswer?: number; quirks?: EmulatorQuirks } = {},
): Promise<Harness> {
  const device = new TestSimDevice(profile, opts.timing ?? FAST_MODEM, opts.simPin, opts.quirks);
  const log = memoryLog();
  const backend = new AtBackend({
    lineId: 'L1',
    path: `test:${profile}`,
    baudRate: 115200,
    modem: opts.modem ?? 'auto',
    pin: opts.pin,
    log,
    timing: FAST_BACKEND,
    device,
  });
  const line = new VoiceLine({ id: 'L1', backend: 'at', autoAnswer: opts.autoAnswer }, { backendFactory: () => backend, log });
  const log_ = new EventLog(line, 3000);
  const h: Harness = {
    line,
    backend,
    device,
    modem: () => {
      if (!device.emulator) throw new Error('no emulator');
      return device.emulator;
    },
    events: log_.events,
    log,
    next: (topic, pred, timeoutMs) => log_.next(topic, pred, timeoutMs),
    close: () => line.stop(),
  };
  line.acquire('test');
  await h.next('line-up');
  return h;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
