import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Duplex, PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { Logger } from '../../lib/backend';
import { AtChannel, AtChannelOptions, AtCommandOptions, AtError, AtResponse, cmeErrorCode } from '../../lib/at/at-channel';

/** What the fake modem sends: text or bytes, and numbers for pauses in milliseconds. */
type Reply = readonly (string | Buffer | number)[];

/**
 * A fake modem made of two PassThrough streams: the channel writes into `fromChannel` and reads
 * `toChannel`. `answer` maps each input the modem receives (a command without its CR; data with its
 * Ctrl-Z; a lone ESC) to what it sends back, written chunk by chunk through `chunker`.
 */
class FakeModem {
  readonly toChannel = new PassThrough();
  readonly fromChannel = new PassThrough();
  readonly port: Duplex = Duplex.from({ readable: this.toChannel, writable: this.fromChannel });
  /** Every input received, in order. */
  readonly inputs: string[] = [];
  /** Inputs (`→ AT`) and the chunks sent back (`← OK`), in the order they happened. */
  readonly transcript: string[] = [];
  chunker: (bytes: Buffer) => Buffer[] = (bytes) => [bytes];
  private pending = '';
  private sending: Promise<void> = Promise.resolve();

  constructor(public answer: (input: string) => Reply | undefined = () => undefined) {
    this.fromChannel.on('data', (chunk: Buffer) => {
      this.pending += chunk.toString('utf8');
      for (let m = /[\r\x1a\x1b]/.exec(this.pending); m; m = /[\r\x1a\x1b]/.exec(this.pending)) {
        const input = this.pending.slice(0, m[0] === '\r' ? m.index : m.index + 1);
        this.pending = this.pending.slice(m.index + 1);
        this.inputs.push(input);
        this.transcript.push(`→ ${input}`);
        const reply = this.answer(input);
        if (reply) this.send(...reply);
      }
    });
  }

  /** Sends text, bytes and pauses, after whatever is being sent already. */
  send(...parts: (string | Buffer | number)[]): void {
    this.sending = this.sending.then(async () => {
      for (const part of parts) {
        if (typeof part === 'number') {
          await sleep(part);
          continue;
        }
        for (const chunk of this.chunker(Buffer.from(part))) {
          await new Promise((resolve) => setImmediate(resolve));
          this.transcript.push(`← ${chunk.toString('utf8').trim()}`);
          this.toChannel.write(chunk);
        }
      }
    });
  }

  /** Resolves when everything queued with `send` is on its way. */
  async flushed(): Promise<void> {
    await this.sending;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A modem that answers from a table (the value is the whole reply to that input). */
function scripted(table: Record<string, Reply>): FakeModem {
  return new FakeModem((input) => table[input]);
}

class MemoryLog implements Logger {
  readonly lines: string[] = [];
  debug(text: string): void {
    this.lines.push(`debug ${text}`);
  }
  info(text: string): void {
    this.lines.push(`info ${text}`);
  }
  warn(text: string): void {
    this.lines.push(`warn ${text}`);
  }
  error(text: string): void {
    this.lines.push(`error ${text}`);
  }
}

/**
 * Small timers for the tests that time out on purpose (they pass `timeoutMs: SHORT`); the others keep
 * a second, and the quiet period leaves a wide margin over the modem's 10 ms pauses on a busy machine.
 */
const FAST: AtChannelOptions = { defaultTimeoutMs: 1000, resyncTimeoutMs: 50, resyncQuietMs: 60, resyncAttempts: 2 };
const SHORT = 30;

function open(modem: FakeModem, options: AtChannelOptions = {}): AtChannel {
  return new AtChannel(modem.port, { ...FAST, ...options });
}

/** Records every URC the channel hands out. */
function urcs(channel: AtChannel): string[] {
  const seen: string[] = [];
  channel.on('urc', (line: string) => seen.push(line));
  return seen;
}

async function rejection(promise: Promise<unknown>): Promise<AtError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AtError, `expected an AtError, got ${String(err)}`);
    return err;
  }
  assert.fail('the command resolved');
}

