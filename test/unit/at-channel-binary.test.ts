import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import fc from 'fast-check';
import { AtChannel, AtError } from '../../lib/at/at-channel';
import { LineFramer } from '../../lib/at/line-framer';

/** Everything the framer emits for `chunks`: lines as strings, binary blocks as Buffers. */
async function frame(chunks: Buffer[], arm?: (f: LineFramer) => void): Promise<(string | Buffer)[]> {
  const framer = new LineFramer();
  arm?.(framer);
  const out: (string | Buffer)[] = [];
  framer.on('data', (item: string | Buffer) => out.push(item));
  for (const c of chunks) framer.write(c);
  framer.end();
  await new Promise((resolve) => framer.on('end', resolve));
  return out;
}

/** Cuts `bytes` at the given offsets. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.filter((n) => n > 0 && n < bytes.length))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    parts.push(bytes.subarray(from, p));
    from = p;
  }
  return parts;
}

/** A file whose bytes look like modem output: OK, CR, LF, CONNECT, NUL, a lone CR at the end. */
const NASTY = Buffer.concat([
  Buffer.from('RIFF'),
  Buffer.from('\r\nOK\r\n'),
  Buffer.from([0x00, 0x0d, 0x0a, 0x0a, 0xff, 0xfe]),
  Buffer.from('\r\n+QFDWL: 1,2\r\nCONNECT 5\r\nRING\r\n> '),
  Buffer.from([0xc3, 0x28, 0x0d]),
]);

describe('LineFramer binary mode', function () {
  it('emits the bytes after CONNECT as one Buffer, exactly, then lines again', async function () {
    const wire = Buffer.concat([Buffer.from('\r\n+CLIP: "1",129\r\nCONNECT\r\n'), NASTY, Buffer.from('\r\n+QFDWL: 53,1a2b\r\n\r\nOK\r\n')]);
    const out = await frame([wire], (f) => f.expectBinary(NASTY.length));
    assert.deepEqual(out.slice(0, 2), ['+CLIP: "1",129', 'CONNECT']);
    assert.ok(Buffer.isBuffer(out[2]));
    assert.deepEqual(out[2], NASTY);
    assert.deepEqual(out.slice(3), ['+QFDWL: 53,1a2b', 'OK']);
  });

  it('takes the length from CONNECT <n> when the module gives one', async function () {
    const wire = Buffer.concat([Buffer.from('\r\nCONNECT 6\r\n'), Buffer.from('OK\r\nOK'), Buffer.from('\r\nOK\r\n')]);
    const out = await frame([wire], (f) => f.expectBinary());
    assert.deepEqual(out, ['CONNECT 6', Buffer.from('OK\r\nOK'), 'OK']);
  });

  it('gives the same result however the bytes are cut into chunks', function () {
    const wire = Buffer.concat([Buffer.from('\r\nCONNECT\r\n'), NASTY, Buffer.from('\r\n+QFDWL: 53,1a2b\r\n\r\nOK\r\n')]);
    return fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: wire.length - 1 }), { maxLength: 30 }), async (points) => {
        const out = await frame(cut(wire, points), (f) => f.expectBinary(NASTY.length));
        assert.deepEqual(out, ['CONNECT', NASTY, '+QFDWL: 53,1a2b', 'OK']);
      }),
      { numRuns: 200 },
    );
  });

  it('byte by byte, with the CR LF after CONNECT split', async function () {
    const wire = Buffer.concat([Buffer.from('CONNECT\r\n'), NASTY, Buffer.from('\r\nOK\r\n')]);
    const out = await frame(cut(wire, [...wire.keys()]), (f) => f.expectBinary(NASTY.length));
    assert.deepEqual(out, ['CONNECT', NASTY, 'OK']);
  });

  it('a data block that starts with LF after a bare-LF CONNECT keeps that LF', async function () {
    const out = await frame([Buffer.from('CONNECT\n\nAB\r\nOK\r\n')], (f) => f.expectBinary(3));
    assert.deepEqual(out, ['CONNECT', Buffer.from('\nAB'), 'OK']);
  });

  it('is off unless armed: CONNECT and what follows are lines', async function () {
    const out = await frame([Buffer.from('CONNECT\r\nOK\r\n')]);
    assert.deepEqual(out, ['CONNECT', 'OK']);
  });

  it('a bare CONNECT with no length known leaves binary mode (text again)', async function () {
    const out = await frame([Buffer.from('CONNECT\r\nABC\r\nOK\r\n')], (f) => f.expectBinary());
    assert.deepEqual(out, ['CONNECT', 'ABC', 'OK']);
  });

  it('CONNECT 0 gives an empty block', async function () {
    const out = await frame([Buffer.from('CONNECT 0\r\nOK\r\n')], (f) => f.expectBinary());
    assert.deepEqual(out, ['CONNECT 0', Buffer.alloc(0), 'OK']);
  });

  it('cancelBinary() returns to lines; an unfinished block is dropped at the end of input', async function () {
    const cancelled = await frame([Buffer.from('X\r\n')], (f) => {
      f.expectBinary(10);
      f.cancelBinary();
    });
    assert.deepEqual(cancelled, ['X']);
    const cutShort = await frame([Buffer.from('CONNECT\r\nABC')], (f) => f.expectBinary(10));
    assert.deepEqual(cutShort, ['CONNECT']);
  });

  it('refuses a length that is not a whole number in range', function () {
    const f = new LineFramer();
    assert.throws(() => f.expectBinary(-1), TypeError);
    assert.throws(() => f.expectBinary(1.5), TypeError);
  });
});

