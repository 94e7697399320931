import { MessageChannel } from 'node:worker_threads';
import type { Call } from '../call/call';
import { CallState } from '../call/call-state';
import type { ConferenceCapability, RoomMedia, RoomPartyMedia } from '../capabilities/conference';
import { MixRoom } from '../conference/mix-room';
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
 * Conference rooms on a SIP line (the `conference` capability, docs/conference.md): each room is
 * mixed in ONE thread, the thread of its first party's media. `mediaWorkers: 0`: the main thread,
 * on the media clock the calls send on. With media workers: the worker of the first party's leg;
 * a party whose leg runs on another worker is relayed through a MessageChannel between the two
 * workers (its received audio one way, its mix the other, one message each way per tick).
 */
export class SipConference implements ConferenceCapability {
  constructor(private readonly ctx: SipConferenceContext) {}

  openRoom(name: string, onTalk: (call: Call, talking: boolean, levelDbfs: number) => void): RoomMedia {
    return new SipRoomMedia(this.ctx, name, onTalk);
  }
}

type Host = { kind: 'local'; room: MixRoom<Call> } | { kind: 'worker'; via: RemoteRtpSession; threadId: number; room: number };

class SipRoomMedia implements RoomMedia {
  private host: Host | null = null;
  private started = false;
  private readonly parties = new Map<Call, { rtp: RtpMedia; relayed: boolean }>();

  constructor(
    private readonly ctx: SipConferenceContext,
    private readonly name: string,
    private readonly onTalk: (call: Call, talking: boolean, levelDbfs: number) => void,
  ) {}

  async add(call: Call, party: RoomPartyMedia): Promise<void> {
    if (call.state !== CallState.Active && call.state !== CallState.Held) {
      throw new CallStateError(`call ${call.id} is ${call.state}: only a connected call can join a conference room`);
    }
    const rtp = this.ctx.rtpOf(call);
    if (!rtp || rtp.closed) throw new CallStateError(`call ${call.id} has no media (${this.ctx.description()}): it cannot join room ${this.name}`);
    const options = { muted: party.muted, deaf: party.deaf };
    const host = (this.host ??= this.hostFor(rtp));
    if (host.kind === 'local' && rtp instanceof RtpSession) {
      host.room.addLocal(call, rtp, options, party.talkThresholdDbfs);
      this.parties.set(call, { rtp, relayed: false });
      return;
    }
    if (host.kind === 'worker' && rtp instanceof RemoteRtpSession) {
      rtp.onTalk = (talking, level) => this.onTalk(call, talking, level);
      const add = { t: 'mix-add' as const, id: rtp.id, room: host.room, ...options, talkDbfs: party.talkThresholdDbfs };
      if (rtp.threadId === host.threadId) {
        host.via.sendMix(add);
        this.parties.set(call, { rtp, relayed: false });
      } else {
        const { port1, port2 } = new MessageChannel();
        host.via.sendMix({ ...add, port: port1 }, [port1]);
        rtp.sendMix({ t: 'relay', id: rtp.id, port: port2, talkDbfs: party.talkThresholdDbfs }, [port2]);
        this.parties.set(call, { rtp, relayed: true });
      }
      return;
    }
    throw new NotSupportedError(`room ${this.name} is mixed ${host.kind === 'local' ? 'in the main thread' : 'in a media worker'}; call ${call.id}'s media runs elsewhere (a line with another mediaWorkers setting)`);
  }

  update(call: Call, party: Pick<RoomPartyMedia, 'muted' | 'deaf'>): void {
    const p = this.parties.get(call);
    if (!p || !this.host) return;
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
  }

  play(audio: Int16Array): void {
    if (this.host?.kind === 'local') this.host.room.play(audio);
    else if (this.host) this.host.via.sendMix({ t: 'mix-play', id: 0, room: this.host.room, samples: audio });
  }

  setStarted(started: boolean): void {
    this.started = started;
    if (this.host?.kind === 'local') this.host.room.setStarted(started);
    else if (this.host) this.host.via.sendMix({ t: 'mix-room', id: 0, room: this.host.room, started });
  }

  async close(): Promise<void> {
    for (const call of [...this.parties.keys()]) await this.remove(call);
    if (this.host?.kind === 'local') this.host.room.close();
    else if (this.host) this.host.via.sendMix({ t: 'mix-close', id: 0, room: this.host.room });
    this.host = null;
  }

  /** The room goes where its first party's media runs. */
  private hostFor(rtp: RtpMedia): Host {
    if (rtp instanceof RtpSession) {
      const room = new MixRoom<Call>(rtp.clock, this.onTalk);
      room.setStarted(this.started);
      return { kind: 'local', room };
    }
    if (rtp instanceof RemoteRtpSession) {
      const host: Host = { kind: 'worker', via: rtp, threadId: rtp.threadId, room: nextWorkerRoom++ };
      rtp.sendMix({ t: 'mix-room', id: 0, room: host.room, started: this.started });
      return host;
    }
    throw new NotSupportedError(`conference rooms need the call's media in this process (${this.ctx.description()})`);
  }
}