describe('AtChannel', () => {
  let channel: AtChannel | undefined;
  afterEach(() => channel?.close());

  describe('commands and responses', () => {
    it('writes the command with CR and resolves on OK', async () => {
      const modem = scripted({ AT: ['\r\nOK\r\n'] });
      channel = open(modem);
      assert.deepEqual(await channel.send('AT'), { command: 'AT', lines: [], final: 'OK' });
      assert.deepEqual(modem.inputs, ['AT']);
    });

    it('claims the lines that start with an expect prefix, and nothing else', async () => {
      const modem = scripted({
        'AT+CLCC': ['\r\n+CLCC: 1,0,0,0,0,"123",129\r\n+CLCC: 2,1,4,0,0,"456",129\r\n+CREG: 1\r\n\r\nOK\r\n'],
      });
      channel = open(modem);
      const seen = urcs(channel);
      const response = await channel.send('AT+CLCC', { expect: ['+CLCC:'] });
      assert.deepEqual(response.lines, ['+CLCC: 1,0,0,0,0,"123",129', '+CLCC: 2,1,4,0,0,"456",129']);
      assert.deepEqual(seen, ['+CREG: 1']);
    });

    it('claims bare lines with expectBare, but never RING, +XXX: lines or a registered URC prefix', async () => {
      const modem = scripted({
        ATI: ['\r\nQuectel\r\nRING\r\nEC25\r\n+CLIP: "123",129\r\nCall Ready\r\nRevision: EC25EFAR06A03M4G\r\n\r\nOK\r\n'],
      });
      channel = open(modem);
      const seen = urcs(channel);
      channel.onUrc('Call Ready', () => {});
      const response = await channel.send('ATI', { expectBare: true });
      assert.deepEqual(response.lines, ['Quectel', 'EC25', 'Revision: EC25EFAR06A03M4G']);
      assert.deepEqual(seen, ['RING', '+CLIP: "123",129', 'Call Ready']);
    });

    it('sends a URC that arrives in the middle of a response to onUrc, not to the command', async () => {
      const modem = scripted({
        'AT+CLCC': ['\r\n+CLCC: 1,1,4,0,0,"123",129\r\n', '\r\n^DSCI: 1,1,4,0,123,129\r\n', '\r\n+CLCC: 2,1,5,0,0,"456",129\r\n\r\nOK\r\n'],
      });
      channel = open(modem);
      const dsci: string[] = [];
      channel.onUrc('^DSCI:', (line) => dsci.push(line));
      const response = await channel.send('AT+CLCC', { expect: ['+CLCC:'] });
      assert.deepEqual(response.lines, ['+CLCC: 1,1,4,0,0,"123",129', '+CLCC: 2,1,5,0,0,"456",129']);
      assert.deepEqual(dsci, ['^DSCI: 1,1,4,0,123,129']);
    });

    it('drops the echo of the command', async () => {
      const modem = scripted({ 'AT+CSQ': ['AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n'] });
      channel = open(modem);
      const seen = urcs(channel);
      assert.deepEqual((await channel.send('AT+CSQ', { expect: ['+CSQ:'] })).lines, ['+CSQ: 20,99']);
      assert.deepEqual(seen, []);
    });

    it('rejects on ERROR, with the final result and the lines claimed so far', async () => {
      const modem = scripted({ 'AT+CCFC=0,2': ['\r\n+CCFC: 0,1\r\nERROR\r\n'] });
      channel = open(modem);
      const err = await rejection(channel.send('AT+CCFC=0,2', { expect: ['+CCFC:'] }));
      assert.equal(err.kind, 'error');
      assert.equal(err.final, 'ERROR');
      assert.equal(err.command, 'AT+CCFC=0,2');
      assert.deepEqual(err.lines, ['+CCFC: 0,1']);
      assert.equal(err.cmeCode, undefined);
    });

    it('parses the code of +CME ERROR: n, and keeps +CMS ERROR as the final', async () => {
      const modem = scripted({ 'AT+CPIN?': ['\r\n+CME ERROR: 10\r\n'], 'AT+CMGS=1': ['\r\n+CMS ERROR: 500\r\n'] });
      channel = open(modem);
      const cme = await rejection(channel.send('AT+CPIN?', { expect: ['+CPIN:'] }));
      assert.equal(cme.kind, 'error');
      assert.equal(cme.final, '+CME ERROR: 10');
      assert.equal(cme.cmeCode, 10);
      const cms = await rejection(channel.send('AT+CMGS=1'));
      assert.equal(cms.final, '+CMS ERROR: 500');
      assert.equal(cms.cmeCode, undefined);
    });

    it("uses the 'dial' finals only for a command that asks for them", async () => {
      const modem = scripted({
        'ATD123;': ['\r\nBUSY\r\n'],
        'ATD456;': ['\r\nCONNECT 9600\r\n'],
        'AT+CLCC': ['\r\nNO CARRIER\r\n\r\nOK\r\n'],
      });
      channel = open(modem);
      const seen = urcs(channel);
      const busy = await rejection(channel.send('ATD123;', { finals: 'dial' }));
      assert.equal(busy.kind, 'error');
      assert.equal(busy.final, 'BUSY');
      assert.equal((await channel.send('ATD456;', { finals: 'dial' })).final, 'CONNECT 9600');
      assert.equal((await channel.send('AT+CLCC', { expect: ['+CLCC:'] })).final, 'OK');
      assert.deepEqual(seen, ['NO CARRIER']);
    });

    it("'answer' (ATA) owns NO CARRIER only; 'basic' (AT+CHLD, AT+CHUP) owns no call progress result", async () => {
      const modem = scripted({
        ATA: ['\r\nBUSY\r\n\r\nNO CARRIER\r\n'],
        'AT+CHLD=2': ['\r\nNO CARRIER\r\n\r\nOK\r\n'],
        'AT+CHUP': ['\r\nBUSY\r\n\r\nERROR\r\n'],
      });
      channel = open(modem);
      const seen = urcs(channel);
      const gone = await rejection(channel.send('ATA', { finals: 'answer' }));
      assert.equal(gone.final, 'NO CARRIER');
      assert.equal((await channel.send('AT+CHLD=2')).final, 'OK');
      assert.equal((await rejection(channel.send('AT+CHUP'))).final, 'ERROR');
      assert.deepEqual(seen, ['BUSY', 'NO CARRIER', 'BUSY']);
    });

    it('writes the data, then Ctrl-Z, when the "> " prompt arrives', async () => {
      const modem = scripted({ 'AT+CMGS="123"': ['\r\n> '], 'Grüße\x1a': ['\r\n+CMGS: 7\r\n\r\nOK\r\n'] });
      channel = open(modem);
      const response = await channel.send('AT+CMGS="123"', { data: 'Grüße', expect: ['+CMGS:'] });
      assert.deepEqual(response.lines, ['+CMGS: 7']);
      assert.deepEqual(modem.inputs, ['AT+CMGS="123"', 'Grüße\x1a']);
    });

    it('cancels a prompt that no command has data for with ESC', async () => {
      const modem = scripted({ 'AT+CMGS="123"': ['\r\n> '], '\x1b': ['\r\nERROR\r\n'] });
      channel = open(modem);
      const err = await rejection(channel.send('AT+CMGS="123"'));
      assert.equal(err.final, 'ERROR');
      assert.deepEqual(modem.inputs, ['AT+CMGS="123"', '\x1b']);
    });

    it('sends queued commands in order, one in flight at a time', async () => {
      const modem = new FakeModem((input) => [`\r\n+R: ${input}\r\n`, 5, 'OK\r\n']);
      channel = open(modem);
      const commands = ['AT+A', 'AT+B', 'AT+C', 'AT+D'];
      const done: string[] = [];
      const pending = commands.map((c) =>
        channel!.send(c, { expect: ['+R:'] }).then((r) => {
          done.push(r.command);
          return r;
        }),
      );
      assert.equal(channel.busy, true);
      assert.equal(channel.queueLength, 3);
      const responses = await Promise.all(pending);
      assert.deepEqual(done, commands);
      assert.deepEqual(
        responses.map((r) => r.lines),
        commands.map((c) => [`+R: ${c}`]),
      );
      // The next command went out only after the final result of the one before.
      assert.deepEqual(
        modem.transcript,
        commands.flatMap((c) => [`→ ${c}`, `← +R: ${c}`, '← OK']),
      );
      assert.equal(channel.busy, false);
      assert.equal(channel.queueLength, 0);
    });

    it('refuses a command that would inject a second one, with a TypeError, and sends nothing', async () => {
      const modem = scripted({});
      channel = open(modem);
      for (const bad of ['', 'AT\rAT+CFUN=0', 'AT\n', 'AT\x1a', 42 as unknown as string]) {
        await assert.rejects(channel.send(bad), { name: 'TypeError', message: /"command"/ });
      }
      await assert.rejects(channel.send('AT', { timeoutMs: -1 }), { name: 'TypeError', message: /"timeoutMs"/ });
      await assert.rejects(channel.send('AT', { expect: [''] }), { name: 'TypeError', message: /"expect"/ });
      await assert.rejects(channel.send('AT', { data: 'a\x1ab' }), { name: 'TypeError', message: /"data"/ });
      await assert.rejects(channel.send('AT', { finals: 'x' as 'dial' }), { name: 'TypeError', message: /"finals"/ });
      await modem.flushed();
      assert.deepEqual(modem.inputs, []);
    });
  });

  describe('unsolicited result codes', () => {
    it('dispatches by the longest matching prefix, and unsubscribes', async () => {
      const modem = new FakeModem();
      channel = open(modem);
      const got: string[] = [];
      const unknown: string[] = [];
      channel.on('unknown-urc', (line: string) => unknown.push(line));
      channel.onUrc('+QIND:', (line) => got.push(`qind ${line}`));
      const off = channel.onUrc('+QIND: "ccinfo"', (line) => got.push(`ccinfo ${line}`));
      channel.onUrc('RING', (line) => got.push(`ring ${line}`));
      const seen = urcs(channel);
      modem.send('\r\n+QIND: "ccinfo",1,0,4,0,0,"123",129\r\n\r\n+QIND: SMS DONE\r\nRING\r\n+QSTK: 1\r\n');
      await modem.flushed();
      off();
      off();
      modem.send('\r\n+QIND: "ccinfo",1,0,-1,0,0,"123",129\r\n');
      await modem.flushed();
      assert.deepEqual(got, [
        'ccinfo +QIND: "ccinfo",1,0,4,0,0,"123",129',
        'qind +QIND: SMS DONE',
        'ring RING',
        'qind +QIND: "ccinfo",1,0,-1,0,0,"123",129',
      ]);
      assert.deepEqual(unknown, ['+QSTK: 1']);
      assert.equal(seen.length, 5);
    });

    it('drops a stray OK or ERROR when no command is in flight', async () => {
      const modem = new FakeModem();
      const log = new MemoryLog();
      channel = open(modem, { log });
      const seen = urcs(channel);
      modem.send('\r\nOK\r\n\r\n+CME ERROR: 3\r\n\r\nRING\r\n');
      await modem.flushed();
      assert.deepEqual(seen, ['RING']);
      assert.ok(log.lines.some((l) => /^debug stray OK/.test(l)));
    });

    it('survives a URC handler that throws, and logs it at warn', async () => {
      const modem = scripted({ 'AT+CLCC': ['\r\nRING\r\n+CLCC: 1,1,4,0,0,"1",129\r\nOK\r\n'] });
      const log = new MemoryLog();
      channel = open(modem, { log });
      const rings: string[] = [];
      channel.onUrc('RING', () => {
        throw new Error('handler bug');
      });
      channel.onUrc('RING', (line) => rings.push(line));
      channel.on('urc', () => {
        throw new Error('listener bug');
      });
      const response = await channel.send('AT+CLCC', { expect: ['+CLCC:'] });
      assert.deepEqual(response.lines, ['+CLCC: 1,1,4,0,0,"1",129']);
      assert.deepEqual(rings, ['RING']);
      assert.ok(log.lines.some((l) => l.startsWith('warn ') && l.includes('handler bug')));
      assert.ok(log.lines.some((l) => l.startsWith('warn ') && l.includes('listener bug')));
    });

    it('never throws or emits error on garbage bytes, and they do not change the outcome', async () => {
      const modem = scripted({
        'AT+CSQ': [Buffer.from([0xff, 0x00, 0xfe, 0x0d, 0x0a, 0xc3, 0x0d, 0x0a, 0x80, 0x81]), '\r\n+CSQ: 9,9\r\n\r\nOK\r\n'],
      });
      channel = open(modem);
      const response = await channel.send('AT+CSQ', { expect: ['+CSQ:'] });
      assert.deepEqual(response, { command: 'AT+CSQ', lines: ['+CSQ: 9,9'], final: 'OK' });
    });
  });

  describe('timeouts and resynchronisation', () => {
    it('a late reply is never taken for the next command\'s reply', async () => {
      // AT+SLOW answers only after the channel gave up on it: its late +SLOW: line and OK arrive while
      // the channel resyncs, then the OK to the channel's AT; a RING in between must survive. (One
      // chunk, so that no timer can run between the lines, however busy the machine.)
      let resyncs = 0;
      const modem = new FakeModem((input) => {
        if (input === 'AT') {
          resyncs++;
          return ['\r\n+SLOW: 1\r\n\r\nOK\r\n\r\nRING\r\n\r\nOK\r\n'];
        }
        if (input === 'AT+CSQ') return ['\r\n+CSQ: 20,99\r\n\r\nOK\r\n'];
        return undefined;
      });
      const log = new MemoryLog();
      channel = open(modem, { log });
      const seen = urcs(channel);
      const slow = channel.send('AT+SLOW', { expect: ['+SLOW:'], timeoutMs: SHORT });
      const next = channel.send('AT+CSQ', { expect: ['+CSQ:'] });
      const err = await rejection(slow);
      assert.equal(err.kind, 'timeout');
      assert.deepEqual(await next, { command: 'AT+CSQ', lines: ['+CSQ: 20,99'], final: 'OK' });
      assert.deepEqual(modem.inputs, ['AT+SLOW', 'AT', 'AT+CSQ']);
      assert.equal(resyncs, 1);
      assert.deepEqual(seen, ['RING']);
      assert.ok(log.lines.some((l) => /^debug stale \+SLOW: 1/.test(l)));
      assert.ok(log.lines.some((l) => /^debug stale OK/.test(l)));
    });

    it('stays quiet while late finals keep arriving, so none of them answers the next command', async () => {
      const modem = new FakeModem((input) => {
        // Each final comes within the quiet period of the one before, but the last one after the
        // first one's (the margins are wide: these are real timers on a possibly busy machine).
        if (input === 'AT') return ['\r\nOK\r\n', 200, '\r\nOK\r\n', 200, '\r\nERROR\r\n'];
        return input === 'AT+CSQ' ? ['\r\n+CSQ: 20,99\r\n\r\nOK\r\n'] : undefined;
      });
      channel = open(modem, { resyncQuietMs: 300 });
      const slow = channel.send('AT+SLOW', { timeoutMs: SHORT });
      const next = channel.send('AT+CSQ', { expect: ['+CSQ:'] });
      assert.equal((await rejection(slow)).kind, 'timeout');
      assert.deepEqual(await next, { command: 'AT+CSQ', lines: ['+CSQ: 20,99'], final: 'OK' });
    });

    it('resyncs with AT before the next command, and retries AT until OK', async () => {
      let probes = 0;
      const modem = new FakeModem((input) => {
        if (input === 'AT') return ++probes === 2 ? ['\r\nOK\r\n'] : undefined;
        return input === 'AT+CREG?' ? ['\r\n+CREG: 0,1\r\n\r\nOK\r\n'] : undefined;
      });
      channel = open(modem, { resyncAttempts: 3 });
      const first = channel.send('AT+HANG', { timeoutMs: SHORT });
      const second = channel.send('AT+CREG?', { expect: ['+CREG:'] });
      assert.equal((await rejection(first)).kind, 'timeout');
      assert.deepEqual((await second).lines, ['+CREG: 0,1']);
      assert.deepEqual(modem.inputs, ['AT+HANG', 'AT', 'AT', 'AT+CREG?']);
    });

    it('takes ERROR to its AT probe as an answer (a module that refuses a bare AT is still talking)', async () => {
      const modem = new FakeModem((input) => {
        if (input === 'AT') return ['\r\nERROR\r\n'];
        return input === 'AT+CREG?' ? ['\r\n+CREG: 0,1\r\n\r\nOK\r\n'] : undefined;
      });
      channel = open(modem, { resyncAttempts: 2 });
      let unresponsive = 0;
      channel.on('unresponsive', () => unresponsive++);
      const first = channel.send('AT+HANG', { timeoutMs: SHORT });
      const second = channel.send('AT+CREG?', { expect: ['+CREG:'] });
      assert.equal((await rejection(first)).kind, 'timeout');
      assert.deepEqual((await second).lines, ['+CREG: 0,1']);
      assert.deepEqual(modem.inputs, ['AT+HANG', 'AT', 'AT+CREG?']);
      assert.equal(unresponsive, 0);
    });

    it('becomes unresponsive when AT gets no OK: queued and later commands reject', async () => {
      const modem = new FakeModem();
      channel = open(modem, { resyncAttempts: 2 });
      let unresponsive = 0;
      channel.on('unresponsive', () => unresponsive++);
      const first = channel.send('AT+X', { timeoutMs: SHORT });
      const queued = channel.send('AT+Y');
      assert.equal((await rejection(first)).kind, 'timeout');
      const err = await rejection(queued);
      assert.equal(err.kind, 'unresponsive');
      assert.equal(err.command, 'AT+Y');
      assert.equal(unresponsive, 1);
      assert.equal((await rejection(channel.send('AT'))).kind, 'unresponsive');
      await modem.flushed();
      assert.deepEqual(modem.inputs, ['AT+X', 'AT', 'AT']);
      assert.equal(channel.busy, false);
    });
  });

  describe('closing', () => {
    it('rejects the command in flight and the queued ones, and every later one, with closed', async () => {
      const modem = new FakeModem();
      channel = open(modem);
      const inFlight = channel.send('AT+A');
      const queued = channel.send('AT+B');
      channel.close();
      channel.close();
      assert.equal((await rejection(inFlight)).kind, 'closed');
      assert.equal((await rejection(queued)).kind, 'closed');
      assert.equal((await rejection(channel.send('AT'))).kind, 'closed');
      assert.equal(channel.busy, false);
    });

    it('stops reading but leaves the port open for its owner', async () => {
      const modem = new FakeModem();
      channel = open(modem);
      const seen = urcs(channel);
      channel.close();
      assert.equal(modem.port.destroyed, false);
      assert.equal(modem.port.listenerCount('data'), 0);
      assert.equal(modem.port.listenerCount('close'), 0);
      modem.send('\r\nRING\r\n');
      await modem.flushed();
      assert.deepEqual(seen, []);
    });

    it('closes itself when the port ends', async () => {
      const modem = new FakeModem();
      channel = open(modem);
      const pending = channel.send('AT+A');
      const closed = once(channel, 'close');
      modem.toChannel.end();
      await closed;
      assert.equal((await rejection(pending)).kind, 'closed');
    });
  });

  describe('logging', () => {
    it('logs the traffic at debug, and a secret command as <redacted> everywhere', async () => {
      const modem = scripted({
        'AT+CPIN="1234"': ['AT+CPIN="1234"\r\r\nOK\r\n'],
        'AT+CPIN="9999"': ['\r\n+CME ERROR: 16\r\n'],
        'AT+CSQ': ['\r\n+CSQ: 20,99\r\n\r\nOK\r\n'],
      });
      const log = new MemoryLog();
      channel = open(modem, { log });
      const ok = await channel.send('AT+CPIN="1234"', { secret: true });
      assert.equal(ok.command, '<redacted>');
      const err = await rejection(channel.send('AT+CPIN="9999"', { secret: true }));
      assert.equal(err.command, '<redacted>');
      assert.ok(!err.message.includes('9999'));
      await channel.send('AT+CSQ', { expect: ['+CSQ:'] });
      assert.ok(log.lines.every((l) => !l.includes('1234') && !l.includes('9999')));
      assert.ok(log.lines.includes('debug → <redacted>'));
      assert.ok(log.lines.includes('debug → AT+CSQ'));
      assert.ok(log.lines.includes('debug ← +CSQ: 20,99'));
    });
  });

  describe('options', () => {
    for (const [name, value] of [
      ['defaultTimeoutMs', 0],
      ['resyncAttempts', 1.5],
      ['resyncTimeoutMs', Infinity],
      ['resyncQuietMs', -1],
      ['maxLineLength', 1],
    ] as const) {
      it(`refuses ${name}: ${value} with a TypeError that names it`, () => {
        assert.throws(() => new AtChannel(new FakeModem().port, { [name]: value } as AtChannelOptions), {
          name: 'TypeError',
          message: new RegExp(name),
        });
      });
    }

    it('refuses a port that is not a stream', () => {
      assert.throws(() => new AtChannel({} as NodeJS.ReadWriteStream), { name: 'TypeError', message: /"port"/ });
    });
  });

  describe('properties', () => {
    /** One step of a recorded session: the command, its options, and the modem's reply in pieces. */
    interface Step {
      command: string;
      options: AtCommandOptions;
      reply: string[];
      /** The reply to the data written after the prompt, if any. */
      dataReply?: string[];
    }

    const SESSION: readonly Step[] = [
      { command: 'AT+CSQ', options: { expect: ['+CSQ:'] }, reply: ['AT+CSQ\r\r\n', '+CSQ: 20,99\r\n', '\r\nOK\r\n'] },
      {
        command: 'ATI',
        options: { expectBare: true },
        reply: ['\r\nQuectel\r\n', 'EC25\r\n', '\r\nRING\r\n', 'Revision: EC25EFAR06A03M4G\r\n', '\r\nOK\r\n'],
      },
      {
        command: 'AT+CLCC',
        options: { expect: ['+CLCC:'] },
        reply: ['\r\n+CLCC: 1,1,4,0,0,"+4930123",145\r\n', '\r\n+CLIP: "+4930123",145,,,"Jürgen 😀",0\r\n', '\r\nOK\r\n'],
      },
      { command: 'AT+CPIN?', options: { expect: ['+CPIN:'] }, reply: ['\r\n+CME ERROR: 10\r\n'] },
      {
        command: 'AT+CMGS="123"',
        options: { data: 'Grüße', expect: ['+CMGS:'] },
        reply: ['\r\n> '],
        dataReply: ['\r\n+CMGS: 7\r\n', '\r\nOK\r\n'],
      },
      { command: 'ATD+4930123;', options: { finals: 'dial' }, reply: ['\r\n^DSCI: 1,0,2,0,+4930123,145\r\n', '\r\nBUSY\r\n'] },
      { command: 'AT+CHUP', options: {}, reply: ['\r\nNO CARRIER\r\n', '\r\nOK\r\n'] },
    ];

    type Outcome = AtResponse | { kind: string; final?: string; lines: string[]; cmeCode?: number };

    /**
     * Runs the session through a channel, with `noise` (a list of extra reply pieces per step, each
     * inserted before the reply piece of the same index) and a chunker; returns outcomes and URCs.
     */
    async function run(chunker: (bytes: Buffer) => Buffer[], noise: readonly (readonly Buffer[])[] = []) {
      const replies = new Map<string, Reply>();
      SESSION.forEach((step, i) => {
        const extra = noise[i] ?? [];
        const interleave = (pieces: string[]) => pieces.flatMap((p, j) => (j < extra.length ? [extra[j], p] : [p]));
        replies.set(step.command, interleave(step.reply));
        if (step.dataReply) replies.set(`${step.options.data}\x1a`, interleave(step.dataReply));
      });
      const modem = new FakeModem((input) => replies.get(input));
      modem.chunker = chunker;
      const ch = new AtChannel(modem.port, { defaultTimeoutMs: 2000 });
      const seen = urcs(ch);
      ch.onUrc('RING', () => {});
      ch.onUrc('+CLIP:', () => {});
      const outcomes: Outcome[] = await Promise.all(
        SESSION.map((step) =>
          ch.send(step.command, step.options).catch((err: AtError) => ({
            kind: err.kind,
            final: err.final,
            lines: err.lines,
            cmeCode: err.cmeCode,
          })),
        ),
      );
      await modem.flushed();
      ch.close();
      return { outcomes, urcs: seen, inputs: modem.inputs };
    }

    const CRLF = Buffer.from('\r\n');
    const EXPECTED_OUTCOMES: Outcome[] = [
      { command: 'AT+CSQ', lines: ['+CSQ: 20,99'], final: 'OK' },
      { command: 'ATI', lines: ['Quectel', 'EC25', 'Revision: EC25EFAR06A03M4G'], final: 'OK' },
      { command: 'AT+CLCC', lines: ['+CLCC: 1,1,4,0,0,"+4930123",145'], final: 'OK' },
      { kind: 'error', final: '+CME ERROR: 10', lines: [], cmeCode: 10 },
      { command: 'AT+CMGS="123"', lines: ['+CMGS: 7'], final: 'OK' },
      { kind: 'error', final: 'BUSY', lines: [], cmeCode: undefined },
      { command: 'AT+CHUP', lines: [], final: 'OK' },
    ];
    const EXPECTED_URCS = ['RING', '+CLIP: "+4930123",145,,,"Jürgen 😀",0', '^DSCI: 1,0,2,0,+4930123,145', 'NO CARRIER'];

    /** Splits into pieces of the given sizes (used in turn, cycling). */
    function sizes(list: readonly number[]): (bytes: Buffer) => Buffer[] {
      return (bytes) => {
        const pieces: Buffer[] = [];
        for (let at = 0, i = 0; at < bytes.length; i++) {
          const size = list.length === 0 ? bytes.length : list[i % list.length];
          pieces.push(bytes.subarray(at, at + size));
          at += size;
        }
        return pieces;
      };
    }

    it('runs the recorded session to the expected outcomes and URCs', async () => {
      const result = await run((bytes) => [bytes]);
      assert.deepEqual(result.outcomes, EXPECTED_OUTCOMES);
      assert.deepEqual(result.urcs, EXPECTED_URCS);
    });

    it('(a) any chunking of the session yields the same lines, outcomes and URCs', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }), async (list) => {
          const result = await run(sizes(list));
          assert.deepEqual(result.outcomes, EXPECTED_OUTCOMES);
          assert.deepEqual(result.urcs, EXPECTED_URCS);
        }),
        { numRuns: 40 },
      );
    });

    /** Lines that may arrive anywhere without being any command's business. */
    const PROTECTED = /^(OK|ERROR|CONNECT|NO CARRIER|BUSY|NO ANSWER|NO DIALTONE|\+CME ERROR:|\+CMS ERROR:|\+CSQ:|\+CLCC:|\+CPIN:|\+CMGS:)/;
    /** Whether a noise line (as bytes without CR/LF) is neither a final, a prompt, an echo nor claimed. */
    const isHarmless = (bytes: Buffer) => {
      const line = bytes.toString('utf8').replace(/\0/g, '');
      return line !== '' && !line.startsWith('>') && !PROTECTED.test(line) && !SESSION.some((s) => s.command === line);
    };
    /** Unknown URCs shaped like +XXX: / ^XXX: (never bare, so ATI does not claim them). */
    const unknownUrc = fc
      .tuple(fc.constantFrom('+', '^'), fc.stringMatching(/^[A-Z]{2,6}$/), fc.string({ maxLength: 20 }))
      .map(([mark, name, rest]) => Buffer.from(`${mark}${name}: ${rest.replace(/[\r\n\0]/g, '')}`))
      .filter(isHarmless);
    /** Random text and bytes (0xff, NUL, broken UTF-8...), for steps that do not claim bare lines. */
    const garbage = fc
      .oneof(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map((s) => Buffer.from(s)),
        fc.uint8Array({ minLength: 1, maxLength: 30 }).map((b) => Buffer.from(b)),
      )
      .map((b) => Buffer.from(b.filter((x) => x !== 0x0d && x !== 0x0a)))
      .filter(isHarmless);

    it('(b) noise lines and unknown URCs interleaved anywhere never change outcomes and never throw', async () => {
      const noiseFor = (step: Step) =>
        fc.array(step.options.expectBare ? unknownUrc : fc.oneof(unknownUrc, garbage), { maxLength: 5 });
      await fc.assert(
        fc.asyncProperty(
          fc.tuple(...SESSION.map(noiseFor)),
          fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 4 }),
          async (noise, list) => {
            const pieces = noise.map((lines) => lines.map((line) => Buffer.concat([CRLF, line, CRLF])));
            const result = await run(sizes(list), pieces);
            assert.deepEqual(result.outcomes, EXPECTED_OUTCOMES);
            for (const urc of EXPECTED_URCS) assert.ok(result.urcs.includes(urc), `lost ${urc}`);
          },
        ),
        { numRuns: 60 },
      );
    });
  });
});

