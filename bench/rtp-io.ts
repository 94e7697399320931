/**
 * What RTP socket I/O alone costs a media thread: `node dist/bench/rtp-io.js [--sockets 500] [--seconds 10]`
 * after `npm run build` (`npm run bench:rtp-io`).
 *
 * N UDP sockets on 127.0.0.1, as N calls' RTP ports: each receives a 172-byte packet every 20 ms from a peer
 * (a child process, one socket, the sends spread over 10 phases 2 ms apart, as bench/sip-load's RTP peer) and
 * sends one every 20 ms on one timer; nothing else (no decoding, no recording). The same three loads (send
 * only, receive only, both) through Node's `dgram` events (the reference) and through the batched I/O
 * (lib/media-engine/native-rtp-io.ts: drained once per tick, one `sendto` per packet), back to back in this
 * process; the figure is this process's CPU (user and system, % of one core) and the packets it received.
 * Then what one socket attached and given back costs while the others stay attached (a call set up and
 * torn down beside the ones up).
 */
import dgram from 'node:dgram';
import { fork } from 'node:child_process';
import os from 'node:os';
import { loadNativeRtpIo, NativeRtpIo } from '../lib/media-engine/native-rtp-io';

const PACKET = 172;
const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new TypeError(`--${name} takes a positive number`);
  return v;
};

if (process.argv[2] === '--peer') {
  // The load: one socket sending to every port it is given, 50 packets a second each, in 10 phases.
  const s = dgram.createSocket({ type: 'udp4', sendBufferSize: 8 << 20 });
  const pkt = Buffer.alloc(PACKET, 0x80);
  let ports: number[] = [];
  let timer: NodeJS.Timeout | null = null;
  s.bind(0, '127.0.0.1', () => {
    // What the measured side sends here is never read where the batched I/O can stop dgram reading
    // it (the kernel drops it once the buffer is full): the peer's time goes to sending on time.
    loadNativeRtpIo().io?.attach(s, () => undefined);
    process.send?.({ port: s.address().port });
  });
  process.on('message', (m: { ports?: number[]; stop?: boolean }) => {
    if (m.ports) {
      ports = m.ports;
      let phase = 0;
      const start = performance.now();
      let step = 0;
      const tick = (): void => {
        for (let i = phase; i < ports.length; i += 10) s.send(pkt, ports[i], '127.0.0.1');
        phase = (phase + 1) % 10;
        step++;
        timer = setTimeout(tick, Math.max(0, start + step * 2 - performance.now()));
      };
      tick();
    }
    if (m.stop && timer) clearTimeout(timer);
  });
  process.on('disconnect', () => process.exit(0));
} else {
  void main();
}

type Mode = 'send' | 'receive' | 'both';

async function main(): Promise<void> {
  const sockets = opt('sockets', 500);
  const seconds = opt('seconds', 10);
  const native = loadNativeRtpIo();
  console.log(`bench:rtp-io — ${os.cpus().length} cores, ${os.cpus()[0]?.model.trim()}, Node ${process.version}; ${sockets} sockets, 50 packets a second each way, ${seconds} s a row`);
  if (!native.io) console.log(`the batched I/O is not available (${native.reason}): dgram rows only`);
  const rows: string[] = [];
  for (const mode of ['send', 'receive', 'both'] as Mode[]) {
    for (const io of native.io ? [null, native.io] : [null]) {
      const r = await run(sockets, seconds, mode, io);
      rows.push(`| ${mode} | ${io ? 'batched (native/rtp-io)' : 'dgram (reference)'} | ${r.user.toFixed(1)} | ${r.system.toFixed(1)} | ${(r.user + r.system).toFixed(1)} | ${r.received} |`);
      console.log(rows[rows.length - 1]);
    }
  }
  console.log('\n| load | I/O | user (% of a core) | system | total | packets received |\n|---|---|---|---|---|---|\n' + rows.join('\n'));
  if (native.io) {
    // Calls come and go beside the ones up: one socket attached and given back, the others staying.
    const c = await churn(sockets, native.io, 2000);
    console.log(`\none socket attached and detached (${native.io.mode}) beside ${sockets} attached: ${c.cpuUs.toFixed(1)} µs of CPU, ${c.wallUs.toFixed(1)} µs of wall time each time (2000 times)`);
  }
}

/** CPU and wall time per attach + detach of one socket while `n` others stay attached (µs). */
async function churn(n: number, io: NativeRtpIo, times: number): Promise<{ cpuUs: number; wallUs: number }> {
  const socks = await Promise.all(
    Array.from({ length: n + 1 }, () => new Promise<dgram.Socket>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.bind(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const [one, ...others] = socks;
  const wires = others.map((s) => io.attach(s, () => undefined));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < times; i++) io.attach(one, () => undefined)?.detach();
  const wallUs = ((performance.now() - t0) * 1000) / times;
  const cpu = process.cpuUsage(cpu0);
  for (const w of wires) w?.detach();
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return { cpuUs: (cpu.user + cpu.system) / times, wallUs };
}

async function run(n: number, seconds: number, mode: Mode, io: NativeRtpIo | null): Promise<{ user: number; system: number; received: number }> {
  const peer = fork(__filename, ['--peer'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const peerPort = await new Promise<number>((resolve) => peer.once('message', (m: { port: number }) => resolve(m.port)));
  const socks = await Promise.all(
    Array.from({ length: n }, () => new Promise<dgram.Socket>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.bind(0, '127.0.0.1', () => resolve(s));
    })),
  );
  let received = 0;
  const count = (): void => {
    received++;
  };
  const wires = socks.map((s) => (io ? io.attach(s, count) : (s.on('message', count), null)));
  const pkt = Buffer.alloc(PACKET, 0x80);
  if (mode !== 'send') peer.send({ ports: socks.map((s) => s.address().port) });
  await new Promise((r) => setTimeout(r, 500)); // settle
  received = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let step = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      io?.drain();
      if (mode !== 'receive') for (let i = 0; i < n; i++) {
        const w = wires[i];
        if (w) w.send(pkt, peerPort, '127.0.0.1');
        else socks[i].send(pkt, peerPort, '127.0.0.1');
      }
      step++;
      if (performance.now() - t0 >= seconds * 1000) return resolve();
      setTimeout(tick, Math.max(0, t0 + step * 20 - performance.now()));
    };
    tick();
  });
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  peer.send({ stop: true });
  peer.disconnect();
  for (const w of wires) w?.detach();
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return { user: (cpu.user / 10) / wall, system: (cpu.system / 10) / wall, received };
}
