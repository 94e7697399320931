import assert from 'node:assert/strict';
import { SerialPort } from 'serialport';
import { EmulatedModem } from '../../lib/at/emulator';
import { PtyPair, ptyPair, requireSocat } from '../helpers/pty-pair';

function open(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate: 115200 }, (err) => (err ? reject(err) : resolve(port)));
  });
}

function close(port: SerialPort | undefined): Promise<void> {
  return new Promise((resolve) => (port?.isOpen ? port.close(() => resolve()) : resolve()));
}

/** Collects what a port reads, and waits for text to arrive. */
class Reader {
  text = '';
  constructor(port: SerialPort) {
    port.on('data', (d: Buffer) => (this.text += d.toString('latin1')));
  }
  async until(text: string, from = 0, timeoutMs = 2000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.text.includes(text, from)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)}; got ${JSON.stringify(this.text)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.text.slice(from);
  }
}

describe('emulator on a real pseudo-terminal (socat)', function () {
  let pair: PtyPair | undefined;
  let host: SerialPort | undefined;
  let device: SerialPort | undefined;
  let modem: EmulatedModem | undefined;

  before(function () {
    requireSocat(this);
  });

  beforeEach(async () => {
    pair = await ptyPair();
    device = await open(pair.b);
    modem = new EmulatedModem('ec200u', { timing: { commandDelay: 0, ringInterval: 1000 } });
    modem.attach(device);
    host = await open(pair.a);
  });

  afterEach(async () => {
    modem?.close();
    await close(host);
    await close(device);
    await pair?.close();
  });

  it('answers ATI and then reports an incoming call, through the real serialport binding', async () => {
    const reader = new Reader(host!);
    host!.write('ATI\r');
    assert.equal(await reader.until('OK\r\n'), 'ATI\r\r\nQuectel\r\nEC200U\r\nRevision: EC200UCNAAR03A03M08\r\n\r\nOK\r\n');

    for (const command of ['ATE0', 'AT+CLIP=1', 'AT+QINDCFG="ccinfo",1,1']) {
      const mark = reader.text.length;
      host!.write(`${command}\r`);
      await reader.until('OK\r\n', mark);
    }
    const urcs = reader.text.length;
    modem!.incomingCall('+8613800000000');
    assert.equal(
      await reader.until('"",0\r\n', urcs),
      '\r\n+QIND: "ccinfo",1,1,4,0,0,"+8613800000000",145\r\n\r\n+CLIP: "+8613800000000",145,"",0,"",0\r\n',
    );
    assert.deepEqual(modem!.commands, ['ATI', 'ATE0', 'AT+CLIP=1', 'AT+QINDCFG="ccinfo",1,1']);
  });
});
