import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DtmfDigitEndEvent, DtmfDigitEvent, DtmfReceiver } from '../../lib/media/dtmf-receiver';
import { DtmfPacket, DtmfSender } from '../../lib/media/dtmf-sender';

interface Sent extends DtmfPacket {
  seq: number;
}

/** The packets of `keys` as an RTP session sends them: consecutive sequence numbers, new timestamp per key. */
function send(keys: string, durationMs = 100, firstSeq = 65530): Sent[] {
  const sender = new DtmfSender();
  const out: Sent[] = [];
  let seq = firstSeq;
  let ts = 0xfffff000; // wraps during the run
  for (const k of keys) {
    for (const p of sender.packets(k, ts >>> 0, durationMs)) out.push({ ...p, seq: seq++ & 0xffff });
    ts += 8000; // a second later
  }
  return out;
}

function receive(packets: readonly Sent[]): { digits: DtmfDigitEvent[]; ends: DtmfDigitEndEvent[] } {
  const rx = new DtmfReceiver();
  const digits: DtmfDigitEvent[] = [];
  const ends: DtmfDigitEndEvent[] = [];
  rx.on('digit', (d) => digits.push(d));
  rx.on('digit-end', (d) => ends.push(d));
  for (const p of packets) rx.push(p.timestamp, p.seq, p.payload);
  return { digits, ends };
}

describe('DtmfReceiver (RFC 4733)', () => {
  it('reports each key once, from its first packet, and its end once with the duration', () => {
    const { digits, ends } = receive(send('123#'));
    assert.deepEqual(
      digits.map((d) => d.digit),
      ['1', '2', '3', '#'],
    );
    assert.equal(digits[0].seq, 65530);
    assert.equal(digits[0].volume, 10);
    assert.deepEqual(
      ends.map((e) => [e.digit, e.durationMs]),
      [
        ['1', 100],
        ['2', 100],
        ['3', 100],
        ['#', 100],
      ],
    );
  });

  it('reports a key whose start packets were lost, or of which only an end packet arrived', () => {
    const packets = send('12');
    const lostStart = packets.filter((p, i) => i !== 0 && i !== 1); // the first two packets of '1'
    assert.deepEqual(receive(lostStart).digits.map((d) => d.digit), ['1', '2']);
    const onlyEnds = packets.filter((p) => p.end);
    assert.deepEqual(receive(onlyEnds).digits.map((d) => d.digit), ['1', '2']);
  });

  it('repeats a key pressed twice (two events, two timestamps)', () => {
    assert.deepEqual(receive(send('55')).digits.map((d) => d.digit), ['5', '5']);
  });

  it('reports one digit per event whatever is lost, duplicated or reordered (fast-check)', () => {
    const keys = '147*#D';
    const packets = send(keys, 60);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(packets.length - 1), fc.nat(packets.length - 1)), { maxLength: 20 }),
        fc.array(fc.nat(packets.length - 1), { maxLength: 10 }),
        fc.array(fc.nat(packets.length - 1), { maxLength: 10 }),
        (swaps, dups, drops) => {
          let stream = packets.filter((p, i) => !drops.includes(i) || p.end); // keep end packets so every event shows up
          stream = stream.concat(dups.map((i) => packets[i]));
          for (const [a, b] of swaps) {
            const i = a % stream.length;
            const j = b % stream.length;
            [stream[i], stream[j]] = [stream[j], stream[i]];
          }
          const { digits, ends } = receive(stream);
          assert.deepEqual(digits.map((d) => d.digit).sort(), [...keys].sort());
          assert.equal(ends.length, keys.length);
        },
      ),
    );
  });

  it('ignores non-DTMF events and garbage, never throws', () => {
    const rx = new DtmfReceiver();
    const digits: string[] = [];
    rx.on('digit', (d) => digits.push(d.digit));
    rx.push(0, 0, Buffer.from([16, 0x8a, 0, 160])); // event 16 (a tone, not a key)
    rx.push(0, 0, Buffer.from([1, 2]));
    rx.push(Number.NaN, -5, Buffer.alloc(0));
    fc.assert(fc.property(fc.integer(), fc.integer(), fc.uint8Array({ maxLength: 8 }), (t, s, a) => rx.push(t, s, a)));
    assert.ok(digits.every((d) => /^[0-9*#A-D]$/.test(d)));
  });

  it('remembers a bounded number of events', () => {
    const rx = new DtmfReceiver({ memory: 2 });
    const digits: string[] = [];
    rx.on('digit', (d) => digits.push(d.digit));
    const payload = Buffer.from([1, 0x0a, 0, 160]);
    for (const ts of [100, 200, 300, 100]) rx.push(ts, 0, payload);
    assert.deepEqual(digits, ['1', '1', '1', '1'], 'the event at 100 was forgotten after two newer ones');
    rx.reset();
    rx.push(300, 0, payload);
    assert.equal(digits.length, 5);
    assert.throws(() => new DtmfReceiver({ memory: 0 }), /"memory"/);
  });
});
