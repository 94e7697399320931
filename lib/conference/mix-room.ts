/**
 * Hosting a room's {@link Mixer} in one thread (docs/conference.md, "Where a room is mixed"): the
 * main thread (`mediaWorkers: 0`) or one media worker. The same class in both.
 *
 * - A local party is a call leg whose media runs in this thread: its received audio (`audio`
 *   events) goes into the mixer as it arrives, and its media sends the mixer's output for it on the
 *   ticks where nothing else is queued (`setFill`).
 * - A remote party (media workers: a leg on another worker) reaches the room through a
 *   {@link MixRelay} there: its audio arrives in messages, and its mix frames leave in one.
 *
 * The room ticks on the clock its legs send on (subscribed after them: each tick the legs send the
 * previous tick's mix, at most one tick, 20 ms, of added delay).
 */
import type { EventEmitter } from 'node:events';
import { ringback } from '../media/tone-generator';
import type { MediaTickSource } from '../sip/rtp-session';
import { FRAME, Mixer, MixPartyOptions, TalkDetector } from './mixer';
import type { RoomRecorder } from './room-recorder';

/** What a room needs of a call leg's media in its thread (RtpSession has it). */
export interface MixableMedia extends Pick<EventEmitter, 'on' | 'off'> {
  setFill(fill: (() => Int16Array | null) | null): void;
}

/** The ring-back the parties of a room hear until it starts (one ETSI 5 s period, looped). */
let waitingAudio: Int16Array | null = null;
function ringbackLoop(): Int16Array {
  return (waitingAudio ??= ringback(5000));
}

type TalkListener<K> = (key: K, talking: boolean, levelDbfs: number) => void;

export class MixRoom<K> {
  readonly mixer = new Mixer<K>();
  private readonly locals = new Map<K, { media: MixableMedia; onAudio: (s: Int16Array) => void }>();
  private readonly remotes = new Map<K, (frame: Int16Array) => void>();
  private unsubscribe: (() => void) | null;
  /** The room's recording, written each tick (lib/conference/room-recorder.ts). */
  private recorder: RoomRecorder | null = null;
  private readonly recFrame = new Int16Array(FRAME);

  constructor(
    clock: Pick<MediaTickSource, 'subscribe'>,
    private readonly onTalk: TalkListener<K>,
  ) {
    this.unsubscribe = clock.subscribe(this.onTick);
  }

  get size(): number {
    return this.mixer.size;
  }

  /** A leg of this thread joins: its audio is mixed from now on, and it sends the room's mix. */
  addLocal(key: K, media: MixableMedia, options: MixPartyOptions, talkThresholdDbfs: number): void {
    this.remove(key);
    this.mixer.add(key, options);
    const talk = new TalkDetector({ thresholdDbfs: talkThresholdDbfs }, (talking, level) => this.onTalk(key, talking, level));
    const onAudio = (samples: Int16Array): void => {
      this.mixer.push(key, samples);
      talk.push(samples);
    };
    media.on('audio', onAudio);
    media.setFill(() => this.mixer.output(key));
    this.locals.set(key, { media, onAudio });
  }

  /** A leg of another thread joins through its relay: `send` gets its mix frame each tick (not while deaf). */
  addRemote(key: K, options: MixPartyOptions, send: (frame: Int16Array) => void): void {
    this.remove(key);
    this.mixer.add(key, options);
    this.remotes.set(key, send);
  }

  /** A remote party's received audio, as its relay sent it. */
  pushRemote(key: K, samples: Int16Array): void {
    if (this.remotes.has(key)) this.mixer.push(key, samples);
  }

  update(key: K, options: MixPartyOptions): void {
    this.mixer.set(key, options);
  }

  remove(key: K): void {
    const local = this.locals.get(key);
    if (local) {
      local.media.off('audio', local.onAudio);
      local.media.setFill(null);
      this.locals.delete(key);
    }
    this.remotes.delete(key);
    this.mixer.remove(key);
  }

  /** Plays audio to the whole room once, not to `owner` (lib/conference/mixer.ts `play`). */
  play(audio: Int16Array, owner?: K): void {
    this.mixer.play(audio, owner);
  }

  /** What a party hears while the room waits (its waitMedia, looped); `null`: ring-back. */
  setPartyWaiting(key: K, audio: Int16Array | null): void {
    this.mixer.setPartyWaiting(key, audio);
  }

  /** Records the room's mix from the next tick (`null`: stops); gives the recorder it replaces. */
  record(recorder: RoomRecorder | null): RoomRecorder | null {
    const before = this.recorder;
    this.recorder = recorder;
    return before;
  }

  setStarted(started: boolean): void {
    this.mixer.setWaiting(started ? null : ringbackLoop());
  }

  close(): void {
    for (const key of [...this.locals.keys(), ...this.remotes.keys()]) this.remove(key);
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private readonly onTick = (tick: number): void => {
    this.mixer.tick();
    this.recorder?.write(this.mixer.roomMix(this.recFrame), tick);
    for (const [key, send] of this.remotes) {
      const frame = this.mixer.output(key);
      if (frame) send(frame);
    }
  };
}

/**
 * The far side of a remote party: runs in the thread of the party's call leg (a media worker that
 * does not host the room). Each tick it sends what the leg received since the last (one message),
 * runs the party's talk detection, and makes the leg send the mix frames that come back (at most
 * three kept: a late frame is dropped rather than delaying the ones after it).
 */
export class MixRelay {
  private received: Int16Array[] = [];
  private readonly backlog: Int16Array[] = [];
  private readonly talk: TalkDetector;
  private unsubscribe: (() => void) | null;

  constructor(
    clock: Pick<MediaTickSource, 'subscribe'>,
    private readonly media: MixableMedia,
    private readonly send: (samples: Int16Array) => void,
    talkThresholdDbfs: number,
    onTalk: (talking: boolean, levelDbfs: number) => void,
  ) {
    this.talk = new TalkDetector({ thresholdDbfs: talkThresholdDbfs }, onTalk);
    media.on('audio', this.onAudio);
    media.setFill(() => this.backlog.shift() ?? null);
    this.unsubscribe = clock.subscribe(this.onTick);
  }

  /** A mix frame from the room. */
  frame(samples: Int16Array): void {
    this.backlog.push(samples);
    if (this.backlog.length > 3) this.backlog.shift();
  }

  close(): void {
    this.media.off('audio', this.onAudio);
    this.media.setFill(null);
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private readonly onAudio = (samples: Int16Array): void => {
    this.received.push(samples.slice()); // the session's arrays come from a pool: copied
    this.talk.push(samples);
  };

  private readonly onTick = (): void => {
    if (this.received.length === 0) return;
    const parts = this.received;
    this.received = [];
    const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    this.send(all);
  };
}

export { FRAME };
