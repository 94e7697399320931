import { Duplex } from 'node:stream';
import type { EmulatedModem } from './emulator/emulated-modem';
import type { SerialDevice } from './serial-device';

/**
 * Two connected in-memory streams, like the two ends of a cable: what one end writes, the other
 * reads. Destroying either end closes both (the cable is pulled out), and each end emits `close`.
 */
export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (other: () => Duplex): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        const peer = other();
        if (!peer.destroyed) peer.push(chunk);
        callback();
      },
      final(callback) {
        const peer = other();
        if (!peer.destroyed) peer.push(null);
        callback();
      },
    });
  ends.push(make(() => ends[1]), make(() => ends[0]));
  const [a, b] = ends;
  a.once('close', () => b.destroy());
  b.once('close', () => a.destroy());
  return [a, b];
}

/**
 * A {@link SerialDevice} whose far end is in this process: each `open()` makes a new
 * {@link duplexPair}, gives the line one end and `farEnd` the other (an emulated module through
 * `modem.attach(far)`, a trace replayer, a fake module of a test). The far end survives the port:
 * `unplug()` pulls the cable (the line sees its port close, and opening fails) and `plug()` puts it
 * back, while the module behind keeps its calls, as a real module does when only its USB link drops.
 */
export class LoopbackDevice implements SerialDevice {
  /** How many times the port was opened. */
  opens = 0;
  private port: Duplex | null = null;
  private plugged = true;

  constructor(
    private readonly farEnd: (far: Duplex) => void,
    readonly emulator: EmulatedModem | null = null,
  ) {}

  /** A device with `modem` on the far end (attached anew at every open). */
  static forModem(modem: EmulatedModem): LoopbackDevice {
    return new LoopbackDevice((far) => {
      const detach = modem.attach(far);
      far.once('close', detach);
    }, modem);
  }

  async open(): Promise<Duplex> {
    if (!this.plugged) throw new Error('cannot open the loopback port: no such device (unplugged)');
    const [host, far] = duplexPair();
    this.opens++;
    this.port = host;
    this.farEnd(far);
    return host;
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = null;
    port?.destroy();
  }

  /** Pulls the cable: the open port closes under the line, and opening fails until {@link plug}. */
  unplug(): void {
    this.plugged = false;
    void this.close();
  }

  plug(): void {
    this.plugged = true;
  }

  get isPlugged(): boolean {
    return this.plugged;
  }
}
