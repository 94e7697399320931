/**
 * Relayed parties batched per worker pair (docs/conference.md, "Where a room is mixed"): two
 * WorkerMixing instances as two workers would run them (here in one thread, each with its own
 * clock, ticked by hand), linked by one MessageChannel. Three parties relayed from the leg worker to
 * a room on the host worker: one message per tick each way, whatever the number of parties, and
 * each party hears the others.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { MessageChannel, MessagePort } from 'node:worker_threads';
import { FRAME } from '../../lib/conference/mixer';
import type { MixableMedia } from '../../lib/conference/mix-room';
import { WorkerMixing } from '../../lib/conference/worker-mixing';

/** A call leg's media as a room sees it: `audio` events in, `fill` out. */
class FakeMedia extends EventEmitter implements MixableMedia {
  fill: (() => Int16Array | null) | null = null;
  setFill(fill: (() => Int16Array | null) | null): void {
    this.fill = fill;
  }
}

/** A clock ticked by hand. */
class HandClock {
  private readonly subs = new Set<(tick: number) => void>();
  private n = 0;
  subscribe(fn: (tick: number) => void): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }
  tick(): void {
    const n = this.n++;
    for (const fn of [...this.subs]) fn(n);
  }
}

/** Lets the queued microtasks run and the port's messages arrive. */
const delivered = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('conference relays: one message per worker pair and tick', () => {
  const ports: MessagePort[] = [];
  afterEach(() => {
    for (const p of ports.splice(0)) p.close();
  });

  it('three relayed parties: one batch each way per tick; each party hears the other three', async () => {
    const HOST = 1;
    const LEG = 2;
    const hostClock = new HandClock();
    const legClock = new HandClock();
    const media = new Map<number, FakeMedia>([1, 2, 3, 4].map((id) => [id, new FakeMedia()]));
    const host = new WorkerMixing(hostClock, (id) => (id === 1 ? media.get(id) : undefined), () => undefined);
    const leg = new WorkerMixing(legClock, (id) => (id === 1 ? undefined : media.get(id)), () => undefined);
    const { port1, port2 } = new MessageChannel();
    ports.push(port1, port2);
    host.handle({ t: 'mix-link', id: 0, peer: LEG, port: port1 });
    leg.handle({ t: 'mix-link', id: 0, peer: HOST, port: port2 });
    host.handle({ t: 'mix-room', id: 0, room: 7, started: true });
    host.handle({ t: 'mix-add', id: 1, room: 7, muted: false, deaf: false, talkDbfs: -40 });
    for (const id of [2, 3, 4]) {
      host.handle({ t: 'mix-add', id, room: 7, muted: false, deaf: false, talkDbfs: -40, via: LEG });
      leg.handle({ t: 'relay', id, via: HOST, talkDbfs: -40 });
    }
    const value: Record<number, number> = { 1: 1, 2: 10, 3: 100, 4: 1000 };
    for (let t = 0; t < 3; t++) {
      for (const [id, m] of media) m.emit('audio', new Int16Array(FRAME).fill(value[id]));
      legClock.tick();
      await delivered();
      hostClock.tick();
      await delivered();
    }
    assert.equal(leg.linkMessages, 3, 'the leg worker sent one message per tick for its three relays');
    assert.equal(host.linkMessages, 3, 'the host sent one message per tick for the three relayed parties');
    assert.equal(media.get(1)?.fill?.()?.[0], 1110, 'the local party hears the three relayed ones');
    for (const id of [2, 3, 4]) {
      const heard = media.get(id)?.fill?.();
      assert.ok(heard, `relayed party ${id} has a mix frame`);
      assert.equal(heard[0], 1111 - value[id], `relayed party ${id} hears the others, not itself`);
    }
  });

  it('a relay stopped and a party removed: their frames are no longer sent; an unknown id in a batch is ignored', async () => {
    const hostClock = new HandClock();
    const legClock = new HandClock();
    const media = new Map<number, FakeMedia>([1, 2].map((id) => [id, new FakeMedia()]));
    const host = new WorkerMixing(hostClock, (id) => (id === 1 ? media.get(id) : undefined), () => undefined);
    const leg = new WorkerMixing(legClock, (id) => (id === 2 ? media.get(id) : undefined), () => undefined);
    const { port1, port2 } = new MessageChannel();
    ports.push(port1, port2);
    host.handle({ t: 'mix-link', id: 0, peer: 2, port: port1 });
    leg.handle({ t: 'mix-link', id: 0, peer: 1, port: port2 });
    host.handle({ t: 'mix-room', id: 0, room: 1, started: true });
    host.handle({ t: 'mix-add', id: 1, room: 1, muted: false, deaf: false, talkDbfs: -40 });
    host.handle({ t: 'mix-add', id: 2, room: 1, muted: false, deaf: false, talkDbfs: -40, via: 2 });
    leg.handle({ t: 'relay', id: 2, via: 1, talkDbfs: -40 });
    media.get(2)?.emit('audio', new Int16Array(FRAME).fill(5));
    legClock.tick();
    await delivered();
    hostClock.tick();
    await delivered();
    assert.equal(media.get(1)?.fill?.()?.[0], 5);
    leg.handle({ t: 'relay-stop', id: 2 });
    host.handle({ t: 'mix-remove', id: 2, room: 1 });
    assert.equal(media.get(2)?.fill, null, 'the leg sends its own audio again');
    media.get(2)?.emit('audio', new Int16Array(FRAME).fill(5));
    legClock.tick();
    hostClock.tick();
    await delivered();
    assert.deepEqual([leg.linkMessages, host.linkMessages], [1, 1], 'nothing more sent');
    port2.postMessage({ audio: [[99, new Int16Array(FRAME)]], mix: [[98, new Int16Array(FRAME)]] });
    await delivered();
  });
});
