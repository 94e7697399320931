import { strict as assert } from 'node:assert';
import { Duplex } from 'node:stream';
import { AtBackend } from '../../lib/at/modem-backend';
import { AtChannel } from '../../lib/at/at-channel';
import { LoopbackDevice } from '../../lib/at/loopback-device';
import { parseSimOptions } from '../../lib/at/serial-device';
import { EmulatedSim } from '../../lib/at/emulator/emulated-sim';
import { openSimulatedPort } from '../../lib/at/emulator/sim-port';
import { LineStatus } from '../../lib/backend';
import { FAST_BACKEND, FAST_MODEM, TestSimDevice, memoryLog, sleep } from '../helpers/at-harness';

/** Distinct 8-digit PINs (a 4-digit one can turn up by chance in a message). */
const RIGHT = '27182818';
const WRONG = '31415926';

let lineNo = 0;

/** An AT backend on `device`, recording its statuses and log; its path is unique (the refused-PIN memory is per port). */
function lineOn(device: TestSimDevice | LoopbackDevice, pin: string | undefined, path = `test:sim-unlock-${++lineNo}`) {
  const log = memoryLog();
  const statuses: LineStatus[] = [];
  const backend = new AtBackend({ lineId: 'S', path, baudRate: 115200, modem: 'auto', pin, log, timing: FAST_BACKEND, device });
  backend.on('status', (s: LineStatus) => statuses.push(s));
  return { backend, log, statuses, path };
}

/** Every `AT+CPIN="…"` the modules behind `device` received, over all its connections. */
function pinCommands(device: TestSimDevice): string[] {
  return device.modems.flatMap((m) => m.commands.filter((c) => /^AT\+CPIN=/i.test(c)));
}

