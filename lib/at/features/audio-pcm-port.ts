import type { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';
import { NotSupportedError } from '../../errors';
import type { AtFeatureContext } from '../at-feature';
import { portErrorText } from '../serial-device';
import type { EmulatorAudio } from '../emulator/features/audio';

/**
 * Opens the line's PCM port: on a `sim:` line the emulated module's own PCM stream, else the serial
 * device named by the line's `pcmPort` setting (a USB port: the baud rate does not pace it).
 */
export async function openPcmPort(ctx: AtFeatureContext): Promise<Duplex> {
  const emulator = ctx.device()?.emulator;
  if (emulator) return emulator.feature<EmulatorAudio>('audio').openPcmPort();
  const path = ctx.options.pcmPort?.trim();
  if (!path) {
    throw new NotSupportedError(
      `call audio streams need the module's PCM port (${ctx.describeModem()}): set the line's PCM port, ` +
        'e.g. /dev/ttyUSB1 (the NMEA port of an EC2x/EG2x)',
    );
  }
  const port = new SerialPort({ path, baudRate: ctx.options.baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((err) => (err ? reject(new Error(`cannot open the PCM port ${path}: ${portErrorText(err, path)}`)) : resolve())),
  );
  return port;
}
