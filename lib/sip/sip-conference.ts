import { MessageChannel } from 'node:worker_threads';
import type { Call } from '../call/call';
import { CallState } from '../call/call-state';
import type { ConferenceCapability, RoomMedia, RoomMediaOptions, RoomPartyMedia } from '../capabilities/conference';
import { MixRoom } from '../conference/mix-room';
import { RecorderReply, recordingReply, RoomRecorder, RoomRecording } from '../conference/room-recorder';
import { CallStateError, NotSupportedError } from '../errors';
import { RemoteRtpSession } from '../media-engine/remote-rtp-session';
import type { RtpMedia } from '../media-engine/rtp-media';
import { RtpSession } from './rtp-session';
import type { SipCallContext } from './sip-call-context';

/** What the conference capability needs of the backend: a call's media and the line's name. */
export type SipConferenceContext = Pick<SipCallContext, 'rtpOf' | 'description'>;

/** Rooms hosted by media workers are numbered process-wide (a worker hosts rooms of every line). */
let nextWorkerRoom = 1;

/**
 * The worker pairs linked so far (`<lower thread id>:<higher>`): one MessageChannel per pair, made
 * the first time a party of one is relayed to a room on the other, for every room of every line;
 * kept while the workers live (thread ids are never reused, so a dead worker's entry is never hit).
 */
const linkedPairs = new Set<string>();

/** Links workers `a` and `b` (through a leg of each) if they are not yet: each gets its end of one channel. */
function linkWorkers(a: RemoteRtpSession, b: RemoteRtpSession): void {
  const key = a.threadId < b.threadId ? `${a.threadId}:${b.threadId}` : `${b.threadId}:${a.threadId}`;
  if (linkedPairs.has(key)) return;
  linkedPairs.add(key);
  const { port1, port2 } = new MessageChannel();
  a.sendMix({ t: 'mix-link', id: 0, peer: b.threadId, port: port1 }, [port1]);
  b.sendMix({ t: 'mix-link', id: 0, peer: a.threadId, port: port2 }, [port2]);
}

/**
 * Conference rooms on a SIP line (the `conference` capability, docs/conference.md): each room is
 * mixed in ONE thread, the thread of its first party's media. `mediaWorkers: 0`: the main thread,
 * on the media clock the calls send on. With media workers: the worker of the first party's leg;
 * a party whose leg runs on another worker is relayed over the port of that worker pair (its received
 * audio one way, its mix the other; all the relayed parties of a pair in one message per tick each way).
 */
export class SipConference implements ConferenceCapability {
  constructor(private readonly ctx: SipConferenceContext) {}

  openRoom(name: string, onTalk: (call: Call, talking: boolean, levelDbfs: number) => void, options: RoomMediaOptions = {}): RoomMedia {
    return new SipRoomMedia(this.ctx, name, onTalk, options.record);
  }
}

type Host = { kind: 'local'; room: MixRoom<Call> } | { kind: 'worker'; via: RemoteRtpSession; threadId: number; room: number };

class SipRoomMedia implements RoomMedia {
  private host: Host | null = null;
  private started = false;
  private readonly parties = new Map<Call, { rtp: RtpMedia; relayed: boolean; media: RoomPartyMedia }>();
  /** A worker-hosted room's recording: what its host gives back when it closes it (lib/conference/room-recorder.ts). */
  private recording: Promise<RecorderReply> | null = null;

  constructor(
    private readonly ctx: SipConferenceContext,
    private readonly name: string,
    private readonly onTalk: (call: Call, talking: boolean, levelDbfs: number) => void,
    /** Record the room's mix to this file (room option `record`). */
    private readonly recordTo?: string,
  ) {}

  async add(call: Call, party: RoomPartyMedia): Promise<void> {
    if (call.state !== CallState.Active && call.state !== CallState.Held) {
      throw new CallStateError(`call ${call.id} is ${call.state}: only a connected call can join a conference room`);
    }
    const rtp = this.ctx.rtpOf(call);
    if (!rtp || rtp.closed) throw new CallStateError(`call ${call.id} has no media (${this.ctx.description()}): it cannot join room ${this.name}`);
    const options = { muted: party.muted, deaf: party.deaf, tags: party.tags, whisperTo: party.whisperTo };
    const host = (this.host ??= this.hostFor(rtp));
    if (host.kind === 'local' && rtp instanceof RtpSession) {
      host.room.addLocal(call, rtp, options, party.talkThresholdDbfs);
      if (party.waitAudio) host.room.setPartyWaiting(call, party.waitAudio);
      this.parties.set(call, { rtp, relayed: false, media: { ...party } });
      return;
    }
    if (host.kind === 'worker' && rtp instanceof RemoteRtpSession) {
      rtp.onTalk = (talking, level) => this.onTalk(call, talking, level);
      this.attach(call, rtp, { ...party }, host);
      return;
    }
    throw new NotSupportedError(`room ${this.name} is mixed ${host.kind === 'local' ? 'in the main thread' : 'in a media worker'}; call ${call.id}'s media runs elsewhere (a line with another mediaWorkers setting)`);
  }

  update(call: Call, party: Pick<RoomPartyMedia, 'muted' | 'deaf'>): void {
    const p = this.parties.get(call);
    if (!p || !this.host) return;
    p.media = { ...p.media, ...party };
    if (this.host.kind === 'local') this.host.room.update(call, party);
    else this.host.via.sendMix({ t: 'mix-set', id: (p.rtp as RemoteRtpSession).id, room: this.host.room, muted: party.muted, deaf: party.deaf });
  }

