/**
 * The conference rooms of one media worker (docs/conference.md): the rooms it hosts ({@link MixRoom})
 * and the relays of its legs that are parties of rooms hosted by another worker ({@link MixRelay}).
 * lib/media-engine/media-worker.ts hands it the {@link MixCommand}s; it reports talk changes as
 * {@link MixEvent}s in the worker's batch (under the party's leg, so they reach that leg's proxy).
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
  /** Host: a party joins; its leg runs here, or on another worker whose relay is at the end of `port`; `wait`: what it hears while the room waits. */
  | { t: 'mix-add'; id: LegId; room: number; muted: boolean; deaf: boolean; talkDbfs: number; port?: MessagePort; wait?: Int16Array }
  | { t: 'mix-set'; id: LegId; room: number; muted: boolean; deaf: boolean }
  | { t: 'mix-remove'; id: LegId; room: number }
  /** The leg's worker (not the host): relay the leg to the room at the end of `port`. */
  | { t: 'relay'; id: LegId; port: MessagePort; talkDbfs: number }
  | { t: 'relay-stop'; id: LegId };

export type MixEvent = { e: 'talk'; id: LegId; talking: boolean; levelDbfs: number };

const MIX_COMMANDS = new Set(['mix-room', 'mix-close', 'mix-play', 'mix-record', 'mix-add', 'mix-set', 'mix-remove', 'relay', 'relay-stop']);

export function isMixCommand(c: { t: string }): c is MixCommand {
  return MIX_COMMANDS.has(c.t);
}

export class WorkerMixing {
  private readonly rooms = new Map<number, { room: MixRoom<LegId>; ports: Map<LegId, MessagePort>; rec?: { recorder: RoomRecorder; port: MessagePort } }>();
  private readonly relays = new Map<LegId, { relay: MixRelay; port: MessagePort }>();

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
          r = { room: new MixRoom<LegId>(this.clock, (id, talking, levelDbfs) => this.emit({ e: 'talk', id, talking, levelDbfs })), ports: new Map() };
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
        for (const p of r.ports.values()) p.close();
        if (r.rec) finishWorkerRecorder(r.rec.recorder, r.rec.port);
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
        const options = { muted: c.muted, deaf: c.deaf };
        if (c.port) {
          const port = c.port;
          r.room.addRemote(c.id, options, (frame) => port.postMessage(frame, [frame.buffer as ArrayBuffer]));
          port.on('message', (samples: Int16Array) => r.room.pushRemote(c.id, samples));
          r.ports.set(c.id, port);
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
        r.ports.get(c.id)?.close();
        r.ports.delete(c.id);
        break;
      }
      case 'relay': {
        this.stopRelay(c.id);
        const media = this.mediaOf(c.id);
        if (!media) {
          c.port.close();
          break;
        }
        const port = c.port;
        const relay = new MixRelay(
          this.clock,
          media,
          (samples) => port.postMessage(samples, [samples.buffer as ArrayBuffer]),
          c.talkDbfs,
          (talking, levelDbfs) => this.emit({ e: 'talk', id: c.id, talking, levelDbfs }),
        );
        port.on('message', (frame: Int16Array) => relay.frame(frame));
        this.relays.set(c.id, { relay, port });
        break;
      }
      case 'relay-stop':
        this.stopRelay(c.id);
        break;
    }
  }

  private stopRelay(id: LegId): void {
    const r = this.relays.get(id);
    if (!r) return;
    this.relays.delete(id);
    r.relay.close();
    r.port.close();
  }
}
