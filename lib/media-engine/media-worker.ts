/**
 * A media worker thread (docs/media-engine.md): the RtpSessions of the calls placed on it, with its
 * own media clock, sockets, jitter buffers, DTMF detection and playback queues. Started by
 * lib/media-engine/media-engine.ts as `new Worker('media-worker.js')`; everything it hears is a
 * {@link Command}, everything it says is a {@link Batch}: one per media tick, plus one right after a
 * command whose answer main waits for.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Logger } from '../backend';
import { loadNativeRtpIo } from './native-rtp-io';
import { MediaClock } from '../media/media-clock';
import type { RecorderHandle } from '../media/call-recorder';
import type { AnalysisHandle } from '../analysis/analysis-host';
import type { PcmSource } from '../media/pcm-source';
import { bindPortPair } from '../sip/rtp-port-allocator';
import { MediaTickSource, QueuedAudio, RtpAudioInfo, RtpDtmfEvent, RtpSession } from '../sip/rtp-session';
import type { RtpEndpoint } from '../sip/media-params';
import { isMixCommand, WorkerMixing } from '../conference/worker-mixing';
import { Batch, Command, LegId, MediaEvent, OpenCommand, toWireError } from './protocol';
import { STATS_EVERY_TICKS } from './protocol';
import { applyThreadPriority, MediaPriority } from './thread-priority';

/** A playback asks for more once it holds less than this ahead of what was sent (1 s)... */
export const PLAY_LOW_WATER = 8000;

/**
 * Samples of a main-thread source, as fed so far: a {@link PcmSource} whose reader is "behind" while
 * main has not sent the next samples yet (RtpSession pads that tick with silence, as for a slow file).
 */
class FedSource implements PcmSource {
  private readonly chunks: Int16Array[] = [];
  private head = 0;
  private taken = 0;
  fed = 0;
  /** The position the last `want` was sent at: asked once per feed. */
  asked = -1;
  error = null;

  constructor(public length: number) {}

  get position(): number {
    return this.taken;
  }

  feed(samples: Int16Array, length: number): void {
    this.length = Math.min(this.length, length);
    if (samples.length > 0) this.chunks.push(samples);
    this.fed += samples.length;
    this.asked = -1;
  }

  take(max: number): Int16Array {
    const want = Math.min(max, this.length - this.taken);
    if (want <= 0 || this.chunks.length === 0) return new Int16Array(0);
    const first = this.chunks[0];
    const n = Math.min(want, first.length - this.head);
    const out = first.subarray(this.head, this.head + n);
    this.head += n;
    this.taken += n;
    if (this.head === first.length) {
      this.chunks.shift();
      this.head = 0;
    }
    return out;
  }

  close(): void {
    this.chunks.length = 0;
  }
}

interface Leg {
  id: LegId;
  session: RtpSession;
  stats: Float64Array;
  plays: Map<number, { source: FedSource; queued: QueuedAudio }>;
  listening: { audio: boolean; tx: boolean };
  /** Recordings running on the leg (until their end is reported). */
  recs: Map<number, RecorderHandle>;
  /** Call analyses running on the leg (the VAD's WebAssembly is compiled once per worker: lib/analysis/vad.ts). */
  analyses: Map<number, AnalysisHandle>;
}

const port = parentPort;
if (!port) throw new Error('lib/media-engine/media-worker.js runs as a worker thread (new Worker), not on its own');

/** Raises this thread's priority (the line setting `mediaPriority`) and says how it went in the next batch. */
function prioritise(priority: MediaPriority): void {
  events.push({ e: 'priority', id: 0, priority, refused: applyThreadPriority(priority) });
  scheduleFlush();
}

// Woken to the microsecond: this thread has nothing else to do just before its tick (lib/media/media-clock.ts, preciseWake).
const clock = new MediaClock({ preciseWake: true });
/** The clock's figures (its lateness percentiles: the send jitter), computed once per tick for every session's stats, not once per session. */
let clockStats = clock.stats();
const tickSource: MediaTickSource = {
  subscribe: (fn) => clock.subscribe(fn),
  stats: () => clockStats,
  afterTick: (fn) => clock.afterTick(fn),
};
const legs = new Map<LegId, Leg>();
let events: MediaEvent[] = [];
let pcm: Int16Array[] = [];
let pcmLength = 0;
let flushScheduled = false;
/** Batches flushed so far: each leg's counters are written on its turn (STATS_EVERY_TICKS). */
let flushes = 0;

