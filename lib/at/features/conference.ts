/**
 * The network's multiparty call (3GPP TS 22.084) as the AT line's one conference room
 * (docs/conference.md, "AT lines"). The network mixes; this keeps the room (its name, its parties,
 * the events) from the calls' states and the `<mpty>` flag the module reports (`+CLCC`, ccinfo):
 *
 * | action | command (27.007 §7.13) | what the module must then report |
 * |---|---|---|
 * | `join` (first party) | none: the room is that call, waiting for a second | |
 * | `join` (the next ones) | `AT+CHLD=3`: the held call joins the active one (or the held room joins the active call) | the room's calls and the new one active, each with `<mpty>` 1 |
 * | `leave` | `AT+CHLD=2<idx>`: split (private communication); the call stays up | the call active, not multiparty; the rest of the room held |
 * | `kick` | `AT+CHLD=1<idx>`: that call is released | the call gone |
 * | `end` | `AT+CHLD=1<idx>` for each party | every party's call gone |
 *
 * A party whose call ends (the far end hangs up) leaves with `call-ended`; the last one gone ends the
 * room (`last-left`). The `AT+CHLD` commands take turns with hold / resume / swap (AtControl), since
 * each one's meaning depends on the calls' states when it is sent.
 */
import { EventEmitter } from 'node:events';
import { HangupRequest } from '../../backend';
import { Call } from '../../call/call';
import { CallState } from '../../call/call-state';
import type { MultipartyCapability } from '../../capabilities/multiparty';
import { roomEvent, roomSnapshot, type LeaveReason, type PartySnapshot, type RoomEvent, type RoomSnapshot, type RoomState } from '../../conference/rooms';
import { CallStateError, InvalidInputError, NotSupportedError } from '../../errors';
import { AtFeatureContext, AtFeatureHooks } from '../at-feature';
import { commandFailed, networkCommandTimeout, notReported, STATE_REPORT_MS } from './control';


interface Party {
  call: Call;
  moderator: boolean;
  joinedAt: Date;
  onEnded: () => void;
  /** Why the call is being released by us (kick, end): its leave says so instead of `call-ended`. */
  releasing?: LeaveReason;
}

interface Room {
  name: string;
  state: RoomState;
  createdAt: Date;
  startedAt?: Date;
  parties: Map<Call, Party>;
  /** `end` is releasing every party: the room ends `ended`, not `last-left`. */
  ending?: boolean;
}

/** Runs `AT+CHLD` work in turn with the line's other `AT+CHLD` users (hold, resume, swap). */
export type ChldTurn = <T>(work: () => Promise<T>) => Promise<T>;

