import os from 'node:os';
import path from 'node:path';
import { TransferListItem, Worker } from 'node:worker_threads';
import type { Logger } from '../backend';
import { InvalidInputError } from '../errors';
import { describe } from '../validate';
import type { G711Codec, MediaDirection } from '../sip/media-params';
import type { RtpPortAllocator } from '../sip/rtp-port-allocator';
import { STATIC_PAYLOAD_TYPES } from '../sip/media-params';
import { Batch, Command, LegId, statsBuffer } from './protocol';
import { fromWireError, LegLink, RemoteRtpSession } from './remote-rtp-session';
import { MediaPriority, priorityRank } from './thread-priority';

/** The line setting `mediaWorkers`: worker threads for call media, `auto` (one per core) or a number; 0 = in the main thread. */
export type MediaWorkersSetting = number | 'auto';

/** The most worker threads a line may ask for. */
export const MAX_MEDIA_WORKERS = 64;

/** The number of media workers a setting asks for (throws InvalidInputError naming the setting for a bad one). */
export function mediaWorkerCount(setting: MediaWorkersSetting | undefined): number {
  if (setting === undefined || setting === 'auto') return os.availableParallelism();
  if (typeof setting !== 'number' || !Number.isInteger(setting) || setting < 0 || setting > MAX_MEDIA_WORKERS) {
    throw new InvalidInputError(`the number of media workers must be auto or a whole number from 0 (media in the main thread) to ${MAX_MEDIA_WORKERS}, got ${describe(setting)}`);
  }
  return setting;
}

/**
 * How many media threads run at `realtime` on a machine of `cores` cores: all but one (at least one).
 * A real-time thread holds its core until it sleeps, so real-time threads on every core starve the
 * flow's thread (SIP, the flows) whenever the calls keep them busy: measured at 500 calls recording
 * on 2 cores, two real-time workers stalled the flow's thread 1.15 s and lost 1.7 % / 6.3 % of the
 * packets, one real-time worker lost none (docs/benchmarks.md, "Real-time workers on every core").
 */
export function realtimeThreadLimit(cores: number): number {
  return Math.max(1, cores - 1);
}

/**
 * A worker's young generation (V8's scavenged space), MiB. V8's default lets it grow to 3 × 16 MiB
 * under a media worker's steady allocation (a packet's Buffer per leg per tick): with it a worker
 * cost 378–534 KiB of RSS per call at 200 calls; with 4 MiB, 256–326 KiB, and no more CPU
 * (docs/benchmarks.md, "Where a media worker's time goes"). At 500 calls recording, though, the
 * scavenges of 4 MiB took 22–26 % of the worker's thread; 16 MiB cut its GC time by ~40 % (3057–3623
 * → 1935 ms over the 45 s step) for 181–185 → 216 KiB of RSS per call (session 8, same section):
 * each scavenge's cost is mostly fixed (the roots, the old sessions' pointers to new objects), so
 * fewer of them pay.
 */
export const WORKER_YOUNG_GENERATION_MB = 16;

/** What a call leg's media starts with (the handler configures the rest once an offer/answer completed). */
export interface OpenLegOptions {
  allocator: RtpPortAllocator;
  codec: G711Codec;
  direction: MediaDirection;
  inbandDtmf: boolean;
  log: Logger;
}

/** One worker thread and the legs placed on it. */
class WorkerSlot implements LegLink {
  readonly legs = new Map<LegId, RemoteRtpSession>();
  private readonly opening = new Map<LegId, { resolve: () => void; reject: (err: Error) => void }>();
  private worker: Worker;
  private id = 0;
  private stopping = false;
  private lastError: Error | null = null;
  /** How many times its thread died and was started again. */
  restarts = 0;

  constructor(
    private readonly script: string,
    private readonly execArgv: readonly string[] = [],
    private priority: MediaPriority = 'normal',
    /** Told how the thread's priority went (each start, each change). */
    private readonly onPriority: (threadId: number, priority: MediaPriority, refused: string | null) => void = () => undefined,
  ) {
    this.worker = this.start();
  }

  /** The thread's priority from now on (and of the threads that replace it). */
  setPriority(priority: MediaPriority): void {
    this.priority = priority;
    this.post({ t: 'priority', id: 0, priority });
  }

