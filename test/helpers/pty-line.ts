import { SerialPort } from 'serialport';
import { EmulatedModem } from '../../lib/at/emulator';
import { VoiceEvent, VoiceLine } from '../../lib/line/voice-line';
import { FAST_MODEM, memoryLog } from './at-harness';
import { PtyPair, ptyPair } from './pty-pair';

/** A line through the REAL serialport binding: one end of a socat pty pair, the emulated module on the other. */
export interface PtyLine {
  line: VoiceLine;
  modem: EmulatedModem;
  pair: PtyPair;
  /** Every event of the line since it was opened. */
  events: VoiceEvent[];
  /** Releases the line, closes the module and its port, stops socat. */
  close(): Promise<void>;
}

/** Opens a line on a new pty pair with a `profile` module (test timing) and resolves once it is up. */
export async function openPtyLine(profile: string): Promise<PtyLine> {
  const pair = await ptyPair();
  const modemPort = await new Promise<SerialPort>((resolve, reject) => {
    const p = new SerialPort({ path: pair.b, baudRate: 115200 }, (err) => (err ? reject(err) : resolve(p)));
  });
  const modem = new EmulatedModem(profile, { timing: FAST_MODEM });
  modem.attach(modemPort);
  const line = new VoiceLine({ id: 'pty', backend: 'at', serialPort: pair.a, baudRate: 115200, modem: 'auto' }, { log: memoryLog() });
  const events: VoiceEvent[] = [];
  const up = new Promise<void>((resolve) =>
    line.on('event', (e: VoiceEvent) => {
      events.push(e);
      if (e.topic === 'line-up') resolve();
    }),
  );
  line.acquire('test');
  await up;
  return {
    line,
    modem,
    pair,
    events,
    async close() {
      await line.release('test');
      modem.close();
      await new Promise<void>((resolve) => (modemPort.isOpen ? modemPort.close(() => resolve()) : resolve()));
      await pair.close();
    },
  };
}
