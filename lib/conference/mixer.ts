/**
 * The N−1 mixer of one conference room (docs/conference.md): no threads, no sockets, no clock of its
 * own. Whoever hosts the room (the main thread, or one media worker) pushes each party's received
 * audio as it arrives and calls {@link Mixer.tick} once per media clock tick (20 ms); each party
 * then takes the frame it sends this tick with {@link Mixer.output}.
 *
 * - Each party hears the sum of the others: the sum of every contribution is accumulated once in an
 *   Int32Array, and each party's own contribution is subtracted from it (N + N additions per sample,
 *   not N²).
 * - Clipping: the 32-bit sum is saturated to the int16 range (hard clip). Two talkers at −10 dBFS
 *   never clip; it takes several loud talkers at once (rare in a conversation) to reach full scale,
 *   and then the peaks are cut, the audio is not wrapped around. No gain is applied (no AGC): a
 *   room sounds as loud as its loudest talker.
 * - A muted party contributes nothing; a deaf party is sent nothing ({@link Mixer.output} is `null`:
 *   its media sends silence).
 * - A party whose frame has not arrived by the tick (a late or lost packet) contributes silence this
 *   tick: the others are never held back. Each party keeps at most {@link MAX_BACKLOG} samples
 *   waiting (60 ms); older samples are dropped, so a burst after a stall does not add latency for good.
 * - Whisper: a party with `whisperTo` (a tag) is heard only by the parties whose `tags` hold that
 *   tag (a coach heard by the agent, not by the customer); it hears the room as any party. Each
 *   tag whispered to has its own sum, added to what the tagged parties hear.
 * - While the room has not started (lifetime, lib/conference/room.ts), every party hears the
 *   waiting audio (ring-back by default) instead of the others.
 */

/** One frame: 20 ms at 8 kHz, one media clock tick. */
export const FRAME = 160;
/** The most samples of one party kept waiting for the next ticks (3 frames: 60 ms). */
export const MAX_BACKLOG = 3 * FRAME;

export interface MixPartyOptions {
  /** Contributes nothing. */
  muted: boolean;
  /** Hears nothing. */
  deaf: boolean;
  /** The party's tags: it hears whoever whispers to one of them. */
  tags?: readonly string[];
  /** A tag: this party is heard only by the parties carrying it (whisper); unset: by everyone. */
  whisperTo?: string | null;
}

/** The samples waiting of one party: a ring of {@link MAX_BACKLOG} samples, the oldest dropped when full. */
class Backlog {
  private readonly ring = new Int16Array(MAX_BACKLOG);
  private head = 0;
  private size = 0;
  /** Samples dropped because the backlog was full. */
  dropped = 0;

  push(samples: Int16Array): void {
    let from = 0;
    if (samples.length > MAX_BACKLOG) {
      this.dropped += samples.length - MAX_BACKLOG;
      from = samples.length - MAX_BACKLOG;
    }
    for (let i = from; i < samples.length; i++) {
      if (this.size === MAX_BACKLOG) {
        this.head = (this.head + 1) % MAX_BACKLOG;
        this.size--;
        this.dropped++;
      }
      this.ring[(this.head + this.size) % MAX_BACKLOG] = samples[i];
      this.size++;
    }
  }

  /** One frame into `into`, or false (fewer than a frame waiting: nothing is taken). */
  take(into: Int16Array): boolean {
    if (this.size < FRAME) return false;
    for (let i = 0; i < FRAME; i++) into[i] = this.ring[(this.head + i) % MAX_BACKLOG];
    this.head = (this.head + FRAME) % MAX_BACKLOG;
    this.size -= FRAME;
    return true;
  }
}

interface Party {
  options: MixPartyOptions;
  backlog: Backlog;
  /** This tick's contribution (valid when `has`). */
  frame: Int16Array;
  has: boolean;
  /** What it sends this tick (`null`: nothing, when deaf); taken once. */
  out: Int16Array | null;
  /** Ticks where it had no frame (late or lost packets). */
  missed: number;
  /** What this party hears while the room waits (its waitMedia), looped; `null`: the room's (ring-back). */
  wait: Int16Array | null;
  waitAt: number;
}

export interface MixerStats {
  parties: number;
  ticks: number;
  /** Party-ticks with no frame from that party (it contributed silence). */
  missed: number;
  /** Samples dropped because a party's backlog was full. */
  dropped: number;
  /** Samples clipped to the int16 range. */
  clipped: number;
}

export class Mixer<K = unknown> {
  private readonly parties = new Map<K, Party>();
  private readonly sum = new Int32Array(FRAME);
  /** Per tag whispered to this tick, the sum of its whisperers (arrays kept between ticks). */
  private readonly whispers = new Map<string, { sum: Int32Array; used: boolean }>();
  /** Public sum plus a party's whispers, when it hears any. */
  private readonly scratch = new Int32Array(FRAME);
  private waiting: Int16Array | null = null;
  /** Audio every party hears, played once (an entry beep), in order; `owner` does not hear it. */
  private readonly announcements: Array<{ audio: Int16Array; owner?: K }> = [];
  /** This tick's room-wide audio owned by a party (its entry media): subtracted from what that party hears. */
  private readonly owned = new Map<Party, Int32Array>();
  private announcementAt = 0;
  private waitingAt = 0;
  private ticks = 0;
  private clipped = 0;