  /** The thread's id (as it was at its start: a Worker's own reads -1 once it exited). */
  get threadId(): number {
    return this.id;
  }

  /** The thread, for tests that kill it (a death the engine did not ask for). */
  get thread(): Worker {
    return this.worker;
  }

  post(command: Command, transfer?: TransferListItem[]): void {
    this.worker.postMessage(command, transfer ?? []);
  }

  forget(id: LegId): void {
    this.legs.delete(id);
  }

  /** Binds the pair in the worker and starts the leg's RtpSession there. */
  open(id: LegId, address: string, port: number, o: OpenLegOptions, release: () => void): Promise<RemoteRtpSession> {
    const stats = statsBuffer();
    const leg = new RemoteRtpSession(
      this,
      id,
      address,
      port,
      { codec: o.codec, payloadType: STATIC_PAYLOAD_TYPES[o.codec], telephoneEventPt: null, remote: null, direction: o.direction },
      stats,
      o.log,
      release,
    );
    this.legs.set(id, leg);
    return new Promise<RemoteRtpSession>((resolve, reject) => {
      this.opening.set(id, {
        resolve: () => resolve(leg),
        reject: (err) => {
          this.legs.delete(id);
          reject(err);
        },
      });
      this.post({ t: 'open', id, address, port, codec: o.codec, direction: o.direction, inbandDtmf: o.inbandDtmf, stats });
    });
  }

  /** The engine no longer needs it: ends the thread (its legs, if any were left, fail quietly). */
  stop(): Promise<number> {
    this.stopping = true;
    return this.worker.terminate();
  }

  private start(): Worker {
    const worker = new Worker(this.script, {
      // Without execArgv a worker inherits the process's Node options.
      ...(this.execArgv.length ? { execArgv: [...this.execArgv] } : {}),
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      workerData: { priority: this.priority },
    });
    this.id = worker.threadId;
    // A worker must not keep Node-RED or a test run alive by itself: the lines' sockets do that.
    worker.unref();
    worker.on('message', (batch: Batch) => this.onBatch(batch));
    worker.on('error', (err) => (this.lastError = err));
    worker.on('exit', (code) => this.onExit(worker, code));
    return worker;
  }

  private onBatch(batch: Batch): void {
    for (const ev of batch.events) {
      if (ev.e === 'priority') {
        this.onPriority(this.id, ev.priority, ev.refused);
        continue;
      }
      if (ev.e === 'opened' || ev.e === 'open-failed') {
        const waiting = this.opening.get(ev.id);
        this.opening.delete(ev.id);
        if (ev.e === 'opened') waiting?.resolve();
        else waiting?.reject(fromWireError(ev.error));
        continue;
      }
      this.legs.get(ev.id)?.onEvent(ev, batch.pcm);
    }
  }

  /** The thread ended: asked for (stop), or it died: its legs fail, and a new thread takes its place. */
  private onExit(worker: Worker, code: number): void {
    if (worker !== this.worker) return;
    const why = this.lastError ? `it threw ${this.lastError.name}: ${this.lastError.message}` : `it exited with code ${code}`;
    const err = new Error(`the media worker (thread ${this.id}) died: ${why}`);
    this.lastError = null;
    for (const w of this.opening.values()) w.reject(err);
    this.opening.clear();
    for (const leg of [...this.legs.values()]) leg.fail(err);
    this.legs.clear();
    if (this.stopping) return;
    this.restarts++;
    this.worker = this.start();
  }
}

/**
 * The process's media workers (docs/media-engine.md): a pool of `worker_threads` that run the calls'
 * RTP sessions, shared by every line that asks for workers. Its size is the largest number a line
 * asks for; threads start at the first call placed on them and end when no line uses the pool.
 * A call leg goes to the worker with the fewest legs.
 */
export class MediaEngine {
  private readonly slots: WorkerSlot[] = [];
  private readonly leases = new Map<object, { workers: number; priority: MediaPriority; log?: Logger }>();
  private nextId = 1;
  /**
   * Node options of the threads started from now on (bench/sip-load.ts `--worker-prof` sets
   * `--cpu-prof`: each thread writes its profile when it ends).
   */
  execArgv: string[] = [];

  constructor(
    private readonly script = path.join(__dirname, 'media-worker.js'),
    /** The machine's cores (tests give another number): at `realtime` the pool leaves one to the flows. */
    private readonly cores = os.availableParallelism(),
  ) {}

