/**
 * test/helpers/pcap-capture.ts: a libpcap file read back, and the send timing it gives (each packet
 * against its stream's grid; late packets put down to a tick that started late or to lateness within
 * a tick; packets due but never sent). The capture itself (tcpdump on lo) is exercised by
 * test/integration/media-stall.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPcap, rtpSendTiming } from '../helpers/pcap-capture';
import { PcapDatagram, writePcap } from '../helpers/pcap-writer';

/** An RTP packet of 160 PCMA samples: SSRC, sequence number and timestamp as given. */
function rtp(ssrc: number, seq: number, ts: number): Buffer {
  const b = Buffer.alloc(12 + 160);
  b[0] = 0x80;
  b[1] = 8;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  return b;
}

describe('pcap capture: kernel timestamps read back into send timing (test/helpers/pcap-capture.ts)', function () {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'pcap-capture-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('late packets against their stream\'s grid, split into ticks that started late and lateness within a tick, one group per clock', function () {
    const T = 1_700_000_000_000; // ms since the epoch, as the kernel stamps
    const packets: PcapDatagram[] = [];
    // Streams 1 and 2 share a clock (one burst per 20 ms tick: 1 at +0.1 ms, 2 at +0.3 ms); stream 3
    // is another thread's clock, 10 ms out of phase. Tick 4 of the first clock wakes 7 ms late; in
    // tick 7 stream 2 leaves 6 ms after stream 1; stream 2 ends after tick 8.
    for (let k = 0; k < 10; k++) {
      const wake = k === 4 ? 7 : 0;
      packets.push({ timeMs: T + 20 * k + 0.1 + wake, payload: rtp(1, 100 + k, 5000 + 160 * k) });
      if (k !== 9) packets.push({ timeMs: T + 20 * k + 0.3 + wake + (k === 7 ? 6 : 0), payload: rtp(2, 7 + k, 90_000 + 160 * k) });
      packets.push({ timeMs: T + 20 * k + 10.1, payload: rtp(3, k, 0xfffff000 + 160 * k) }); // its timestamp wraps
    }
    packets.sort((a, b) => a.timeMs - b.timeMs);
    const file = join(dir, 'c.pcap');
    writeFileSync(file, writePcap(packets, { srcPort: 30000, dstPort: 40000 }));

    const read = readPcap(file);
    assert.equal(read.length, 29);
    assert.ok(Math.abs(read[0].timeMs - (T + 0.1)) < 0.002, `the first packet's time (${read[0].timeMs - T} ms after T)`);
    assert.deepEqual([read[0].srcPort, read[0].dstPort, read[0].payload.length], [30000, 40000, 172]);

    const t = rtpSendTiming(read, 5);
    assert.equal(t.streams, 3);
    assert.equal(t.packets, 29);
    assert.equal(t.expected, 29, 'stream 2 ends at tick 8: nothing is due after its last packet');
    assert.equal(t.missing, 0);
    assert.equal(t.lateness.overLimit, 3, 'stream 1 and 2 in tick 4 (7 ms), stream 2 in tick 7 (6 ms)');
    assert.ok(Math.abs(t.lateness.maxMs - 7) < 0.01, `max ${t.lateness.maxMs}`);
    assert.equal(t.lateFromStart, 2, 'tick 4 started 7 ms late');
    assert.equal(t.lateWithinTick, 1, 'tick 7 started in time, stream 2 left 6 ms into it');
    assert.ok(Math.abs(t.tickStart.maxMs - 7) < 0.01, `the latest tick start ${t.tickStart.maxMs}`);
    assert.ok(Math.abs(t.tickSpan.maxMs - 6.2) < 0.01, `the longest tick ${t.tickSpan.maxMs}`);
    assert.equal(t.tickStart.samples, 20, 'ten ticks of each clock');
    assert.ok(Math.abs(t.worst[0].lateMs - 7) < 0.01);
  });

  it('a packet skipped inside a stream (its timestamp jumps two periods) is counted missing', function () {
    const T = 1_700_000_000_000;
    const packets = [0, 1, 3, 4].map((k) => ({ timeMs: T + 20 * k, payload: rtp(9, k, 160 * k) }));
    const file = join(dir, 's.pcap');
    writeFileSync(file, writePcap(packets));
    const t = rtpSendTiming(readPcap(file), 5);
    assert.deepEqual([t.packets, t.expected, t.missing, t.lateness.overLimit], [4, 5, 1, 0]);
  });

  it('a file that is not a capture is refused, naming it', function () {
    const file = join(dir, 'x.pcap');
    writeFileSync(file, Buffer.alloc(64, 7));
    assert.throws(() => readPcap(file), new RegExp(`^Error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a pcap file`));
  });
});