  /** Adds a party (again: its options change). */
  add(key: K, options: MixPartyOptions): void {
    const existing = this.parties.get(key);
    if (existing) {
      existing.options = { ...options };
      return;
    }
    this.parties.set(key, { options: { ...options }, backlog: new Backlog(), frame: new Int16Array(FRAME), has: false, out: null, missed: 0, wait: null, waitAt: 0 });
  }

  set(key: K, options: Partial<MixPartyOptions>): void {
    const p = this.parties.get(key);
    if (p) p.options = { ...p.options, ...options };
  }

  remove(key: K): void {
    this.parties.delete(key);
  }

  has(key: K): boolean {
    return this.parties.has(key);
  }

  get size(): number {
    return this.parties.size;
  }

  /**
   * What every party hears instead of the others while the room waits to start, looped (ring-back,
   * a file's samples), or `null`: the room is mixing.
   */
  setWaiting(audio: Int16Array | null): void {
    this.waiting = audio && audio.length > 0 ? audio : null;
    this.waitingAt = 0;
  }

  /** What one party hears while the room waits, looped (its waitMedia); `null`: the room's waiting audio. */
  setPartyWaiting(key: K, audio: Int16Array | null): void {
    const p = this.parties.get(key);
    if (!p) return;
    p.wait = audio && audio.length > 0 ? audio : null;
    p.waitAt = 0;
  }

  /**
   * Plays `audio` to the whole room once (an entry beep): every party that is not deaf hears it on
   * top of the others, after what was queued before; `owner` (the party it announces) does not.
   * Not while the room waits (it is dropped then).
   */
  play(audio: Int16Array, owner?: K): void {
    if (audio.length > 0) this.announcements.push(owner === undefined ? { audio } : { audio, owner });
  }

  /**
   * The whole room's audio of the last tick (every party's contribution and the room-wide audio,
   * summed and clipped), into `into` (FRAME samples): what a room recording holds. Silence while
   * the room waits.
   */
  roomMix(into: Int16Array): Int16Array {
    const sum = this.sum;
    for (let i = 0; i < FRAME; i++) into[i] = sum[i] > 32767 ? 32767 : sum[i] < -32768 ? -32768 : sum[i];
    return into;
  }

  /** A party's received audio (any length; copied). Ignored for a key not in the room. */
  push(key: K, samples: Int16Array): void {
    this.parties.get(key)?.backlog.push(samples);
  }

  /** The frame a party sends this tick (its own array, valid until the next tick), or `null`: silence. */
  output(key: K): Int16Array | null {
    const p = this.parties.get(key);
    if (!p) return null;
    const out = p.out;
    p.out = null;
    return out;
  }

  /** One media tick: takes one frame of each party, computes what each hears. */
  tick(): void {
    this.ticks++;
    if (this.waiting) {
      this.announcements.length = 0;
      this.announcementAt = 0;
      this.sum.fill(0);
      const frame = new Int16Array(FRAME);
      for (let i = 0; i < FRAME; i++) {
        frame[i] = this.waiting[this.waitingAt];
        this.waitingAt = (this.waitingAt + 1) % this.waiting.length;
      }
      for (const p of this.parties.values()) {
        // Received audio is not kept while waiting (it would be heard late once the room starts).
        while (p.backlog.take(p.frame));
        p.out = p.options.deaf ? null : p.wait ? waitFrame(p) : frame.slice(); // each its own: a relay transfers its frame to another thread
      }
      return;
    }
    const sum = this.sum;
    sum.fill(0);
    this.addAnnouncement(sum);
    for (const w of this.whispers.values()) w.used = false;
    let whispering = false;
    for (const p of this.parties.values()) {
      p.has = p.backlog.take(p.frame);
      if (!p.has) p.missed++;
      if (!p.has || p.options.muted) continue;
      const into = p.options.whisperTo ? this.whisperSum(p.options.whisperTo) : sum;
      whispering ||= into !== sum;
      const f = p.frame;
      for (let i = 0; i < FRAME; i++) into[i] += f[i];
    }
    for (const p of this.parties.values()) {
      if (p.options.deaf) {
        p.out = null;
        continue;
      }
      const out = new Int16Array(FRAME);
      const hears = whispering ? this.withWhispers(p) : sum;
      // Its own contribution is in what it hears when it is public, or whispers to a tag it carries.
      const ownIn = p.options.whisperTo ? hears !== sum && (p.options.tags ?? []).includes(p.options.whisperTo) : true;
      const own = p.has && !p.options.muted && ownIn ? p.frame : null;
      const mine = this.owned.get(p);
      for (let i = 0; i < FRAME; i++) {
        const v = (own ? hears[i] - own[i] : hears[i]) - (mine ? mine[i] : 0);
        if (v > 32767) {
          out[i] = 32767;
          this.clipped++;
        } else if (v < -32768) {
          out[i] = -32768;
          this.clipped++;
        } else {
          out[i] = v;
        }
      }
      p.out = out;
    }
  }