  /**
   * A line uses the pool with up to `workers` threads until it calls the returned release() (a line
   * does from its first call). The first lease starts one thread at once; the others start with the
   * calls that need them. The last release ends every thread.
   */
  acquire(workers: number, options: { priority?: MediaPriority; log?: Logger } = {}): { release(): Promise<void> } {
    const lease = {};
    const before = this.priority;
    this.leases.set(lease, { workers, priority: options.priority ?? 'normal', log: options.log });
    // Only the threads the pool uses now are raised: at realtime, a thread beyond the limit keeps its
    // priority and its calls, and gets no new ones.
    if (this.priority !== before) for (const s of this.slots.slice(0, this.size)) s.setPriority(this.priority);
    if (this.priority === 'realtime' && workers > this.size) {
      options.log?.info(
        `media: ${workers} media worker threads asked for, ${this.size} run: at realtime priority one of the ${this.cores} cores is left to the flows and SIP (real-time threads on every core starve them)`,
      );
    }
    if (this.slots.length === 0 && workers > 0) this.slots.push(this.newSlot());
    return {
      release: async () => {
        if (!this.leases.delete(lease) || this.leases.size > 0) return;
        await Promise.all(this.slots.splice(0).map((s) => s.stop()));
      },
    };
  }

  /**
   * The pool's size now: the largest number a line asks for; at `realtime`, at most
   * {@link realtimeThreadLimit} (all cores but one).
   */
  get size(): number {
    const asked = Math.max(0, ...[...this.leases.values()].map((l) => l.workers));
    return this.priority === 'realtime' ? Math.min(asked, realtimeThreadLimit(this.cores)) : asked;
  }

  /**
   * The threads' scheduling priority (the line setting `mediaPriority`): the highest a line using
   * the pool asks for. A thread keeps a priority it was given until it ends (a lower one is not
   * asked for when the line that wanted it closes: the pool's threads end with its last line).
   */
  get priority(): MediaPriority {
    let p: MediaPriority = 'normal';
    for (const l of this.leases.values()) if (priorityRank(l.priority) > priorityRank(p)) p = l.priority;
    return p;
  }

  private newSlot(): WorkerSlot {
    return new WorkerSlot(this.script, this.execArgv, this.priority, (threadId, priority, refused) => {
      // Said in the log of each line that asked for it: a warning when refused (the calls go on at normal priority).
      for (const l of this.leases.values()) {
        if (l.priority !== priority || !l.log) continue;
        if (refused) l.log.warn(`media: the media worker (thread ${threadId}) runs at normal priority, not ${priority}: ${refused}`);
        else l.log.debug(`media: the media worker (thread ${threadId}) runs at ${priority} priority`);
      }
    });
  }

  /** The threads started, and their legs (for tests and the docs' placement rule). */
  get workers(): ReadonlyArray<{ threadId: number; legs: number; restarts: number; thread: Worker }> {
    return this.slots.map((s) => ({ threadId: s.threadId, legs: s.legs.size, restarts: s.restarts, thread: s.thread }));
  }

  /**
   * A call leg's media on the worker with the fewest legs: ports chosen by the line's allocator and
   * bound in that worker (a pair in use by another program is skipped, as in the main thread).
   */
  open(options: OpenLegOptions): Promise<RemoteRtpSession> {
    const slot = this.pick();
    return options.allocator.allocateWith((address, port, release) => slot.open(this.nextId++, address, port, options, release));
  }

  private pick(): WorkerSlot {
    const size = this.size;
    if (size === 0) throw new Error('the media engine has no workers: acquire() it first');
    // Threads beyond the size (started before a line asked for realtime) keep their calls, get no new ones.
    const usable = this.slots.slice(0, size);
    const best = usable.reduce<WorkerSlot | undefined>((b, s) => (!b || s.legs.size < b.legs.size ? s : b), undefined);
    if (best && (best.legs.size === 0 || usable.length >= size)) return best;
    // Every thread has calls and the pool may grow: a new thread has the fewest.
    const fresh = this.newSlot();
    this.slots.push(fresh);
    return fresh;
  }
}

/** The pool all lines of the process share. */
export const mediaEngine = new MediaEngine();