async function waitFor(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const lastError = (statuses: LineStatus[]) => statuses.filter((s) => s.state === 'error').at(-1)?.text ?? '';

describe('SIM PIN: never the one that blocks the SIM', function () {
  this.timeout(10000);
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });
  function track<T extends { backend: AtBackend }>(l: T): T {
    stops.push(() => l.backend.stop());
    return l;
  }

  it('a refused PIN is sent once, not again on every reconnect: the line waits in red with the attempts left', async () => {
    const sim = new EmulatedSim({ pin: RIGHT });
    const device = new TestSimDevice('ec600n', FAST_MODEM, sim);
    const l = track(lineOn(device, WRONG));
    await l.backend.start();
    // The old line reconnected with back-off (50, 100, 200 ms...) and sent the PIN each time.
    await sleep(900);
    assert.equal(pinCommands(device).length, 1, `AT+CPIN="…" sent ${pinCommands(device).length} times over ${device.opens} connections`);
    assert.equal(device.opens, 1, 'no reconnect');
    assert.equal(sim.pinAttemptsLeft, 2);
    assert.equal(l.backend.status.state, 'error');
    assert.match(l.backend.status.text, /^the SIM refused the PIN \(2 attempts left\): set the right PIN in the line's credentials and deploy/);
  });

  it('a line redeployed with the same refused PIN does not send it; with the right one it comes up', async () => {
    const sim = new EmulatedSim({ pin: RIGHT });
    const device = new TestSimDevice('ec200u', FAST_MODEM, sim);
    const first = lineOn(device, WRONG);
    await first.backend.start();
    await waitFor('the refusal', () => /refused/.test(lastError(first.statuses)));
    await first.backend.stop();

    const again = track(lineOn(device, WRONG, first.path)); // same port, same credentials: a full redeploy
    await again.backend.start();
    await waitFor('the status', () => again.statuses.some((s) => s.state === 'error'));
    assert.equal(pinCommands(device).length, 1, 'the refused PIN is not sent again');
    assert.equal(sim.pinAttemptsLeft, 2);
    assert.match(again.backend.status.text, /^the SIM refused this PIN before \(2 attempts left\): not sent again/);
    await again.backend.stop();

    const fixed = track(lineOn(device, RIGHT, first.path)); // new credentials
    await fixed.backend.start();
    await waitFor('ready', () => fixed.backend.ready);
    assert.equal(pinCommands(device).length, 2);
    assert.equal(sim.pinAttemptsLeft, 3, 'a right PIN resets the counter');
  });

  it('a SIM asking for its PUK is reported as blocked; nothing is guessed, nothing retried', async () => {
    const sim = new EmulatedSim({ pin: RIGHT, pinAttempts: 0 });
    const device = new TestSimDevice('ec25', FAST_MODEM, sim);
    const l = track(lineOn(device, RIGHT));
    await l.backend.start();
    await sleep(400);
    assert.equal(l.backend.status.state, 'error');
    assert.match(l.backend.status.text, /^the SIM is blocked: it needs its PUK/);
    assert.deepEqual(pinCommands(device), []);
    assert.equal(device.opens, 1);
  });

  it('with one attempt left the PIN is not sent (a wrong one would block the SIM)', async () => {
    const sim = new EmulatedSim({ pin: RIGHT, pinAttempts: 1 });
    const device = new TestSimDevice('generic', FAST_MODEM, sim); // 27.007: AT+CPINR
    const l = track(lineOn(device, RIGHT));
    await l.backend.start();
    await waitFor('the status', () => l.statuses.some((s) => s.state === 'error'));
    assert.match(l.backend.status.text, /^the SIM has 1 PIN attempt left: PIN not sent/);
    assert.deepEqual(pinCommands(device), []);
    assert.ok(device.modems[0].commands.includes('AT+CPINR="SIM PIN"'));
    assert.equal(sim.pinAttemptsLeft, 1);
  });

  it('three lines with three wrong PINs leave the SIM one attempt, never blocked', async () => {
    const sim = new EmulatedSim({ pin: RIGHT });
    const device = new TestSimDevice('ec600n', FAST_MODEM, sim);
    for (const pin of ['11112222', '33334444', '55556666']) {
      const l = lineOn(device, pin);
      await l.backend.start();
      await waitFor('the status', () => l.statuses.some((s) => s.state === 'error'));
      await l.backend.stop();
    }
    assert.equal(pinCommands(device).length, 2);
    assert.equal(sim.blocked, false);
    assert.equal(sim.pinAttemptsLeft, 1);
  });

  it('a right PIN unlocks; the PIN is never in the log, the statuses or the errors', async () => {
    const device = new TestSimDevice('ec600n', FAST_MODEM, RIGHT);
    const good = track(lineOn(device, RIGHT));
    await good.backend.start();
    await waitFor('ready', () => good.backend.ready);
    const badDevice = new TestSimDevice('generic', FAST_MODEM, RIGHT);
    const bad = track(lineOn(badDevice, WRONG));
    await bad.backend.start();
    await waitFor('the refusal', () => /refused/.test(lastError(bad.statuses)));
    const seen = JSON.stringify([good.log.lines, good.statuses, bad.log.lines, bad.statuses]);
    for (const pin of [RIGHT, WRONG]) assert.ok(!seen.includes(pin), `${pin} leaked: ${seen}`);
    assert.match(bad.log.lines.join('\n'), /error the SIM refused the PIN \(2 attempts left\)/);
  });

  it('a module without an attempts counter, answering in verbose words: refused once, the count not shown', async () => {
    // A fake module: SIM PIN, no AT+QPINC nor AT+CPINR, `+CME ERROR: incorrect password` (AT+CMEE=2).
    const received: string[] = [];
    const answer = (line: string): string => {
      if (line === 'AT+CPIN?') return '+CPIN: SIM PIN\r\n\r\nOK';
      if (line.startsWith('AT+CPIN=')) return '+CME ERROR: incorrect password';
      if (line.startsWith('AT+QPINC') || line.startsWith('AT+CPINR')) return 'ERROR';
      if (line === 'ATI') return 'Acme\r\nModem 1\r\n\r\nOK';
      return 'OK';
    };
    const device = new LoopbackDevice((far: Duplex) => {
      let buf = '';
      far.on('data', (chunk: Buffer) => {
        buf += chunk.toString('latin1');
        let i: number;
        while ((i = buf.indexOf('\r')) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!line) continue;
          received.push(line);
          far.write(`\r\n${answer(line)}\r\n`);
        }
      });
    });
    const l = track(lineOn(device, WRONG));
    await l.backend.start();
    await sleep(600);
    assert.equal(received.filter((c) => c.startsWith('AT+CPIN=')).length, 1);
    assert.equal(device.opens, 1);
    assert.match(l.backend.status.text, /^the SIM refused the PIN: set the right PIN .* \(\+CME ERROR: incorrect password\)$/);
  });
});