  /** The sum of this tick's whisperers to `tag`, zeroed on its first use in the tick. */
  private whisperSum(tag: string): Int32Array {
    let w = this.whispers.get(tag);
    if (!w) {
      w = { sum: new Int32Array(FRAME), used: false };
      this.whispers.set(tag, w);
    }
    if (!w.used) {
      w.sum.fill(0);
      w.used = true;
    }
    return w.sum;
  }

  /** What `p` hears: the public sum, plus the whispers to its tags this tick (the public sum itself when none). */
  private withWhispers(p: Party): Int32Array {
    let hears = this.sum;
    for (const tag of p.options.tags ?? []) {
      const w = this.whispers.get(tag);
      if (!w?.used) continue;
      if (hears === this.sum) {
        hears = this.scratch;
        hears.set(this.sum);
      }
      const s = w.sum;
      for (let i = 0; i < FRAME; i++) hears[i] += s[i];
    }
    return hears;
  }

  /** The next 160 samples of the room-wide audio into `sum`, if any is queued. */
  private addAnnouncement(sum: Int32Array): void {
    this.owned.clear();
    let at = 0;
    while (at < FRAME && this.announcements.length > 0) {
      const { audio: a, owner } = this.announcements[0];
      const n = Math.min(FRAME - at, a.length - this.announcementAt);
      for (let i = 0; i < n; i++) sum[at + i] += a[this.announcementAt + i];
      const party = owner === undefined ? undefined : this.parties.get(owner);
      if (party) {
        const mine = this.owned.get(party) ?? new Int32Array(FRAME);
        for (let i = 0; i < n; i++) mine[at + i] += a[this.announcementAt + i];
        this.owned.set(party, mine);
      }
      at += n;
      this.announcementAt += n;
      if (this.announcementAt === a.length) {
        this.announcements.shift();
        this.announcementAt = 0;
      }
    }
  }

  stats(): MixerStats {
    let missed = 0;
    let dropped = 0;
    for (const p of this.parties.values()) {
      missed += p.missed;
      dropped += p.backlog.dropped;
    }
    return { parties: this.parties.size, ticks: this.ticks, missed, dropped, clipped: this.clipped };
  }
}

/** The next frame of a party's own waiting audio (looped). */
function waitFrame(p: Party): Int16Array {
  const w = p.wait as Int16Array;
  const out = new Int16Array(FRAME);
  for (let i = 0; i < FRAME; i++) {
    out[i] = w[p.waitAt];
    p.waitAt = (p.waitAt + 1) % w.length;
  }
  return out;
}

/** The level of a frame, dBFS (RMS; −120 for digital silence). */
export function frameDbfs(samples: Int16Array): number {
  if (samples.length === 0) return -120;
  let sq = 0;
  for (let i = 0; i < samples.length; i++) sq += samples[i] * samples[i];
  const rms = Math.sqrt(sq / samples.length);
  return rms <= 0 ? -120 : Math.max(-120, 20 * Math.log10(rms / 32768));
}

export interface TalkDetectorOptions {
  /** A frame at or above this level (dBFS) is speech (default −40). */
  thresholdDbfs?: number;
  /** Speech this long (ms) makes the party `talking` (default 60: three frames). */
  onMs?: number;
  /** Quiet this long (ms) makes it `silent` again (default 600: the pauses between words stay `talking`). */
  offMs?: number;
}

/**
 * Whether a party talks, from the level of its received audio (ConfBridge's talk detection, by
 * level only: no VAD). Runs where the party's audio is (the thread of its call leg). `onChange` is
 * called on each change with the level of the frame that decided it.
 */
export class TalkDetector {
  readonly thresholdDbfs: number;
  private readonly onSamples: number;
  private readonly offSamples: number;
  private talking = false;
  private run = 0;

  constructor(options: TalkDetectorOptions, private readonly onChange: (talking: boolean, levelDbfs: number) => void) {
    this.thresholdDbfs = options.thresholdDbfs ?? -40;
    this.onSamples = ((options.onMs ?? 60) * 8) | 0;
    this.offSamples = ((options.offMs ?? 600) * 8) | 0;
  }

  get isTalking(): boolean {
    return this.talking;
  }

  push(samples: Int16Array): void {
    const level = frameDbfs(samples);
    const loud = level >= this.thresholdDbfs;
    if (loud === this.talking) {
      this.run = 0;
      return;
    }
    this.run += samples.length;
    if (this.run >= (loud ? this.onSamples : this.offSamples)) {
      this.talking = loud;
      this.run = 0;
      this.onChange(loud, Math.round(level * 10) / 10);
    }
  }
}
