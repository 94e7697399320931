import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { checkInt, checkOptions } from '../media/check-option';
import { checkIpv4 } from './media-params';
import { RtpPortsExhaustedError } from './rtp-ports-exhausted-error';

export interface RtpPortAllocatorOptions {
  /** The lowest port of the range (1024–65535). The first RTP port is the first even port from here. */
  rtpPortMin: number;
  /** The highest port of the range; an RTP port's RTCP port (+1) must fit under it too. */
  rtpPortMax: number;
  /** The local IPv4 address the sockets are bound to (default `0.0.0.0`: every interface). */
  address?: string;
}

/**
 * One call leg's ports: the RTP socket on an even port and the RTCP socket on the next one, both
 * bound. The RTCP socket only holds its port (RFC 3550 §11 pairs them, and a peer may send RTCP
 * there): nothing is sent from it.
 */
export interface RtpPortPair {
  readonly address: string;
  readonly rtpPort: number;
  readonly rtcpPort: number;
  readonly rtp: dgram.Socket;
  readonly rtcp: dgram.Socket;
  readonly closed: boolean;
  /** Closes both sockets and gives the ports back to the allocator. Calling it again does nothing more. */
  close(): Promise<void>;
}

/**
 * Hands out RTP/RTCP port pairs from a range, binding real `udp4` sockets.
 *
 * A port another program holds (EADDRINUSE, EACCES) is skipped and the next pair tried; the pairs
 * this allocator holds are not tried at all. Allocation goes round the range from a random start,
 * so a port just given back is the last to be reused (late packets of an ended call do not land
 * in the next one) and two processes sharing a range rarely race for the same port.
 */
export class RtpPortAllocator {
  readonly address: string;
  readonly rtpPortMin: number;
  readonly rtpPortMax: number;
  /** The even ports of the range whose RTCP port fits too. */
  private readonly firstPort: number;
  readonly capacity: number;
  /** The RTP ports held (bound, or being bound) by this allocator. */
  private readonly held = new Set<number>();
  private cursor: number;

  constructor(options: RtpPortAllocatorOptions) {
    const o = checkOptions('RtpPortAllocator', options);
    this.rtpPortMin = checkInt('rtpPortMin', o.rtpPortMin, 1024, 65534);
    this.rtpPortMax = checkInt('rtpPortMax', o.rtpPortMax, 1025, 65535);
    this.address = o.address === undefined ? '0.0.0.0' : checkIpv4('address', o.address);
    this.firstPort = this.rtpPortMin + (this.rtpPortMin % 2);
    this.capacity = Math.max(0, Math.floor((this.rtpPortMax - this.firstPort + 1) / 2));
    if (this.capacity === 0) {
      throw new TypeError(
        `"rtpPortMax" must leave room for an even RTP port and its RTCP port above "rtpPortMin" ${this.rtpPortMin}, got ${this.rtpPortMax}`,
      );
    }
    this.cursor = randomInt(this.capacity);
  }

  /** The pairs held now. */
  get inUse(): number {
    return this.held.size;
  }

  /**
   * Binds the next free pair. Rejects with {@link RtpPortsExhaustedError} when every pair of the
   * range is taken, and with the socket's error when binding fails for another reason (an address
   * that is not this machine's: EADDRNOTAVAIL).
   */
  allocate(): Promise<RtpPortPair> {
    return this.allocateWith((address, port, release) => bindPortPair(address, port, release));
  }

  /**
   * The same choice of ports as {@link allocate}, with the binding done by `bind` (a media worker
   * binds the sockets it will use, lib/media-engine/: sockets cannot move between threads). `bind`
   * binds the pair at `rtpPort` (and `rtpPort + 1`) and rejects with the socket's error when it
   * cannot: EADDRINUSE / EACCES make the next pair be tried, any other error rejects as it is.
   * `release` gives the pair back to the allocator: call it once the sockets are closed.
   */
  async allocateWith<T>(bind: (address: string, rtpPort: number, release: () => void) => Promise<T>): Promise<T> {
    let busyElsewhere = 0;
    for (let tried = 0; tried < this.capacity; tried++) {
      const port = this.firstPort + 2 * this.cursor;
      this.cursor = (this.cursor + 1) % this.capacity;
      if (this.held.has(port)) continue;
      this.held.add(port);
      try {
        return await bind(this.address, port, () => this.held.delete(port));
      } catch (err) {
        this.held.delete(port);
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
        busyElsewhere++;
      }
    }
    throw new RtpPortsExhaustedError(
      `no free RTP port in ${this.rtpPortMin}-${this.rtpPortMax} on ${this.address}: all ${this.capacity} port pairs ` +
        `are in use (${this.held.size} by calls of this line, ${busyElsewhere} by other programs); ` +
        'widen the RTP port range or lower the number of concurrent calls',
    );
  }
}

/**
 * Binds the RTP socket at `port` and the RTCP socket at `port + 1` on `address` (rejects with the
 * socket's error, nothing left bound); `onClosed` runs once both are closed by `close()`.
 */
export async function bindPortPair(address: string, port: number, onClosed: () => void): Promise<RtpPortPair> {
  const rtp = await bindSocket(address, port);
  let rtcp: dgram.Socket;
  try {
    rtcp = await bindSocket(address, port + 1);
  } catch (err) {
    await closeSocket(rtp);
    throw err;
  }
  let closing: Promise<void> | null = null;
  return {
    address,
    rtpPort: port,
    rtcpPort: port + 1,
    rtp,
    rtcp,
    get closed() {
      return closing !== null;
    },
    close: () => {
      closing ??= Promise.all([closeSocket(rtp), closeSocket(rtcp)]).then(onClosed);
      return closing;
    },
  };
}

function bindSocket(address: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: 'udp4' });
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', onError);
      // A bound UDP socket reports hardly anything as 'error', but an unhandled one would kill the
      // process: whoever uses the socket adds its own listener; this one keeps it safe meanwhile.
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