export class AtMultiparty extends EventEmitter<{ event: [RoomEvent] }> implements MultipartyCapability, AtFeatureHooks {
  readonly name = 'conference';
  private room: Room | null = null;
  /** One room action at a time: events come in the order of the actions. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ctx: AtFeatureContext,
    private readonly turn: ChldTurn,
  ) {
    super();
  }

  join(call: Call, name: string, options: { moderator: boolean }): Promise<RoomSnapshot> {
    return this.serial(async () => {
      if (call.ended) throw new CallStateError(`call ${call.id} has ended: it cannot join room ${name}`);
      const room = this.room;
      if (room && room.name !== name) {
        throw new NotSupportedError(
          `a second room (${JSON.stringify(name)}) is not on this line (AT: the network's three-party call): its one room is ${JSON.stringify(room.name)} until that room ends`,
        );
      }
      if (room?.parties.has(call)) throw new CallStateError(`call ${call.id} is already in room ${name}`);
      if (call.state !== CallState.Active && call.state !== CallState.Held) {
        throw new CallStateError(`call ${call.id} is ${call.state}: only a connected call (active or held) can join room ${name}`);
      }
      if (!room) {
        // One call is not a multiparty call yet: the room waits for a second party.
        const created: Room = { name, state: 'waiting', createdAt: new Date(), parties: new Map() };
        this.room = created;
        this.addParty(created, call, options.moderator);
        return this.snapshot(created);
      }
      await this.turn(() => this.chld3(room, call));
      this.addParty(room, call, options.moderator);
      if (room.state === 'waiting') {
        room.state = 'started';
        room.startedAt = new Date();
        this.emitRoom(room, 'room-start', {});
      }
      return this.snapshot(room);
    });
  }

  leave(call: Call): Promise<RoomSnapshot> {
    return this.serial(async () => {
      const room = this.roomWith(call);
      if (room.parties.size > 1) await this.turn(() => this.split(room, call));
      // A room of one party is that call alone: nothing to split on the network.
      this.removeParty(room, call, 'left');
      return this.snapshot(room);
    });
  }

  kick(call: Call): Promise<RoomSnapshot> {
    return this.serial(async () => {
      const room = this.roomWith(call);
      await this.turn(() => this.release(room, [call], 'kicked'));
      return this.snapshot(room);
    });
  }

  end(name: string): Promise<RoomSnapshot> {
    return this.serial(async () => {
      const room = this.room;
      if (!room || room.name !== name) throw new InvalidInputError(`there is no conference room ${JSON.stringify(name)}`);
      const before = this.snapshot(room);
      room.ending = true;
      try {
        await this.turn(() => this.release(room, [...room.parties.keys()], 'room-ended'));
      } finally {
        room.ending = false;
      }
      return { ...before, parties: [] };
    });
  }

  get(name: string): RoomSnapshot | null {
    return this.room && this.room.name === name ? this.snapshot(this.room) : null;
  }

  roomNameOf(call: Call): string | null {
    return this.room?.parties.has(call) ? this.room.name : null;
  }

  // ───────────────────────────── the commands ─────────────────────────────

  /** `AT+CHLD=3` once the calls are in the one shape where it joins exactly `call` to the room. */
  private async chld3(room: Room, call: Call): Promise<void> {
    const parties = [...room.parties.keys()];
    const roomState = parties[0].state;
    if (!parties.every((p) => p.state === roomState) || (roomState !== CallState.Active && roomState !== CallState.Held)) {
      throw new CallStateError(`the parties of room ${room.name} are not all active or all held (${parties.map((p) => `${p.id} ${p.state}`).join(', ')})`);
    }
    if (call.state === roomState) {
      throw new CallStateError(
        `call ${call.id} is ${call.state}, as room ${room.name} is: AT+CHLD=3 joins the held call and the active one, so one of them must be on hold first (voice-control hold or swap)`,
      );
    }
    const stray = this.others([...parties, call]).find((c) => c.state === CallState.Active || c.state === CallState.Held);
    if (stray) {
      throw new CallStateError(`call ${stray.id} is ${stray.state} too, and AT+CHLD=3 would join it to room ${room.name} as well: hang it up or let it join first`);
    }
    await this.send('AT+CHLD=3', `join call ${call.id} to room ${room.name}`);
    const all = [...parties, call];
    await this.reported('AT+CHLD=3', () => {
      const off = all.find((c) => c.ended || c.state !== CallState.Active || this.ctx.callInfo(c)?.multiparty !== true);
      return off ? `call ${off.id} active in the multiparty call` : null;
    });
  }

  /** `AT+CHLD=2<idx>`: the party talks with us alone, the rest of the room is held. */
  private async split(room: Room, call: Call): Promise<void> {
    if (call.state !== CallState.Active) {
      throw new CallStateError(`room ${room.name} is on hold: a party is taken out of the active room only (resume it first, voice-control)`);
    }
    const held = this.others([...room.parties.keys()]).find((c) => c.state === CallState.Held);
    if (held) throw new CallStateError(`call ${held.id} is on hold, and the network holds one call at a time: the room cannot be held to take call ${call.id} out`);
    const index = await this.ctx.indexOf(call);
    const cmd = `AT+CHLD=2${index}`;
    await this.send(cmd, `take call ${call.id} out of room ${room.name}`);
    const rest = [...room.parties.keys()].filter((c) => c !== call);
    await this.reported(cmd, () => {
      if (call.ended || call.state !== CallState.Active || this.ctx.callInfo(call)?.multiparty === true) return `call ${call.id} active on its own`;
      const off = rest.find((c) => !c.ended && c.state !== CallState.Held);
      return off ? `call ${off.id} held` : null;
    });
  }

