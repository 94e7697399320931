/**
 * The module's PCM port: with `AT+QPCMV=1,0` an EC2x/EG2x sends the call's downlink as raw 8 kHz
 * 16-bit little-endian mono PCM on a second USB serial port (its NMEA port, e.g. /dev/ttyUSB1) and
 * takes the uplink from what the host writes there. While it is on, the module's own microphone and
 * speaker are out of the call: the far end hears what the host writes (silence otherwise).
 */
import { EventEmitter } from 'node:events';
import { Duplex, Transform, TransformCallback } from 'node:stream';
import { pcm16leToInt16, int16ToPcm16le } from '../../media/g711';
import { AtError } from '../at-channel';
import { AtFeatureContext } from '../at-feature';

/** Milliseconds the QPCMV switch may take. */
const QPCMV_TIMEOUT_MS = 2000;
/** Samples of played (uplink) audio kept for a `tx` stream while no downlink clocks them out: 2 s. */
const MAX_TX_BACKLOG = 16000;

/**
 * Bytes of the PCM port → Int16Array blocks of samples, as node-serialport's parsers frame bytes.
 *
 * Samples are 16-bit little-endian, and a port may deliver any number of bytes at a time: an odd
 * byte at the end of a chunk is kept and becomes the low byte of the first sample of the next chunk,
 * so samples never shift by a byte. An odd byte left when the input ends (half a sample) is dropped
 * and counted in `droppedBytes`.
 */
export class Pcm16Framer extends Transform {
  /** Half samples dropped at the end of the input. */
  droppedBytes = 0;
  private odd: number | null = null;

  constructor() {
    super({ readableObjectMode: true, writableObjectMode: false });
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    let bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    if (this.odd !== null) {
      bytes = Buffer.concat([Buffer.from([this.odd]), bytes]);
      this.odd = null;
    }
    if (bytes.length % 2 === 1) {
      this.odd = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    if (bytes.length > 0) this.push(pcm16leToInt16(bytes));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.odd !== null) this.droppedBytes++;
    this.odd = null;
    callback();
  }
}

/** Gets the downlink (what the remote party says) and the uplink played at the same time. */
export type PcmTap = (rx: Int16Array, tx: Int16Array) => void;

/**
 * One line's PCM stream: the port and the `AT+QPCMV` switch, shared by every recording stream and
 * playback of the line. The first user turns it on (the port is opened first, so that no byte is
 * lost, then `AT+QPCMV=1,0`), the last one turns it off (`AT+QPCMV=0`, then the port closes).
 *
 * The downlink clocks everything: each block of received samples goes to every tap, together with
 * as many samples of what was played into the call meanwhile (zeros when nothing was), so that a
 * `tx` or `both` stream runs at the module's pace.
 *
 * Events: `lost` (Error): the port failed or closed while in use; its users end with that error.
 */
export class PcmSession extends EventEmitter {
  private readonly users = new Set<object>();
  private readonly taps = new Set<PcmTap>();
  private port: Duplex | null = null;
  private framer: Pcm16Framer | null = null;
  /** The switch (on/off) in progress: transitions run one after the other. */
  private transition: Promise<void> = Promise.resolve();
  private txBacklog: Int16Array[] = [];
  private txSamples = 0;

  constructor(
    private readonly ctx: AtFeatureContext,
    private readonly openPort: () => Promise<Duplex>,
  ) {
    super();
  }

  get active(): boolean {
    return this.port !== null;
  }

  /** Turns the stream on for `user` (once for all users). Rejects when it cannot be turned on. */
  acquire(user: object): Promise<void> {
    this.users.add(user);
    return this.serialise(async () => {
      if (this.port || !this.users.has(user)) return;
      try {
        await this.switchOn();
      } catch (err) {
        this.users.delete(user);
        throw err;
      }
    });
  }

  /** `user` is done; after the last user the stream is turned off. Never rejects. */
  release(user: object): Promise<void> {
    this.users.delete(user);
    return this.serialise(async () => {
      if (this.users.size === 0 && this.port) await this.switchOff();
    }).catch((err: Error) => this.ctx.log.warn(`turning the PCM stream off: ${err.message}`));
  }

  /** Calls `tap` with every block of downlink (and the matching uplink) until the returned function is called. */
  tap(tap: PcmTap): () => void {
    this.taps.add(tap);
    return () => void this.taps.delete(tap);
  }