/** A fake module whose answers are written as raw bytes, cut into chunks of `chunkSize`. */
class BinaryModem {
  readonly toChannel = new PassThrough();
  readonly fromChannel = new PassThrough();
  readonly port: Duplex = Duplex.from({ readable: this.toChannel, writable: this.fromChannel });
  readonly commands: string[] = [];
  private pending = '';

  constructor(
    answer: (command: string) => Buffer | undefined,
    chunkSize = 7,
  ) {
    this.fromChannel.on('data', (chunk: Buffer) => {
      this.pending += chunk.toString('latin1');
      let i: number;
      while ((i = this.pending.indexOf('\r')) >= 0) {
        const cmd = this.pending.slice(0, i);
        this.pending = this.pending.slice(i + 1);
        this.commands.push(cmd);
        const reply = answer(cmd);
        if (!reply) continue;
        setImmediate(() => {
          for (let at = 0; at < reply.length; at += chunkSize) this.toChannel.write(reply.subarray(at, at + chunkSize));
        });
      }
    });
  }
}

describe('AtChannel binary commands', function () {
  let channel: AtChannel | null = null;
  afterEach(() => channel?.close());

  const download = (file: Buffer, trailer = `\r\n+QFDWL: ${file.length},0\r\n\r\nOK\r\n`) =>
    Buffer.concat([Buffer.from('\r\nCONNECT\r\n'), file, Buffer.from(trailer)]);

  it('returns the raw bytes, the CONNECT and the info lines of the command', async function () {
    const modem = new BinaryModem((c) => (c === 'AT+QFDWL="a.wav"' ? download(NASTY) : undefined));
    channel = new AtChannel(modem.port);
    const urcs: string[] = [];
    channel.on('urc', (l: string) => urcs.push(l));
    const r = await channel.send('AT+QFDWL="a.wav"', { binary: { length: NASTY.length }, expect: ['+QFDWL:'], timeoutMs: 2000 });
    assert.deepEqual(r.data, NASTY);
    assert.deepEqual(r.lines, ['CONNECT', `+QFDWL: ${NASTY.length},0`]);
    assert.equal(r.final, 'OK');
    assert.deepEqual(urcs, [], 'no byte of the file was taken for a URC');
    assert.deepEqual(modem.commands, ['AT+QFDWL="a.wav"']);
  });

  it('a URC before CONNECT still reaches its handler; the next command works as usual', async function () {
    const modem = new BinaryModem((c) => {
      if (c === 'AT+QFDWL="b"') return Buffer.concat([Buffer.from('\r\nRING\r\n'), download(Buffer.from('OK\r\n'))]);
      if (c === 'AT') return Buffer.from('\r\nOK\r\n');
      return undefined;
    }, 3);
    channel = new AtChannel(modem.port);
    const rings: string[] = [];
    channel.onUrc('RING', (l) => rings.push(l));
    const r = await channel.send('AT+QFDWL="b"', { binary: { length: 4 }, expect: ['+QFDWL:'] });
    assert.deepEqual(r.data, Buffer.from('OK\r\n'));
    assert.deepEqual(rings, ['RING']);
    const next = await channel.send('AT');
    assert.equal(next.final, 'OK');
    assert.equal(next.data, undefined);
  });

  it('reads CONNECT <n> when the command gives no length', async function () {
    const modem = new BinaryModem((c) =>
      c === 'AT+QFREAD=1,4' ? Buffer.from('\r\nCONNECT 4\r\n\r\n\r\n\r\nOK\r\n') : undefined,
    );
    channel = new AtChannel(modem.port);
    const r = await channel.send('AT+QFREAD=1,4', { binary: {} });
    assert.deepEqual(r.data, Buffer.from('\r\n\r\n'));
    assert.deepEqual(r.lines, ['CONNECT 4']);
  });

  it('a module that fails the command leaves no binary mode behind', async function () {
    const modem = new BinaryModem((c) => {
      if (c === 'AT+QFDWL="missing"') return Buffer.from('\r\n+CME ERROR: 405\r\n');
      if (c === 'AT+X') return Buffer.from('\r\nCONNECT\r\nOK\r\n');
      return undefined;
    });
    channel = new AtChannel(modem.port);
    await assert.rejects(channel.send('AT+QFDWL="missing"', { binary: { length: 10 } }), (e: AtError) => e.cmeCode === 405);
    const urcs: string[] = [];
    channel.on('urc', (l: string) => urcs.push(l));
    await channel.send('AT+X');
    assert.deepEqual(urcs, ['CONNECT'], 'a later CONNECT is an ordinary line');
  });

  it('a transfer that stops half way times out, resynchronises, and the channel goes on', async function () {
    let phase = 0;
    const modem = new BinaryModem((c) => {
      if (c === 'AT+QFDWL="big"') return Buffer.from('\r\nCONNECT\r\nonly a part');
      if (c === 'AT') return Buffer.from(phase++ === 0 ? '\r\nOK\r\n' : '\r\nOK\r\n');
      return undefined;
    });
    channel = new AtChannel(modem.port, { resyncQuietMs: 10 });
    await assert.rejects(channel.send('AT+QFDWL="big"', { binary: { length: 1000 }, timeoutMs: 100 }), (e: AtError) => e.kind === 'timeout');
    const r = await channel.send('AT');
    assert.equal(r.final, 'OK');
  });

  it('refuses a bad binary option before anything is sent', async function () {
    const modem = new BinaryModem(() => undefined);
    channel = new AtChannel(modem.port);
    await assert.rejects(channel.send('AT+QFDWL="x"', { binary: { length: -5 } }), TypeError);
    await assert.rejects(channel.send('AT+QFDWL="x"', { binary: 7 as unknown as { length: number } }), TypeError);
    assert.deepEqual(modem.commands, []);
  });
});