  async remove(call: Call): Promise<void> {
    const p = this.parties.get(call);
    if (!p || !this.host) return;
    this.parties.delete(call);
    if (this.host.kind === 'local') {
      this.host.room.remove(call);
      return;
    }
    const rtp = p.rtp as RemoteRtpSession;
    rtp.onTalk = null;
    this.host.via.sendMix({ t: 'mix-remove', id: rtp.id, room: this.host.room });
    if (p.relayed) rtp.sendMix({ t: 'relay-stop', id: rtp.id });
    // The host keeps a party of its own: once none is left, the room moves to a remaining party's worker.
    if (!p.relayed && ![...this.parties.values()].some((q) => !q.relayed && !q.rtp.closed)) this.rehost();
  }

  play(audio: Int16Array, except?: Call): void {
    if (this.host?.kind === 'local') this.host.room.play(audio, except);
    else if (this.host) {
      const owner = except ? (this.parties.get(except)?.rtp as RemoteRtpSession | undefined)?.id : undefined;
      this.host.via.sendMix({ t: 'mix-play', id: 0, room: this.host.room, samples: audio, ...(owner !== undefined ? { owner } : {}) });
    }
  }

  setStarted(started: boolean): void {
    this.started = started;
    if (this.host?.kind === 'local') this.host.room.setStarted(started);
    else if (this.host) this.host.via.sendMix({ t: 'mix-room', id: 0, room: this.host.room, started });
  }

  async close(): Promise<RoomRecording | null> {
    for (const call of [...this.parties.keys()]) await this.remove(call);
    const host = this.host;
    this.host = null;
    if (host?.kind === 'local') {
      const recorder = host.room.record(null);
      host.room.close();
      return recorder ? recorder.close().catch(() => null) : null;
    }
    if (host) host.via.sendMix({ t: 'mix-close', id: 0, room: host.room });
    const reply = await this.recording;
    return reply?.ok ? reply.recording : null;
  }

  /** A leg into a worker-hosted room: mixed there directly, or relayed from its own worker. */
  private attach(call: Call, rtp: RemoteRtpSession, media: RoomPartyMedia, host: Extract<Host, { kind: 'worker' }>): void {
    const add = { t: 'mix-add' as const, id: rtp.id, room: host.room, muted: media.muted, deaf: media.deaf, talkDbfs: media.talkThresholdDbfs, tags: media.tags, whisperTo: media.whisperTo, ...(media.waitAudio ? { wait: media.waitAudio } : {}) };
    if (rtp.threadId === host.threadId) {
      host.via.sendMix(add);
      this.parties.set(call, { rtp, relayed: false, media });
      // The host's worker died (this leg with it): the room moves to a surviving party's worker.
      void rtp.failure.then(() => {
        if (this.host === host) this.rehost();
      });
      return;
    }
    linkWorkers(host.via, rtp);
    host.via.sendMix({ ...add, via: rtp.threadId });
    rtp.sendMix({ t: 'relay', id: rtp.id, via: host.threadId, talkDbfs: media.talkThresholdDbfs });
    this.parties.set(call, { rtp, relayed: true, media });
  }

  /**
   * Moves a worker-hosted room to the worker of a remaining party (its host has no party of its
   * own any more, or died): a new room there, every remaining party added again (directly or
   * relayed), the old room closed. The audio of the move is at most a few ticks of silence.
   */
  private rehost(): void {
    const old = this.host;
    if (!old || old.kind !== 'worker') return;
    const survivors = [...this.parties].filter(([, p]) => !p.rtp.closed) as Array<[Call, { rtp: RemoteRtpSession; relayed: boolean; media: RoomPartyMedia }]>;
    if (survivors.length === 0) return;
    old.via.sendMix({ t: 'mix-close', id: 0, room: old.room });
    for (const [, p] of survivors) if (p.relayed) p.rtp.sendMix({ t: 'relay-stop', id: p.rtp.id });
    // The recording goes on in the same file on the new host once the old one has closed it.
    const host = this.hostFor(survivors[0][1].rtp, this.recording) as Extract<Host, { kind: 'worker' }>;
    this.host = host;
    for (const [call, p] of survivors) this.attach(call, p.rtp, p.media, host);
  }

  /** The room goes where its first party's media runs; `after`: a moved room's recording, closed by its old host. */
  private hostFor(rtp: RtpMedia, after: Promise<unknown> | null = null): Host {
    if (rtp instanceof RtpSession) {
      const room = new MixRoom<Call>(rtp.clock, this.onTalk);
      room.setStarted(this.started);
      if (this.recordTo) room.record(new RoomRecorder(this.recordTo, false));
      return { kind: 'local', room };
    }
    if (rtp instanceof RemoteRtpSession) {
      const host: Host = { kind: 'worker', via: rtp, threadId: rtp.threadId, room: nextWorkerRoom++ };
      rtp.sendMix({ t: 'mix-room', id: 0, room: host.room, started: this.started });
      if (this.recordTo) {
        const { port1, port2 } = new MessageChannel();
        rtp.sendMix({ t: 'mix-record', id: 0, room: host.room, path: this.recordTo, append: after !== null, port: port1 }, [port1]);
        this.recording = recordingReply(this.recordTo, port2);
        if (after) void after.then(() => port2.postMessage('go'));
      }
      return host;
    }
    throw new NotSupportedError(`conference rooms need the call's media in this process (${this.ctx.description()})`);
  }
}