  /** Writes samples to the uplink (what the remote party hears). */
  write(samples: Int16Array): void {
    const port = this.port;
    if (!port || samples.length === 0) return;
    port.write(int16ToPcm16le(samples));
    this.txBacklog.push(samples);
    this.txSamples += samples.length;
    while (this.txSamples > MAX_TX_BACKLOG && this.txBacklog.length > 1) this.txSamples -= this.txBacklog.shift()!.length;
  }

  /** The AT channel is gone (port lost, module restarted): the module forgot QPCMV; drop the port. */
  onDown(): void {
    void this.serialise(async () => this.closePort());
  }

  /** The line is ready again: users still waiting get the stream back (`AT+QPCMV` is volatile). */
  onReady(): Promise<void> {
    return this.serialise(async () => {
      if (this.users.size > 0 && !this.port) await this.switchOn();
    }).catch((err: Error) => this.lose(new Error(`the PCM stream could not be turned on again: ${err.message}`)));
  }

  /** The line is stopping: off, whoever still uses it. */
  async stop(): Promise<void> {
    this.users.clear();
    await this.serialise(async () => {
      if (this.port) await this.switchOff();
    }).catch(() => undefined);
  }

  private serialise(step: () => Promise<void>): Promise<void> {
    const next = this.transition.then(step);
    this.transition = next.catch(() => undefined);
    return next;
  }

  private async switchOn(): Promise<void> {
    const port = await this.openPort();
    const framer = new Pcm16Framer();
    framer.on('data', (rx: Int16Array) => this.deliver(rx));
    port.on('error', (err: Error) => this.ctx.log.warn(`PCM port: ${err.message}`));
    port.once('close', this.onPortClosed);
    port.pipe(framer);
    this.port = port;
    this.framer = framer;
    try {
      await this.ctx.channel().send('AT+QPCMV=1,0', { timeoutMs: QPCMV_TIMEOUT_MS });
    } catch (err) {
      await this.closePort();
      const why = err instanceof AtError && err.kind === 'error' ? `the module answered ${err.final}` : (err as Error).message;
      throw new Error(`AT+QPCMV=1,0 failed: ${why}`);
    }
    this.ctx.log.debug('PCM stream on (AT+QPCMV=1,0)');
  }

  private async switchOff(): Promise<void> {
    try {
      await this.ctx.channel().send('AT+QPCMV=0', { timeoutMs: QPCMV_TIMEOUT_MS });
    } catch (err) {
      // The call may be over or the line down: the module has turned it off by itself then.
      this.ctx.log.debug(`AT+QPCMV=0: ${(err as Error).message}`);
    }
    await this.closePort();
    this.ctx.log.debug('PCM stream off');
  }

  private readonly onPortClosed = (): void => {
    if (!this.port) return;
    this.lose(new Error('the PCM port closed (device unplugged?)'));
  };

  private lose(err: Error): void {
    void this.serialise(async () => this.closePort());
    this.users.clear();
    this.emit('lost', err);
  }

  private async closePort(): Promise<void> {
    const port = this.port;
    const framer = this.framer;
    this.port = null;
    this.framer = null;
    this.txBacklog = [];
    this.txSamples = 0;
    if (!port) return;
    port.removeListener('close', this.onPortClosed);
    if (framer) {
      port.unpipe(framer);
      framer.end();
      if (framer.droppedBytes > 0) this.ctx.log.debug(`PCM stream ended on half a sample: ${framer.droppedBytes} byte dropped`);
    }
    await new Promise<void>((resolve) => {
      const p = port as Duplex & { isOpen?: boolean; close?: (cb: () => void) => void };
      if (typeof p.close === 'function' && p.isOpen !== false) p.close(() => resolve());
      else {
        port.destroy();
        resolve();
      }
    });
  }

  private deliver(rx: Int16Array): void {
    const tx = this.takeTx(rx.length);
    for (const tap of [...this.taps]) {
      try {
        tap(rx, tx);
      } catch (err) {
        this.ctx.log.warn(`a PCM stream reader failed: ${(err as Error).message}`);
      }
    }
  }

  /** `n` samples of the uplink played since the last block, zero-filled. */
  private takeTx(n: number): Int16Array {
    const out = new Int16Array(n);
    let at = 0;
    while (at < n && this.txBacklog.length > 0) {
      const head = this.txBacklog[0];
      const take = Math.min(head.length, n - at);
      out.set(head.subarray(0, take), at);
      at += take;
      this.txSamples -= take;
      if (take === head.length) this.txBacklog.shift();
      else this.txBacklog[0] = head.subarray(take);
    }
    return out;
  }
}

/** Moved to lib/media/call-legs.ts (one mechanism for both backends); re-exported for the AT code and its tests. */
export { pick } from '../../media/call-legs';
