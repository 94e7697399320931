import assert from 'node:assert/strict';
import { once } from 'node:events';
import { SerialPortMock } from 'serialport';
import { openSimulatedPort, parseSimPath } from '../../lib/at/emulator';
import { InvalidInputError } from '../../lib/errors';

/** Reads from the port until `text` has arrived; resolves with everything read. */
async function readUntil(port: SerialPortMock, text: string, timeoutMs = 1000): Promise<string> {
  let got = '';
  const deadline = Date.now() + timeoutMs;
  while (!got.includes(text)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)}; got ${JSON.stringify(got)}`);
    const chunk = await Promise.race([
      once(port, 'data').then(([d]) => (d as Buffer).toString('latin1')),
      new Promise<string>((r) => setTimeout(() => r(''), 20)),
    ]);
    got += chunk;
  }
  return got;
}

describe('sim: serial ports (emulator behind SerialPortMock)', () => {
  it('parses sim:<profile> and names the known profiles when it is wrong', () => {
    assert.deepEqual(parseSimPath('sim:ec200u'), { profile: 'ec200u' });
    assert.deepEqual(parseSimPath(' SIM:EC600N '), { profile: 'ec600n' });
    assert.equal(parseSimPath('/dev/ttyUSB2'), null);
    assert.equal(parseSimPath('COM3'), null);
    assert.throws(
      () => parseSimPath('sim:ec999'),
      (e: Error) => e instanceof InvalidInputError && /sim:ec600n/.test(e.message) && /sim:generic/.test(e.message),
    );
    assert.throws(() => parseSimPath('sim:'), InvalidInputError);
    assert.throws(() => parseSimPath('sim:toString'), InvalidInputError);
  });

  it('answers AT with OK through the serialport stream stack', async () => {
    const { port, modem } = await openSimulatedPort('ec200u', { timing: { commandDelay: 0 } });
    try {
      assert.ok(port.isOpen);
      assert.match(port.path, /^sim:ec200u#[0-9a-f]+$/);
      port.write('AT\r');
      assert.equal(await readUntil(port, 'OK\r\n'), 'AT\r\r\nOK\r\n');
      assert.deepEqual(modem.commands, ['AT']);
    } finally {
      port.close();
    }
  });

  it('carries URCs to the host and closes the modem with the port', async () => {
    const { port, modem } = await openSimulatedPort('ec600n', { timing: { commandDelay: 0, ringInterval: 1000 } });
    port.write('ATE0\rAT+CLIP=1\r');
    await readUntil(port, 'OK\r\n\r\nOK\r\n');
    modem.incomingCall('10086');
    assert.equal(await readUntil(port, '"",0\r\n'), '\r\nRING\r\n\r\n+CLIP: "10086",129,"",0,"",0\r\n');
    port.close();
    await once(port, 'close');
    assert.ok(modem.closed);
  });

  it('gives every port its own path, so two emulators run side by side', async () => {
    const one = await openSimulatedPort('generic', { timing: { commandDelay: 0 } });
    const two = await openSimulatedPort('generic', { timing: { commandDelay: 0 } });
    try {
      assert.notEqual(one.port.path, two.port.path);
      two.port.write('ATI\r');
      assert.match(await readUntil(two.port, 'OK'), /GSM Modem/);
      assert.deepEqual(one.modem.commands, []);
    } finally {
      one.port.close();
      two.port.close();
    }
  });

  it('refuses an unknown profile', async () => {
    await assert.rejects(openSimulatedPort('nope'), InvalidInputError);
  });
});
