/**
 * The conference rooms of one media worker (docs/conference.md): the rooms it hosts ({@link MixRoom})
 * and the relays of its legs that are parties of rooms hosted by another worker ({@link MixRelay}).
 * lib/media-engine/media-worker.ts hands it the {@link MixCommand}s; it reports talk changes as
 * {@link MixEvent}s in the worker's batch (under the party's leg, so they reach that leg's proxy).
 *
 * Relayed audio crosses between two workers over ONE MessagePort per worker pair (a {@link MixLink},
 * made by the main thread the first time the pair needs it, kept while both live): every frame
 * queued for the other worker during a tick (the relays' received audio, the hosted rooms' mix
 * frames for relayed parties, in either direction) leaves in one message after the tick.
 */
import type { MessagePort } from 'node:worker_threads';
import type { MediaTickSource } from '../sip/rtp-session';
import { MixableMedia, MixRelay, MixRoom } from './mix-room';
import { finishWorkerRecorder, RoomRecorder, workerRecorder } from './room-recorder';

type LegId = number;

export type MixCommand =
  /** Host: create the room (if new) and set whether it mixes or plays ring-back. */
  | { t: 'mix-room'; id: 0; room: number; started: boolean }
  | { t: 'mix-close'; id: 0; room: number }
  /** Host: audio the whole room hears once (an entry beep), except the party `owner` (its entry media). */
  | { t: 'mix-play'; id: 0; room: number; samples: Int16Array; owner?: LegId }
  /** Host: record the room's mix to `path` (`append`: after what it holds, once the main thread says go on `port`); the result goes back on `port` at mix-close. */
  | { t: 'mix-record'; id: 0; room: number; path: string; append: boolean; port: MessagePort }
  /** Both workers of a pair: the port to the other worker (thread `peer`) that relayed audio crosses. */
  | { t: 'mix-link'; id: 0; peer: number; port: MessagePort }
  /** Host: a party joins; its leg runs here, or on the worker `via` (a thread id, linked) whose relay sends its audio; `wait`: what it hears while the room waits. */
  | { t: 'mix-add'; id: LegId; room: number; muted: boolean; deaf: boolean; talkDbfs: number; tags?: readonly string[]; whisperTo?: string | null; via?: number; wait?: Int16Array }
  | { t: 'mix-set'; id: LegId; room: number; muted: boolean; deaf: boolean }
  | { t: 'mix-remove'; id: LegId; room: number }
  /** The leg's worker (not the host): relay the leg to the room hosted by the worker `via` (a thread id, linked). */
  | { t: 'relay'; id: LegId; via: number; talkDbfs: number }
  | { t: 'relay-stop'; id: LegId };

export type MixEvent = { e: 'talk'; id: LegId; talking: boolean; levelDbfs: number };

const MIX_COMMANDS = new Set(['mix-room', 'mix-close', 'mix-play', 'mix-record', 'mix-link', 'mix-add', 'mix-set', 'mix-remove', 'relay', 'relay-stop']);

/**
 * What crosses a worker pair's port in one message: `audio` the relays' received audio (to the
 * host), `mix` the host's mix frames (to the relays), each `[leg id, samples]`.
 */
export interface MixBatch {
  audio: Array<[LegId, Int16Array]>;
  mix: Array<[LegId, Int16Array]>;
}

/**
 * One worker pair's port, this worker's end: what is queued during a tick leaves in one message
 * (a microtask after the queueing: the clock calls every subscriber of a tick in one go, so the
 * message goes once they all ran), buffers transferred.
 */
export class MixLink {
  private batch: MixBatch = { audio: [], mix: [] };
  private transfer: ArrayBuffer[] = [];
  private scheduled = false;
  /** Messages sent (one per tick at most, whatever the number of parties). */
  sent = 0;

  constructor(
    private readonly port: Pick<MessagePort, 'postMessage'>,
  ) {}

  queue(kind: keyof MixBatch, id: LegId, samples: Int16Array): void {
    this.batch[kind].push([id, samples]);
    this.transfer.push(samples.buffer as ArrayBuffer);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(this.flush);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.batch;
    const transfer = this.transfer;
    this.batch = { audio: [], mix: [] };
    this.transfer = [];
    this.sent++;
    this.port.postMessage(batch, transfer);
  };
}

export function isMixCommand(c: { t: string }): c is MixCommand {
  return MIX_COMMANDS.has(c.t);
}

