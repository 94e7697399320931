import { MockBinding } from '@serialport/binding-mock';
import { SerialPortMock } from 'serialport';
import type { Logger } from '../../backend';
import { InvalidInputError } from '../../errors';
import { printable } from '../../validate';
import { EmulatedModem, EmulatorQuirks, EmulatorTiming } from './emulated-modem';
import type { EmulatedSim } from './emulated-sim';
import { EMULATOR_PROFILES, emulatorProfileNames } from './profiles';

/** The prefix of a serial port path that selects the built-in emulator: `sim:ec600n`. */
export const SIM_PATH_PREFIX = 'sim:';

export interface SimulatedPortOptions {
  baudRate?: number;
  timing?: Partial<EmulatorTiming>;
  log?: Logger;
  /** The emulated SIM asks for this PIN. */
  pin?: string;
  /** The SIM card to put in the module (overrides `pin`): one card for every reopen of a line. */
  sim?: EmulatedSim;
  /** Behaviours of other firmware (see EmulatorQuirks). */
  quirks?: EmulatorQuirks;
}

/**
 * Reads a serial port setting: `sim:<profile>` (any case) selects the emulator, anything else is a real
 * device (null). Throws {@link InvalidInputError} naming the known profiles when the profile is unknown.
 */
export function parseSimPath(path: string): { profile: string } | null {
  if (typeof path !== 'string') return null;
  const trimmed = path.trim();
  if (trimmed.slice(0, SIM_PATH_PREFIX.length).toLowerCase() !== SIM_PATH_PREFIX) return null;
  const profile = trimmed.slice(SIM_PATH_PREFIX.length).trim().toLowerCase();
  if (!Object.prototype.hasOwnProperty.call(EMULATOR_PROFILES, profile)) {
    throw new InvalidInputError(
      `the serial port "${printable(path)}" names no emulated module: use sim:${emulatorProfileNames().join(', sim:')}`,
    );
  }
  return { profile };
}

/**
 * Opens a serial port whose far end is an {@link EmulatedModem}: a real `SerialPortMock` (the whole
 * serialport stream stack runs) on a mock port of its own, so that the host code is the same as with
 * hardware. What the host writes reaches `modem.receive`; what the modem sends is read from the port.
 * Closing the port closes the modem.
 */
export async function openSimulatedPort(
  profile: string,
  options: SimulatedPortOptions = {},
): Promise<{ port: SerialPortMock; modem: EmulatedModem }> {
  const modem = new EmulatedModem(profile, { timing: options.timing, log: options.log, pin: options.pin, sim: options.sim, quirks: options.quirks });
  const path = takeMockPath(modem.profile.name);
  MockBinding.createPort(path, { echo: false, record: false });
  const port = new SerialPortMock({ path, baudRate: options.baudRate ?? 115200, autoOpen: false });
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    modem.close();
    releaseMockPath(path);
    throw err;
  }
  const binding = port.port;
  if (!binding) {
    modem.close();
    releaseMockPath(path);
    throw new Error(`the emulated port ${path} did not open`);
  }
  // The host's writes: the binding's write() resolves once the bytes are "on the wire"; then the modem
  // reads them. Nothing else in the stream stack changes.
  const write = binding.write.bind(binding);
  binding.write = async (buffer: Buffer): Promise<void> => {
    await write(buffer);
    modem.receive(buffer);
  };
  modem.on('data', (data: Buffer) => {
    if (binding.isOpen) binding.emitData(data);
  });
  port.once('close', () => {
    modem.close();
    releaseMockPath(path);
  });
  return { port, modem };
}

/**
 * Mock port paths not in use. MockBinding keeps every port it created in a global registry and has no
 * way to remove one (only `reset()`, which would pull every other emulator's port): a new path per open
 * grew it by one port, with its buffers, at every reconnect and redeploy. A path is taken again once its
 * port closed, and `createPort()` gives it a fresh entry; the registry holds as many ports as were ever
 * open at once.
 */
const freeMockPaths: string[] = [];
let mockPorts = 0;

function takeMockPath(profile: string): string {
  const i = freeMockPaths.findIndex((p) => p.startsWith(`${SIM_PATH_PREFIX}${profile}#`));
  return i >= 0 ? freeMockPaths.splice(i, 1)[0] : `${SIM_PATH_PREFIX}${profile}#${++mockPorts}`;
}

function releaseMockPath(path: string): void {
  freeMockPaths.push(path);
}
