/**
 * The media worker's RTP sockets read and written through native/rtp-io.c (a Node-API addon) instead
 * of `dgram`'s events: once per media tick every socket is drained, each packet with the kernel's
 * arrival time. No libuv poll event, second `recvmsg`, `rinfo` object or JavaScript callback per
 * packet (docs/benchmarks.md, "Native RTP I/O"). Two ways ({@link NativeRtpIoMode}): through the
 * thread's io_uring where the kernel has it (a multishot receive per socket, the sends submitted in
 * batches: two or three system calls a tick), else `recvmmsg` per socket and one `sendto` per packet
 * (docs/media-engine.md, "RTP I/O").
 *
 * The sockets stay `dgram`'s: they are bound (by the port allocator) and closed as before; {@link
 * NativeRtpIo.attach} takes over one that is bound, and gives it back (detach) before it closes.
 * Where the addon was not built (no compiler at install), or `VOICE_RTP_IO=dgram` is set, {@link
 * loadNativeRtpIo} says why and the sessions use `dgram` as they always did: same packets, same stats.
 *
 * A packet waits at most one tick (20 ms) in the kernel: the sessions only use what arrived at their
 * next tick anyway (the jitter buffer plays out at the tick), and the arrival time the stats use is
 * the kernel's, not the drain's.
 */