  /** `AT+CHLD=1<idx>` for each call, then waits until each has ended (its party left with `reason`). */
  private async release(room: Room, calls: Call[], reason: LeaveReason): Promise<void> {
    for (const call of calls) {
      const party = room.parties.get(call);
      if (!party || call.ended) continue;
      const index = await this.ctx.indexOf(call);
      const cmd = `AT+CHLD=1${index}`;
      const request: HangupRequest = { signal: 'normal', endCause: 'normal', text: reason === 'kicked' ? `kicked out of room ${room.name}` : `room ${room.name} ended` };
      party.releasing = reason;
      this.ctx.expectEnd(call, request);
      try {
        await this.send(cmd, `release call ${call.id} from room ${room.name}`);
      } catch (err) {
        party.releasing = undefined;
        this.ctx.expectEnd(call, null);
        throw err;
      }
    }
    this.ctx.poll();
    await this.reported('AT+CHLD=1', () => {
      const up = calls.find((c) => !c.ended);
      return up ? `call ${up.id} released` : null;
    });
  }

  /** Sends a network command (it waits for the network, as ATD does); a refusal in words. */
  private async send(cmd: string, what: string): Promise<void> {
    try {
      await this.ctx.channel().send(cmd, { timeoutMs: networkCommandTimeout(this.ctx) });
    } catch (err) {
      throw commandFailed(err, cmd, what, true);
    }
  }

  /**
   * Asks the module (`AT+CLCC`) until `pending()` says nothing is missing, for up to STATE_REPORT_MS:
   * the `<mpty>` flag is seen in its call list (and in ccinfo), and a flag change moves no call state.
   */
  private async reported(cmd: string, pending: () => string | null): Promise<void> {
    const until = Date.now() + STATE_REPORT_MS;
    const gap = this.ctx.options.timing?.pollMs ?? 500;
    for (;;) {
      await this.ctx.refresh();
      const missing = pending();
      if (!missing) return;
      if (Date.now() >= until) {
        throw notReported(cmd, missing);
      }
      await new Promise((resolve) => setTimeout(resolve, gap).unref());
    }
  }

  private others(calls: Call[]): Call[] {
    return this.ctx.calls().filter((c) => !calls.includes(c) && !c.ended);
  }

  // ───────────────────────────── the room ─────────────────────────────

  private roomWith(call: Call): Room {
    const room = this.room;
    if (!room || !room.parties.has(call)) throw new CallStateError(`call ${call.id} is not in a conference room`);
    return room;
  }

  private addParty(room: Room, call: Call, moderator: boolean): void {
    const onEnded = (): void => {
      const party = room.parties.get(call);
      if (party) this.removeParty(room, call, party.releasing ?? 'call-ended');
    };
    call.once('ended', onEnded);
    const party: Party = { call, moderator, joinedAt: new Date(), onEnded };
    room.parties.set(call, party);
    this.emitRoom(room, 'join', { party: this.partySnapshot(party) });
  }

  private removeParty(room: Room, call: Call, reason: LeaveReason): void {
    const party = room.parties.get(call);
    if (!party) return;
    room.parties.delete(call);
    call.off('ended', party.onEnded);
    this.emitRoom(room, 'leave', { party: this.partySnapshot(party), reason });
    if (room.parties.size === 0 && this.room === room) {
      this.room = null;
      this.emitRoom(room, 'room-end', { reason: room.ending ? 'ended' : 'last-left' });
    }
  }

  private emitRoom(room: Room, topic: RoomEvent['topic'], extra: Partial<RoomEvent>): void {
    this.emit('event', roomEvent(room, topic, extra, (p) => this.partySnapshot(p)));
  }

  /** No mute-all on the network's call: `allMuted` is always false. */
  private snapshot(room: Room): RoomSnapshot {
    return roomSnapshot(room, (p) => this.partySnapshot(p), false);
  }

  /** As a SIP room's party: the network mixes, so nobody is muted or deaf, and nobody is heard talking. */
  private partySnapshot(p: Party): PartySnapshot {
    const number = p.call.remote.number;
    return {
      call: p.call.id,
      ...(number ? { number } : {}),
      muted: false,
      deaf: false,
      moderator: p.moderator,
      startsRoom: true,
      endsRoom: false,
      talking: false,
      joinedAt: p.joinedAt.toISOString(),
    };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