describe('the emulated SIM', () => {
  it('counts wrong PINs, asks for the PUK after three, tells the counters (AT+QPINC, AT+CPINR), unblocks with the PUK', async () => {
    const sim = new EmulatedSim({ pin: '1234', puk: '87654321' });
    const { port, modem } = await openSimulatedPort('ec600n', { timing: FAST_MODEM, sim });
    const ch = new AtChannel(port, { defaultTimeoutMs: 500 });
    try {
      const info = async (cmd: string, prefix: string) => (await ch.send(cmd, { expect: [prefix] })).lines;
      const refusal = async (cmd: string) => {
        const err = await ch.send(cmd).then(() => null, (e: Error & { final?: string }) => e);
        return err?.final;
      };
      await ch.send('AT+CMEE=1');
      assert.deepEqual(await info('AT+CPIN?', '+CPIN:'), ['+CPIN: SIM PIN']);
      assert.deepEqual(await info('AT+QPINC="SC"', '+QPINC:'), ['+QPINC: "SC",3,10']);
      assert.equal(await refusal('AT+CPIN="0000"'), '+CME ERROR: 16');
      assert.equal(await refusal('AT+CPIN="0001"'), '+CME ERROR: 16');
      assert.deepEqual(await info('AT+QPINC="SC"', '+QPINC:'), ['+QPINC: "SC",1,10']);
      assert.equal(await refusal('AT+CPIN="0002"'), '+CME ERROR: 16');
      assert.deepEqual(await info('AT+CPIN?', '+CPIN:'), ['+CPIN: SIM PUK']);
      assert.equal(await refusal('AT+CPIN="1234"'), '+CME ERROR: 12', 'even the right PIN: the card wants its PUK');
      assert.equal(sim.pinAttemptsLeft, 0);
      assert.equal(await refusal('AT+CPINR'), 'ERROR', 'AT+CPINR is the 27.007 modem\'s');
      await ch.send('AT+CPIN="87654321","4321"');
      assert.deepEqual(await info('AT+CPIN?', '+CPIN:'), ['+CPIN: READY']);
      assert.equal(sim.pinAttemptsLeft, 3);
      assert.deepEqual(sim.pinChecks, ['0000', '0001', '0002']);
      modem.reboot(); // the card keeps its new PIN; the module asks for it again
      await sleep(100);
      assert.deepEqual(await info('AT+CPIN?', '+CPIN:'), ['+CPIN: SIM PIN']);
    } finally {
      ch.close();
      await new Promise<void>((r) => port.close(() => r()));
    }
    assert.equal(modem.closed, true, 'closing the port closes the module');
  });

  it('the generic modem answers AT+CPINR (27.007 §8.65) and not AT+QPINC', async () => {
    const { port } = await openSimulatedPort('generic', { timing: FAST_MODEM, sim: new EmulatedSim({ pin: '1234', pinAttempts: 2 }) });
    const ch = new AtChannel(port, { defaultTimeoutMs: 500 });
    try {
      assert.deepEqual((await ch.send('AT+CPINR="SIM PIN"', { expect: ['+CPINR:'] })).lines, ['+CPINR: SIM PIN,2,3']);
      assert.deepEqual((await ch.send('AT+CPINR', { expect: ['+CPINR:'] })).lines, ['+CPINR: SIM PIN,2,3', '+CPINR: SIM PUK,10,10']);
      await assert.rejects(ch.send('AT+QPINC="SC"'));
    } finally {
      ch.close();
      await new Promise<void>((r) => port.close(() => r()));
    }
  });

  it('is set from the sim: port (pin, puk, pinAttempts), and outlives the line\'s reconnects', async () => {
    assert.deepEqual(parseSimOptions('sim:ec600n?demo=5&pin=1234&pinAttempts=2'), {
      profile: 'ec600n',
      demoEverySeconds: 5,
      sim: { pin: '1234', pinAttempts: 2 },
    });
    assert.throws(() => parseSimOptions('sim:ec600n?pin=12'), /"pin" .* must be 4 to 8 digits/);
    assert.throws(() => parseSimOptions('sim:ec600n?pinAttempts=4'), /"pinAttempts" .* must be 0, 1, 2 or 3/);
    const path = `sim:ec600n?pin=${RIGHT}&pinAttempts=2&puk=${10_000_000 + ++lineNo}`; // unique: the memory is per port
    const statuses: LineStatus[] = [];
    const backend = new AtBackend({ lineId: 'S', path, baudRate: 115200, modem: 'auto', pin: WRONG, timing: FAST_BACKEND });
    backend.on('status', (s: LineStatus) => statuses.push(s));
    await backend.start();
    await waitFor('the refusal', () => /refused/.test(lastError(statuses)));
    await sleep(300);
    assert.match(backend.status.text, /\(1 attempt left\)/);
    assert.deepEqual(backend.emulator?.sim.pinChecks, [WRONG]);
    await backend.stop();
  });
});