describe('+CME ERROR in both forms modules print (numeric AT+CMEE=1, verbose AT+CMEE=2)', () => {
  for (const [final, code] of [
    ['+CME ERROR: 30', 30],
    ['+CME ERROR: 3', 3],
    ['+CME ERROR: no network service', 30],
    // SIM800 (LilyGo-T-Call-SIM800#259) and u-blox print the verbose texts with their own capitals.
    ['+CME ERROR: operation not allowed', 3],
    ['+CME ERROR: Operation not allowed', 3],
    ['+CME ERROR: operation not supported', 4],
    ['+CME ERROR: unknown', 100],
    ['+CME ERROR: SIM PIN required', 11],
  ] as const) {
    it(`${final} → ${code}`, () => {
      assert.equal(cmeErrorCode(final), code);
      assert.equal(new AtError('error', 'ATD1;', 'x', { final }).cmeCode, code);
    });
  }

  it('no code for another final, or a verbose text 27.007 has not', () => {
    assert.equal(cmeErrorCode('ERROR'), undefined);
    assert.equal(cmeErrorCode('+CMS ERROR: 500'), undefined);
    assert.equal(cmeErrorCode('+CME ERROR: vendor says no'), undefined);
    assert.equal(new AtError('error', 'ATD1;', 'x', { final: '+CME ERROR: vendor says no' }).cmeCode, undefined);
  });
});
