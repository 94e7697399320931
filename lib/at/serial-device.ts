import { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';
import type { EmulatedModem } from './emulator/emulated-modem';
import type { EmulatedSim } from './emulator/emulated-sim';
import { Logger } from '../backend';
import { InvalidInputError } from '../errors';

/**
 * The hardware, behind two methods. `open()` gives the byte stream (its `close` event tells that the
 * device went away); `close()` releases it. A real port uses serialport's native binding; a `sim:`
 * path opens the built-in emulator through serialport's mock binding, so the same stream stack runs.
 */
export interface SerialDevice {
  open(): Promise<Duplex>;
  close(): Promise<void>;
  /** The emulated module behind a `sim:` path (for tests and demos); null for real hardware. */
  readonly emulator: EmulatedModem | null;
}

export interface SimPathOptions {
  profile: string;
  /** `?demo=<seconds>`: the emulator places an incoming call every N seconds. */
  demoEverySeconds?: number;
  /** `&digits=<keys>` (URL-encoded, `#` as %23): the demo caller presses them after the answer. */
  demoDigits?: string;
  /**
   * `&pin=<4-8 digits>`, `&puk=<4-8 digits>`, `&pinAttempts=<0-3>`: the emulated SIM card (its PIN,
   * not a secret: it is the fake card's, the line's own PIN stays in the credentials).
   */
  sim?: { pin?: string; puk?: string; pinAttempts?: number };
}

/** Reads `sim:<profile>[?demo=<seconds>]`; null when the path is not a `sim:` path. */
export function parseSimOptions(path: string): SimPathOptions | null {
  if (!/^sim:/i.test(path.trim())) return null;
  const [base, query = ''] = path.trim().split('?', 2);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseSimPath } = require('./emulator/sim-port') as typeof import('./emulator/sim-port');
  const sim = parseSimPath(base); // validates the profile name, listing the known ones
  const opts: SimPathOptions = { profile: sim ? sim.profile : base.slice(4) };
  for (const part of query.split('&').filter(Boolean)) {
    const [k, v] = part.split('=', 2);
    if (k === 'demo') {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 1) throw new InvalidInputError(`"demo" in the serial port "${path}" must be a number of seconds ≥ 1`);
      opts.demoEverySeconds = n;
    } else if (k === 'digits') {
      let keys = '';
      try {
        keys = decodeURIComponent(v ?? '');
      } catch {
        // not valid percent-encoding: refused below
      }
      if (!/^[0-9*#A-D]{1,64}$/i.test(keys)) {
        throw new InvalidInputError(`"digits" in the serial port "${path}" must be 1 to 64 DTMF keys (0-9 * # A-D; write # as %23)`);
      }
      opts.demoDigits = keys.toUpperCase();
    } else if (k === 'pin' || k === 'puk') {
      if (!/^[0-9]{4,8}$/.test(v ?? '')) throw new InvalidInputError(`"${k}" in the serial port "${path}" must be 4 to 8 digits`);
      opts.sim = { ...opts.sim, [k]: v };
    } else if (k === 'pinAttempts') {
      if (!/^[0-3]$/.test(v ?? '')) throw new InvalidInputError(`"pinAttempts" in the serial port "${path}" must be 0, 1, 2 or 3`);
      opts.sim = { ...opts.sim, pinAttempts: Number(v) };
    } else {
      throw new InvalidInputError(`unknown option "${k}" in the serial port "${path}" (known: demo, digits, pin, puk, pinAttempts)`);
    }
  }
  return opts;
}

export function createSerialDevice(path: string, baudRate: number, log: Logger): SerialDevice {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new InvalidInputError('the line has no serial port: set a device path (e.g. /dev/ttyUSB2) or sim:ec600n');
  }
  if (!Number.isInteger(baudRate) || baudRate <= 0) {
    throw new InvalidInputError(`the baud rate must be a positive whole number, got ${String(baudRate)}`);
  }
  const sim = parseSimOptions(path);
  return sim ? new SimDevice(sim, baudRate, log) : new HardwareDevice(path, baudRate);
}

/**
 * What serialport says about a port it could not open, without its own framing: its messages read
 * `Error: No such file or directory, cannot open /dev/ttyUSB0`, and ours name the port already.
 */
export function portErrorText(err: Error, path: string): string {
  const text = err.message.replace(/^Error:\s*/, '');
  const tail = `, cannot open ${path}`;
  return text.endsWith(tail) ? text.slice(0, -tail.length) : text;
}

class HardwareDevice implements SerialDevice {
  readonly emulator = null;
  private port: SerialPort | null = null;

  constructor(
    private readonly path: string,
    private readonly baudRate: number,
  ) {}

  open(): Promise<Duplex> {
    const port = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false });
    return new Promise((resolve, reject) => {
      port.open((err) => {
        if (err) {
          port.removeAllListeners();
          reject(new Error(`cannot open ${this.path}: ${portErrorText(err, this.path)}`));
          return;
        }
        this.port = port;
        resolve(port);
      });
    });
  }

  close(): Promise<void> {
    return closePort(this.port).finally(() => (this.port = null));
  }
}

class SimDevice implements SerialDevice {
  emulator: EmulatedModem | null = null;
  private port: Duplex | null = null;
  /** The emulated SIM card: one for the device's life, so that its retry counter survives reconnects. */
  private card: EmulatedSim | undefined;

  constructor(
    private readonly sim: SimPathOptions,
    private readonly baudRate: number,
    private readonly log: Logger,
  ) {}

  async open(): Promise<Duplex> {
    // Loaded here so that a line on real hardware never loads the emulator.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { openSimulatedPort } = require('./emulator/sim-port') as typeof import('./emulator/sim-port');
    if (!this.card && this.sim.sim) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { EmulatedSim } = require('./emulator/emulated-sim') as typeof import('./emulator/emulated-sim');
      this.card = new EmulatedSim(this.sim.sim);
    }
    const { port, modem } = await openSimulatedPort(this.sim.profile, { baudRate: this.baudRate, log: this.log, sim: this.card });
    this.port = port;
    this.emulator = modem;
    if (this.sim.demoEverySeconds) {
      modem.startDemo({ incomingEveryMs: this.sim.demoEverySeconds * 1000, digits: this.sim.demoDigits });
    }
    return port;
  }

  close(): Promise<void> {
    return closePort(this.port as SerialPort | null).finally(() => {
      this.port = null;
    });
  }
}

function closePort(port: { isOpen?: boolean; close(cb: (err?: Error | null) => void): void } | null): Promise<void> {
  return new Promise((resolve) => {
    if (!port || port.isOpen === false) return resolve();
    try {
      port.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
