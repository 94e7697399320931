import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DTMF_EVENT_KEYS,
  decodeTelephoneEvent,
  dtmfKeyToEvent,
  encodeTelephoneEvent,
  eventToDtmfKey,
} from '../../lib/media/telephone-event';

describe('RFC 4733 telephone-event payload', () => {
  it('maps the keys to events 0-15 (0-9, *, #, A-D), case-insensitively', () => {
    assert.equal(DTMF_EVENT_KEYS.length, 16);
    assert.equal(dtmfKeyToEvent('0'), 0);
    assert.equal(dtmfKeyToEvent('9'), 9);
    assert.equal(dtmfKeyToEvent('*'), 10);
    assert.equal(dtmfKeyToEvent('#'), 11);
    assert.equal(dtmfKeyToEvent('A'), 12);
    assert.equal(dtmfKeyToEvent('d'), 15);
    for (const bad of ['', '12', 'E', ' ', 5 as unknown as string]) assert.equal(dtmfKeyToEvent(bad), null);
    assert.equal(eventToDtmfKey(11), '#');
    for (const bad of [16, -1, 1.5, 255]) assert.equal(eventToDtmfKey(bad), null);
  });

  it('encodes the wire format: event, E bit, volume, duration (big-endian)', () => {
    assert.deepEqual(
      [...encodeTelephoneEvent({ event: 11, end: true, volume: 10, duration: 800 })],
      [0x0b, 0x8a, 0x03, 0x20],
    );
    assert.deepEqual([...encodeTelephoneEvent({ event: 1, end: false, volume: 63, duration: 160 })], [1, 0x3f, 0, 0xa0]);
  });

  it('ignores the R bit and takes the first event of a longer payload', () => {
    assert.deepEqual(decodeTelephoneEvent(Buffer.from([5, 0xc7, 0x01, 0x00, 9, 9, 9, 9])), {
      event: 5,
      end: true,
      volume: 7,
      duration: 256,
    });
  });

  it('returns null for payloads shorter than 4 bytes, never throws', () => {
    assert.equal(decodeTelephoneEvent(Buffer.from([1, 2, 3])), null);
    assert.equal(decodeTelephoneEvent(null as unknown as Buffer), null);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 12 }), (a) => void decodeTelephoneEvent(a)));
  });

  it('round-trips every event', () => {
    fc.assert(
      fc.property(
        fc.record({
          event: fc.integer({ min: 0, max: 255 }),
          end: fc.boolean(),
          volume: fc.integer({ min: 0, max: 63 }),
          duration: fc.integer({ min: 0, max: 0xffff }),
        }),
        (e) => assert.deepEqual(decodeTelephoneEvent(encodeTelephoneEvent(e)), { ...e }),
      ),
    );
  });

  it('names the field out of range', () => {
    assert.throws(() => encodeTelephoneEvent({ event: 256, end: false, volume: 0, duration: 0 }), /"event"/);
    assert.throws(() => encodeTelephoneEvent({ event: 1, end: false, volume: 64, duration: 0 }), /"volume"/);
    assert.throws(() => encodeTelephoneEvent({ event: 1, end: false, volume: 1, duration: 70000 }), /"duration"/);
  });
});