import type dgram from 'node:dgram';
import { isIPv4 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { loadNativeAddon, nativeAddonPath } from '../native-addon';

/** What a taken-over socket's packets are given to: a copy of the packet (the session may keep it). */
export type RtpPacketHandler = (packet: Buffer, address: string, port: number, arrivalMs: number) => void;

/** Told when the kernel refused a packet sent earlier (io_uring reports it at the next drain). */
export type RtpSendErrorHandler = () => void;

/** One socket taken over. */
export interface AttachedRtpSocket {
  /**
   * Sends one datagram: now (sendto), or with this tick's other sends (io_uring, submitted before the
   * event loop goes on). False when it was refused at once; a refusal found later goes to the
   * attach's `onSendError`. Either way the packet's memory is free again when this returns.
   */
  send(packet: Buffer, port: number, address: string): boolean;
  /** Gives the socket back to `dgram` (reading through its events again); call before closing it. */
  detach(): void;
}

/** How a session's RTP socket is read and written when not through `dgram` (RtpSessionOptions.io). */
export interface RtpSocketIo {
  /** Takes a bound socket over; null when it cannot (the session then uses `dgram`). */
  attach(socket: dgram.Socket, onPacket: RtpPacketHandler, onSendError?: RtpSendErrorHandler): AttachedRtpSocket | null;
}

interface Addon {
  RECV_FIELDS: number;
  SLOT: number;
  enable(fd: number): number;
  recv(fds: Int32Array, count: number, buf: Buffer, meta: Int32Array, state: Int32Array): number;
  /** Queued on the thread's io_uring when `fd` is attached to it (0), else one `sendto` now (bytes); -errno when refused. */
  send(fd: number, buf: Buffer, offset: number, length: number, address: number, port: number): number;
  /** This thread's io_uring (native/rtp-io.c): 0, or -errno where there is none. */
  uringOpen(): number;
  uringAttach(fd: number): number;
  uringDetach(fd: number): number;
  uringSubmit(): number;
  uringRecv(buf: Buffer, meta: Int32Array, state: Int32Array): number;
}

/** How the attached sockets are read and written: io_uring (two or three system calls a tick), else recvmmsg and sendto. */
export type NativeRtpIoMode = 'io_uring' | 'recvmmsg';

/** errno numbers io_uring_setup fails with, as words for the log. */
const SETUP_ERRORS: Record<number, string> = {
  1: 'not permitted (EPERM: kernel.io_uring_disabled, or a container\'s seccomp profile)',
  12: 'out of memory (ENOMEM: the locked-memory limit?)',
  22: 'Linux older than 6.1 (EINVAL: no DEFER_TASKRUN)',
  38: 'not in this kernel, or the addon was built with headers older than Linux 6.1 (ENOSYS)',
  95: 'Linux older than 6.0 (no buffer rings or multishot receive)',
};

export const NATIVE_RTP_IO_PATH = nativeAddonPath('rtp_io.node');

/** The addon, or why not. Loaded once per thread. */
export function loadNativeRtpIo(): { io: NativeRtpIo; reason: null } | { io: null; reason: string } {
  const loaded = loadNativeAddon<Addon>('rtp_io.node', 'the native RTP I/O addon', { variable: 'VOICE_RTP_IO', value: 'dgram' });
  return loaded.addon ? { io: new NativeRtpIo(loaded.addon), reason: null } : { io: null, reason: loaded.reason };
}

/** The descriptor of a bound `dgram` socket, through its internal state (no public way; `_handle` warns DEP0112). */
function descriptorOf(socket: dgram.Socket): { fd: number; handle: { recvStart(): number; recvStop(): number } } | null {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const handle = state ? (socket as any)[state]?.handle : undefined;
  if (!handle || typeof handle.fd !== 'number' || handle.fd < 0 || typeof handle.recvStop !== 'function') return null;
  return { fd: handle.fd, handle };
}

/** IPv4 dotted quad → host-order number, or -1 (Node's own check, as the sessions' addresses: lib/sip/media-params.ts checkIpv4). */
function ipv4ToInt(address: string): number {
  if (!isIPv4(address)) return -1;
  return address.split('.').reduce((v, part) => v * 256 + Number(part), 0);
}

function intToIpv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

interface Slot {
  fd: number;
  onPacket: RtpPacketHandler;
  onSendError: RtpSendErrorHandler | undefined;
  /** The last source seen and its text, so that a stream's packets make no new string each. */
  lastFrom: number;
  lastFromText: string;
  /** The last destination sent to, as a number. */
  lastTo: string;
  lastToInt: number;
  /** Given back (detach): a drain under way delivers nothing more to it. */
  detached: boolean;
}

const BUFFER_BYTES = 1 << 20;

/**
 * The sockets attached to this thread's io_uring, by descriptor. One ring per thread (the addon's), so
 * one table per thread (this module's): any NativeRtpIo of the thread that drains the ring hands each
 * packet to the right session.
 */
const uringSlots: (Slot | undefined)[] = [];

export class NativeRtpIo implements RtpSocketIo {
  private fds = new Int32Array(0);
  private slots: Slot[] = [];
  private readonly buf = Buffer.allocUnsafeSlow(BUFFER_BYTES);
  private readonly meta: Int32Array;
  private readonly state = new Int32Array(2);
  /** The arrays of the drain under way (a handler may detach a socket during it). */
  private draining: { fds: Int32Array; slots: Slot[] } | null = null;
  /** io_uring: the attached sockets by descriptor (its completions name the fd): the thread's, as its ring. */
  private readonly byFd = uringSlots;
  /** io_uring: how many of this instance's sockets are attached (its drain reads the ring, not `fds`). */
  private uringAttached = 0;
  private submitScheduled = false;
  /** io_uring, or recvmmsg and sendto (and why not io_uring). */
  readonly mode: NativeRtpIoMode;
  readonly whyNotUring: string | null;
  /** Receive errors other than "nothing to read" (the addon's count). */
  get receiveErrors(): number {
    return this.state[1];
  }

  /** `useUring` false, or `VOICE_RTP_IO=recvmmsg`: recvmmsg and sendto even where io_uring works. */
  constructor(
    private readonly addon: Addon,
    useUring = process.env.VOICE_RTP_IO !== 'recvmmsg',
  ) {
    this.meta = new Int32Array((BUFFER_BYTES / addon.SLOT) * addon.RECV_FIELDS);
    const opened = useUring ? addon.uringOpen() : null;
    this.mode = opened === 0 ? 'io_uring' : 'recvmmsg';
    this.whyNotUring = opened === null ? 'VOICE_RTP_IO=recvmmsg is set' : opened === 0 ? null : `io_uring: ${SETUP_ERRORS[-opened] ?? `error ${-opened}`}`;
  }

  private readonly submit = (): void => {
    this.submitScheduled = false;
    this.addon.uringSubmit();
  };

  get attached(): number {
    return this.mode === 'io_uring' ? this.uringAttached : this.slots.length;
  }

  attach(socket: dgram.Socket, onPacket: RtpPacketHandler, onSendError?: RtpSendErrorHandler): AttachedRtpSocket | null {
    // IPv4 only (as the RTP sessions: lib/sip/media-params.ts); anything else stays on dgram.
    let family: string;
    try {
      family = socket.address().family;
    } catch {
      return null; // not bound, or closed
    }
    const d = family === 'IPv4' ? descriptorOf(socket) : null;
    if (!d || this.addon.enable(d.fd) !== 0) return null;
    const uring = this.mode === 'io_uring';
    d.handle.recvStop();
    if (uring && this.addon.uringAttach(d.fd) !== 0) {
      d.handle.recvStart();
      return null;
    }
    const slot: Slot = { fd: d.fd, onPacket, onSendError, lastFrom: -1, lastFromText: '', lastTo: '', lastToInt: -1, detached: false };
    // io_uring: found by its descriptor, O(1) to come and go (calls come and go 100 times a second
    // beside hundreds up); recvmmsg: in the arrays the drain walks.
    if (uring) {
      this.byFd[d.fd] = slot;
      this.uringAttached++;
    } else {
      this.slots = [...this.slots, slot];
      this.rebuild();
    }
    let attached = true;
    let closed = false;
    const detach = (): void => {
      if (!attached) return;
      attached = false;
      slot.detached = true;
      socket.off('close', onClose);
      // The kernel lets go of the socket before dgram closes it; its completions still queued are dropped.
      // (Not when another socket has the number already: closed without a detach, and attach cancelled it.)
      if (uring) {
        this.uringAttached--;
        if (this.byFd[slot.fd] === slot) {
          this.addon.uringDetach(slot.fd);
          this.byFd[slot.fd] = undefined;
        }
      } else {
        // A drain under way reads its descriptor no more (the socket may close and the number be reused next).
        if (this.draining) {
          const at = this.draining.slots.indexOf(slot);
          if (at >= 0) this.draining.fds[at] = -1;
        }
        this.slots = this.slots.filter((s) => s !== slot);
        this.rebuild();
      }
      if (!closed) d.handle.recvStart();
    };
    // Closed without a detach (a session always detaches first): let go of it all the same, so that its
    // number is read no more and the kernel's hold does not keep its port bound.
    const onClose = (): void => {
      closed = true;
      detach();
    };
    socket.once('close', onClose);
    return {
      detach,
      send: (packet, port, address) => {
        if (address !== slot.lastTo) {
          slot.lastTo = address;
          slot.lastToInt = ipv4ToInt(address);
        }
        if (slot.lastToInt < 0) return false;
        // Queued on the ring (submitted by the drain, or right after this tick), or sent at once.
        if (uring && !this.submitScheduled) {
          this.submitScheduled = true;
          queueMicrotask(this.submit);
        }
        return this.addon.send(slot.fd, packet, 0, packet.length, slot.lastToInt, port) >= 0;
      },
    };
  }

  /** Reads every attached socket dry and hands each packet to its session. Once per media tick, once every session sent (the media worker asks for it with the clock's afterTick). */
  drain(): void {
    if (this.mode === 'io_uring') {
      if (this.uringAttached > 0) this.drainRing();
      return;
    }
    const count = this.slots.length;
    if (count === 0) return;
    const fds = this.fds;
    this.state[0] = 0;
    // The slots as they are now: a handler may close its session (detach) while the drain runs.
    const slots = this.slots;
    this.draining = { fds, slots };
    try {
      this.drainInto(fds, slots, count);
    } finally {
      this.draining = null;
    }
  }

  private drainInto(fds: Int32Array, slots: Slot[], count: number): void {
    const { addon, buf, meta, state } = this;
    const fields = addon.RECV_FIELDS;
    do {
      const n = addon.recv(fds, count, buf, meta, state);
      const now = performance.now();
      for (let i = 0, m = 0; i < n; i++, m += fields) {
        const slot = slots[meta[m]];
        const length = meta[m + 2];
        if (length < 0 || slot.detached) continue; // larger than any RTP packet here (truncated), or given back: dropped
        this.deliver(slot, length, meta, m, now);
      }
    } while (state[0] < count);
  }

  /** The ring's completions: packets (by descriptor) and sends the kernel refused. */
  private drainRing(): void {
    const { addon, buf, meta, state, byFd } = this;
    const fields = addon.RECV_FIELDS;
    do {
      const n = addon.uringRecv(buf, meta, state);
      const now = performance.now();
      for (let i = 0, m = 0; i < n; i++, m += fields) {
        const slot = byFd[meta[m]];
        if (!slot || slot.detached) continue;
        const length = meta[m + 2];
        if (length === -2) slot.onSendError?.();
        if (length < 0) continue; // a refused send, or a datagram larger than any RTP packet here (truncated): dropped
        this.deliver(slot, length, meta, m, now);
      }
    } while (state[0] === 1);
  }

  /** One packet of the drain's buffer to its session: a copy of it, its source and its arrival time. */
  private deliver(slot: Slot, length: number, meta: Int32Array, m: number, now: number): void {
    const from = meta[m + 3] >>> 0;
    if (from !== slot.lastFrom) {
      slot.lastFrom = from;
      slot.lastFromText = intToIpv4(from);
    }
    const packet = Buffer.allocUnsafe(length);
    this.buf.copy(packet, 0, meta[m + 1], meta[m + 1] + length);
    const age = meta[m + 5];
    slot.onPacket(packet, slot.lastFromText, meta[m + 4], age < 0 ? now : now - age / 1000);
  }

  /** New arrays on every change (calls come and go a few times a second): a drain under way keeps the ones it started with. */
  private rebuild(): void {
    this.fds = Int32Array.from(this.slots, (s) => s.fd);
  }
}
