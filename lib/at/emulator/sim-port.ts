import { randomBytes } from 'node:crypto';
import { MockBinding } from '@serialport/binding-mock';
import { SerialPortMock } from 'serialport';
import type { Logger } from '../../backend';
import { InvalidInputError } from '../../errors';
import { printable } from '../../validate';
import { EmulatedModem, EmulatorQuirks, EmulatorTiming } from './emulated-modem';
import { EMULATOR_PROFILES, emulatorProfileNames } from './profiles';

/** The prefix of a serial port path that selects the built-in emulator: `sim:ec600n`. */
export const SIM_PATH_PREFIX = 'sim:';

export interface SimulatedPortOptions {
  baudRate?: number;
  timing?: Partial<EmulatorTiming>;
  log?: Logger;
  /** The emulated SIM asks for this PIN. */
  pin?: string;
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
  const modem = new EmulatedModem(profile, { timing: options.timing, log: options.log, pin: options.pin, quirks: options.quirks });
  // MockBinding's registry of ports is global and never forgets a path: every port gets a new one.
  const path = `${SIM_PATH_PREFIX}${modem.profile.name}#${randomBytes(6).toString('hex')}`;
  MockBinding.createPort(path, { echo: false, record: false });
  const port = new SerialPortMock({ path, baudRate: options.baudRate ?? 115200, autoOpen: false });
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    modem.close();
    throw err;
  }
  const binding = port.port;
  if (!binding) {
    modem.close();
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
  port.once('close', () => modem.close());
  return { port, modem };
}