/** Sends what happened since the last batch (once per tick, after every session ticked). */
function flush(): void {
  flushScheduled = false;
  const turn = ++flushes % STATS_EVERY_TICKS;
  if (turn === 0) clockStats = clock.stats();
  for (const leg of legs.values()) {
    if (leg.id % STATS_EVERY_TICKS === turn) leg.session.writeStats(leg.stats);
    // (Most legs play nothing: no iterator made for them, 500 legs 50 times a second.)
    if (leg.plays.size === 0) continue;
    for (const [play, { source }] of leg.plays) {
      if (source.fed < source.length && source.fed - source.position < PLAY_LOW_WATER && source.asked !== source.fed) {
        source.asked = source.fed;
        events.push({ e: 'want', id: leg.id, play, position: source.position });
      }
    }
  }
  if (events.length === 0) return;
  let all: Int16Array | null = null;
  if (pcmLength > 0) {
    all = new Int16Array(pcmLength);
    let at = 0;
    for (const part of pcm) {
      all.set(part, at);
      at += part.length;
    }
  }
  const batch: Batch = { events, pcm: all };
  events = [];
  pcm = [];
  pcmLength = 0;
  port!.postMessage(batch, all ? [all.buffer as ArrayBuffer] : []);
}

function scheduleFlush(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flush);
}

/** The samples go into this batch's audio; the event points at them. */
function addPcm(samples: Int16Array): number {
  const off = pcmLength;
  pcm.push(samples.slice()); // the session's arrays come from a pool (lib/media/int16-pool.ts): copied now
  pcmLength += samples.length;
  return off;
}

/**
 * The RTP sockets' batched I/O (lib/media-engine/native-rtp-io.ts), or why `dgram` it is. Drained once
 * every session of the tick has sent: the clock's first subscriber asks for it first of the tick's afterTick work.
 */
const rtpIo = loadNativeRtpIo();
/** The line's log hears once, with its first call, how this thread's RTP is read. */
let rtpIoTold = false;

// Every tick: first each session's packet is sent (their subscriptions), then the sockets are drained
// (what arrived goes to the sessions: received audio to their recordings), then what was sent goes to
// the recordings (their afterTick); one flush after all of it (setImmediate runs after this timer phase).
const drainRtp = (): void => rtpIo.io?.drain();
clock.subscribe(() => {
  clock.afterTick(drainRtp);
  scheduleFlush();
});