export class WorkerMixing {
  private readonly rooms = new Map<number, { room: MixRoom<LegId>; remotes: Set<LegId>; rec?: { recorder: RoomRecorder; port: MessagePort } }>();
  /** The room each relayed party hosted here is in (where its audio goes). */
  private readonly remoteRoom = new Map<LegId, MixRoom<LegId>>();
  private readonly relays = new Map<LegId, MixRelay>();
  /** Per other worker (thread id): the pair's port. */
  private readonly links = new Map<number, { link: MixLink; port: MessagePort }>();

  constructor(
    private readonly clock: Pick<MediaTickSource, 'subscribe'>,
    private readonly mediaOf: (id: LegId) => MixableMedia | undefined,
    private readonly emit: (ev: MixEvent) => void,
  ) {}

  handle(c: MixCommand): void {
    switch (c.t) {
      case 'mix-room': {
        let r = this.rooms.get(c.room);
        if (!r) {
          r = { room: new MixRoom<LegId>(this.clock, (id, talking, levelDbfs) => this.emit({ e: 'talk', id, talking, levelDbfs })), remotes: new Set() };
          this.rooms.set(c.room, r);
        }
        r.room.setStarted(c.started);
        break;
      }
      case 'mix-close': {
        const r = this.rooms.get(c.room);
        if (!r) break;
        this.rooms.delete(c.room);
        r.room.close();
        for (const id of r.remotes) this.remoteRoom.delete(id);
        if (r.rec) finishWorkerRecorder(r.rec.recorder, r.rec.port);
        break;
      }
      case 'mix-link': {
        this.links.get(c.peer)?.port.close();
        const port = c.port;
        port.on('message', (b: MixBatch) => this.received(b));
        this.links.set(c.peer, { link: new MixLink(port), port });
        break;
      }
      case 'mix-play':
        this.rooms.get(c.room)?.room.play(c.samples, c.owner);
        break;
      case 'mix-record': {
        const r = this.rooms.get(c.room);
        if (!r) {
          c.port.close();
          break;
        }
        const recorder = workerRecorder(c.path, c.append, c.port);
        r.room.record(recorder);
        r.rec = { recorder, port: c.port };
        break;
      }
      case 'mix-add': {
        const r = this.rooms.get(c.room);
        if (!r) break;
        const options = { muted: c.muted, deaf: c.deaf, tags: c.tags, whisperTo: c.whisperTo };
        if (c.via !== undefined) {
          const link = this.links.get(c.via)?.link;
          if (!link) break;
          r.room.addRemote(c.id, options, (frame) => link.queue('mix', c.id, frame));
          r.remotes.add(c.id);
          this.remoteRoom.set(c.id, r.room);
        } else {
          const media = this.mediaOf(c.id);
          if (media) r.room.addLocal(c.id, media, options, c.talkDbfs);
        }
        if (c.wait) r.room.setPartyWaiting(c.id, c.wait);
        break;
      }
      case 'mix-set':
        this.rooms.get(c.room)?.room.update(c.id, { muted: c.muted, deaf: c.deaf });
        break;
      case 'mix-remove': {
        const r = this.rooms.get(c.room);
        if (!r) break;
        r.room.remove(c.id);
        if (r.remotes.delete(c.id)) this.remoteRoom.delete(c.id);
        break;
      }
      case 'relay': {
        this.stopRelay(c.id);
        const media = this.mediaOf(c.id);
        const link = this.links.get(c.via)?.link;
        if (!media || !link) break;
        const relay = new MixRelay(
          this.clock,
          media,
          (samples) => link.queue('audio', c.id, samples),
          c.talkDbfs,
          (talking, levelDbfs) => this.emit({ e: 'talk', id: c.id, talking, levelDbfs }),
        );
        this.relays.set(c.id, relay);
        break;
      }
      case 'relay-stop':
        this.stopRelay(c.id);
        break;
    }
  }

  /** Messages sent to other workers so far (the relay batching's count). */
  get linkMessages(): number {
    let n = 0;
    for (const { link } of this.links.values()) n += link.sent;
    return n;
  }

  /** A batch from another worker: relayed parties' audio into the rooms here, mix frames to the relays here. */
  private received(b: MixBatch): void {
    for (const [id, samples] of b.audio) this.remoteRoom.get(id)?.pushRemote(id, samples);
    for (const [id, frame] of b.mix) this.relays.get(id)?.frame(frame);
  }

  private stopRelay(id: LegId): void {
    const r = this.relays.get(id);
    if (!r) return;
    this.relays.delete(id);
    r.close();
  }
}
