import assert from 'node:assert/strict';
import { DtmfSender } from '../../lib/media/dtmf-sender';
import { decodeTelephoneEvent } from '../../lib/media/telephone-event';

describe('DtmfSender (RFC 4733)', () => {
  it('sends a 100 ms key as 4 updates and 3 end packets, one timestamp, marker on the first', () => {
    const packets = new DtmfSender().packets('5', 123456);
    assert.deepEqual(
      packets.map((p) => [p.marker, p.timestamp, p.duration, p.end, p.payloadType]),
      [
        [true, 123456, 160, false, 101],
        [false, 123456, 320, false, 101],
        [false, 123456, 480, false, 101],
        [false, 123456, 640, false, 101],
        [false, 123456, 800, true, 101],
        [false, 123456, 800, true, 101],
        [false, 123456, 800, true, 101],
      ],
    );
    for (const p of packets) {
      assert.deepEqual(decodeTelephoneEvent(p.payload), { event: 5, end: p.end, volume: 10, duration: p.duration });
    }
  });

  it('sends durations that are not a whole number of packets, and the shortest key', () => {
    const sender = new DtmfSender();
    assert.deepEqual(
      sender.packets('#', 0, 50).map((p) => [p.duration, p.end]),
      [
        [160, false],
        [320, false],
        [400, true],
        [400, true],
        [400, true],
      ],
    );
    assert.deepEqual(
      sender.packets('A', 0, 40).map((p) => [p.marker, p.duration, p.end]),
      [
        [true, 160, false],
        [false, 320, true],
        [false, 320, true],
        [false, 320, true],
      ],
    );
    const second = sender.packets('1', 0, 1000);
    assert.equal(second.length, 49 + 3);
    assert.equal(second.at(-1)?.duration, 8000);
  });

  it('follows the payload type, clock rate and packet interval it is given', () => {
    const sender = new DtmfSender({ payloadType: 96, clockRate: 16000, packetMs: 30, volume: 3, endPackets: 2 });
    const packets = sender.packets('d', 7, 100);
    assert.equal(sender.samplesPerPacket, 480);
    assert.deepEqual(
      packets.map((p) => [p.payloadType, p.duration, p.end]),
      [
        [96, 480, false],
        [96, 960, false],
        [96, 1440, false],
        [96, 1600, true],
        [96, 1600, true],
      ],
    );
    assert.equal(decodeTelephoneEvent(packets[0].payload)?.event, 15);
    assert.equal(decodeTelephoneEvent(packets[0].payload)?.volume, 3);
  });

  it('validates the key, the duration (40-1000 ms) and the options with a TypeError naming them', () => {
    const sender = new DtmfSender();
    assert.throws(() => sender.packets('E', 0), { name: 'TypeError', message: /"digit" must be one of 0-9, \*, #, A-D/ });
    assert.throws(() => sender.packets('12', 0), /"digit"/);
    assert.throws(() => sender.packets('1', 0, 39), { name: 'TypeError', message: /"durationMs" must be a whole number from 40 to 1000/ });
    assert.throws(() => sender.packets('1', 0, 1001), /"durationMs"/);
    assert.throws(() => sender.packets('1', 0, Number.NaN), /"durationMs"/);
    assert.throws(() => sender.packets('1', -1), /"timestamp"/);
    assert.throws(() => new DtmfSender({ payloadType: 8 }), /"payloadType" must be a whole number from 96 to 127/);
    assert.throws(() => new DtmfSender({ endPackets: 0 }), /"endPackets"/);
    assert.throws(() => new DtmfSender('x' as never), /DtmfSender options must be an object/);
  });
});