function logFor(id: LegId): Logger {
  const line = (level: 'debug' | 'info' | 'warn' | 'error') => (text: string) => events.push({ e: 'log', id, level, line: text });
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

async function open(c: OpenCommand): Promise<void> {
  let pair;
  try {
    pair = await bindPortPair(c.address, c.port, () => undefined);
  } catch (err) {
    events.push({ e: 'open-failed', id: c.id, error: toWireError(err) });
    return;
  }
  let session: RtpSession;
  try {
    session = new RtpSession({ ports: pair, codec: c.codec, direction: c.direction, inbandDtmf: c.inbandDtmf, clock: tickSource, log: logFor(c.id), io: rtpIo.io ?? undefined });
  } catch (err) {
    await pair.close();
    events.push({ e: 'open-failed', id: c.id, error: toWireError(err) });
    return;
  }
  const leg: Leg = { id: c.id, session, stats: new Float64Array(c.stats), plays: new Map(), listening: { audio: false, tx: false }, recs: new Map(), analyses: new Map() };
  legs.set(c.id, leg);
  if (!rtpIoTold) {
    rtpIoTold = true;
    const line = rtpIo.io ? `media worker: RTP sockets read and written in batches (native/rtp-io, ${rtpIo.io.mode}${rtpIo.io.whyNotUring ? `; ${rtpIo.io.whyNotUring}` : ''})` : `media worker: RTP sockets through dgram: ${rtpIo.reason}`;
    events.push({ e: 'log', id: c.id, level: 'debug', line });
  }
  session.on('dtmf', (d: RtpDtmfEvent) => events.push({ e: 'dtmf', id: c.id, ...d }));
  session.on('latched', (to: RtpEndpoint) => events.push({ e: 'latched', id: c.id, address: to.address, port: to.port }));
  session.writeStats(leg.stats);
  events.push({ e: 'opened', id: c.id, ssrc: session.ssrc });
}

const onAudio = (leg: Leg) => (samples: Int16Array, info: RtpAudioInfo): void => {
  events.push({ e: 'audio', id: leg.id, off: addPcm(samples), len: samples.length, timestamp: info.timestamp, sequenceNumber: info.sequenceNumber });
};
const onTx = (leg: Leg) => (samples: Int16Array): void => {
  events.push({ e: 'tx', id: leg.id, off: addPcm(samples), len: samples.length });
};
const audioListeners = new WeakMap<Leg, { audio: (s: Int16Array, i: RtpAudioInfo) => void; tx: (s: Int16Array) => void }>();

function listen(leg: Leg, audio: boolean, tx: boolean): void {
  let l = audioListeners.get(leg);
  if (!l) audioListeners.set(leg, (l = { audio: onAudio(leg), tx: onTx(leg) }));
  if (audio !== leg.listening.audio) leg.session[audio ? 'on' : 'off']('audio', l.audio);
  if (tx !== leg.listening.tx) leg.session[tx ? 'on' : 'off']('tx', l.tx);
  leg.listening = { audio, tx };
}

function play(leg: Leg, id: number, length: number, samples: Int16Array): void {
  const source = new FedSource(length);
  source.feed(samples, length);
  const queued = leg.session.play(source);
  leg.plays.set(id, { source, queued });
  void queued.done.then((r) => {
    leg.plays.delete(id);
    events.push({ e: 'played', id: leg.id, play: id, playedMs: r.playedMs, stopped: r.stopped });
    scheduleFlush();
  });
}

function record(leg: Leg, rec: number, spec: Parameters<RtpSession['record']>[0]): void {
  const handle = leg.session.record(spec, {
    // A copy of exactly the chunk's bytes (a small Buffer may share a larger pool slab).
    chunk: (c) => events.push({ e: 'rec-chunk', id: leg.id, rec, payload: new Uint8Array(c.payload), audio: c.audio }),
    end: (result) => {
      leg.recs.delete(rec);
      events.push({ e: 'rec-end', id: leg.id, rec, result });
      scheduleFlush();
    },
  });
  leg.recs.set(rec, handle);
  void handle.started.then((early) => {
    events.push({ e: 'rec-started', id: leg.id, rec, early });
    scheduleFlush();
  });
}

async function close(leg: Leg): Promise<void> {
  legs.delete(leg.id);
  await leg.session.close();
  // The recordings end with the media (their files closed): their ends go before 'closed'.
  await Promise.all([...leg.recs.values()].map((h) => h.stop()));
  leg.session.writeStats(leg.stats);
  events.push({ e: 'closed', id: leg.id });
  scheduleFlush();
}

/** The conference rooms this worker hosts, and the relays of its legs in rooms hosted elsewhere. */
const mixing = new WorkerMixing(tickSource, (id) => legs.get(id)?.session, (ev) => events.push(ev));

function handle(c: Command): void {
  if (isMixCommand(c)) {
    mixing.handle(c);
    return;
  }
  if (c.t === 'open') {
    void open(c).then(scheduleFlush);
    return;
  }
  const leg = legs.get(c.id);
  if (!leg) return; // closed meanwhile: main knows
  const s = leg.session;
  switch (c.t) {
    case 'configure':
      s.configure(c.update);
      break;
    case 'srtp':
      s.setSrtp(c.keys && { suite: c.keys.suite, tag: c.keys.tag, local: Buffer.from(c.keys.local), remote: Buffer.from(c.keys.remote) });
      break;
    case 'mute':
      if (c.on) s.mute();
      else s.unmute();
      break;
    case 'inband':
      s.setInbandDtmf(c.on);
      break;
    case 'listen':
      listen(leg, c.audio, c.tx);
      break;
    case 'play':
      play(leg, c.play, c.length, c.samples);
      break;
    case 'feed':
      leg.plays.get(c.play)?.source.feed(c.samples, c.length);
      break;
    case 'stop-play':
      leg.plays.get(c.play)?.queued.stop();
      break;
    case 'clear':
      s.clearQueue();
      break;
    case 'record':
      record(leg, c.rec, c.spec);
      break;
    case 'stop-record':
      void leg.recs.get(c.rec)?.stop();
      break;
    case 'dtmf':
      s.sendDtmf(c.digits, c.durationMs, c.mode).then(
        () => events.push({ e: 'dtmf-done', id: c.id, req: c.req }),
        (err: unknown) => events.push({ e: 'dtmf-done', id: c.id, req: c.req, error: toWireError(err) }),
      );
      break;
    case 'analyse':
      leg.analyses.set(c.an, s.analyse(c.options, { event: (event) => events.push({ e: 'analysis', id: leg.id, an: c.an, event }) }));
      break;
    case 'analysis-answered':
      leg.analyses.get(c.an)?.answered();
      break;
    case 'stop-analysis':
      leg.analyses.get(c.an)?.stop();
      leg.analyses.delete(c.an);
      break;
    case 'close':
      void close(leg);
      break;
  }
}

// Before the first tick: the priority the pool had when it started this thread (nothing to say for normal).
const startPriority = (workerData as { priority?: MediaPriority } | undefined)?.priority ?? 'normal';
if (startPriority !== 'normal') prioritise(startPriority);

port.on('message', (c: Command) => {
  if (c.t === 'priority') {
    prioritise(c.priority);
    return;
  }
  try {
    handle(c);
  } catch (err) {
    // main checks what it sends: this is a bug, said in the log of the leg's line, the worker goes on
    events.push({ e: 'log', id: c.id, level: 'error', line: `media worker: ${c.t} failed: ${(err as Error).message}` });
    scheduleFlush();
  }
});
