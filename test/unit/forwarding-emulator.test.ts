import { strict as assert } from 'node:assert';
import { EmulatedModem, EmulatorTiming } from '../../lib/at/emulator';
import type { ForwardingEmulator } from '../../lib/at/emulator/features/forwarding';

const TIMING: Partial<EmulatorTiming> = { alertAfter: 5, answerAfter: 10, noAnswerAfter: 50, ringInterval: 1000, commandDelay: 0, bootTime: 5 };
const FINAL = /^(OK|ERROR|\+CME ERROR: .*|NO CARRIER)$/;

/**
 * The emulated module's forwarding commands, byte for byte, without the host side: each command is
 * written as a host would, and the reply is read up to its final result.
 */
describe('emulator: forwarding (CCFC, CTFR, CHLD=4)', () => {
  let modem: EmulatedModem;
  /** Every line the module sent, in order. */
  let lines: string[];
  /** Where the reply of the latest command starts in `lines`. */
  let mark = 0;

  beforeEach(async () => {
    modem = new EmulatedModem('ec600n', { timing: TIMING });
    lines = [];
    let partial = '';
    modem.on('data', (data: Buffer) => {
      const parts = (partial + data.toString('latin1')).split('\r\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter((l) => l !== ''));
    });
    await at('ATE0');
    await at('AT^DSCI=1');
  });
  afterEach(() => modem.close());

  /** Sends one command line; resolves with the reply lines (no echo), final result last. */
  async function at(line: string): Promise<string[]> {
    mark = lines.length;
    modem.receive(`${line}\r`);
    await waitUntil(() => lines.slice(mark).some((l) => FINAL.test(l)));
    const reply = lines.slice(mark).filter((l) => l !== line);
    return reply.slice(0, reply.findIndex((l) => FINAL.test(l)) + 1);
  }

  /** What the module sent since the latest command, its reply included. */
  const since = () => lines.slice(mark);

  const forwarding = () => modem.feature<ForwardingEmulator>('forwarding');

  it('registers, queries per class, disables, enables and erases a rule', async () => {
    assert.deepEqual(await at('AT+CCFC=0,2'), ['+CCFC: 0,7', 'OK'], 'nothing forwarded for any class');
    assert.deepEqual(await at('AT+CCFC=0,3,"+4930123",145'), ['OK']);
    assert.deepEqual(await at('AT+CCFC=0,2'), ['+CCFC: 1,1,"+4930123",145', '+CCFC: 1,2,"+4930123",145', '+CCFC: 1,4,"+4930123",145', 'OK']);
    assert.deepEqual(await at('AT+CCFC=0,2,,,1'), ['+CCFC: 1,1,"+4930123",145', 'OK'], 'a query for voice only');
    assert.deepEqual(await at('AT+CCFC=0,0'), ['OK']);
    assert.deepEqual(await at('AT+CCFC=0,2'), ['+CCFC: 0,7', 'OK']);
    assert.deepEqual(await at('AT+CCFC=0,1'), ['OK'], 'the registered number is kept while disabled');
    assert.equal((await at('AT+CCFC=0,2')).length, 4);
    assert.deepEqual(await at('AT+CCFC=0,4'), ['OK']);
    assert.deepEqual(await at('AT+CCFC=0,1'), ['+CME ERROR: 3'], 'nothing left to enable');
    assert.deepEqual(forwarding().rules(), []);
  });

  it('keeps the no-reply time (default 20 s), and a class given with the request', async () => {
    await at('AT+CCFC=2,3,"5551234",129,1,,,25');
    assert.deepEqual(await at('AT+CCFC=2,2'), ['+CCFC: 1,1,"5551234",129,,,25', 'OK']);
    await at('AT+CCFC=2,3,"5551234",129');
    assert.deepEqual(await at('AT+CCFC=2,2'), ['+CCFC: 1,1,"5551234",129,,,25', '+CCFC: 1,2,"5551234",129,,,20', '+CCFC: 1,4,"5551234",129,,,20', 'OK']);
    await at('AT+CCFC=1,3,"4930123",145');
    assert.deepEqual(await at('AT+CCFC=1,2,,,1'), ['+CCFC: 1,1,"+4930123",145', 'OK'], 'type 145 shows the number as international');
  });

  it('applies reason 4 (all) to every rule and 5 (all conditional) to busy, no reply and not reachable', async () => {
    await at('AT+CCFC=4,3,"+4930123",145,1');
    assert.deepEqual(forwarding().rules().map((r) => r.reason), [0, 1, 2, 3]);
    await at('AT+CCFC=5,4');
    assert.deepEqual(forwarding().rules().map((r) => r.reason), [0]);
  });

  it('refuses what 27.007 does not allow, and what the network cannot do now', async () => {
    for (const bad of ['AT+CCFC=0,3', 'AT+CCFC=4,2', 'AT+CCFC=6,2', 'AT+CCFC=0,5', 'AT+CCFC=0,3,"12;3",129', 'AT+CCFC=2,3,"1",129,1,,,31', 'AT+CCFC=x']) {
      assert.deepEqual(await at(bad), ['+CME ERROR: 50'], bad);
    }
    assert.deepEqual(await at('AT+CCFC=?'), ['+CCFC: (0-5)', 'OK']);
    await at('AT+CFUN=4');
    assert.deepEqual(await at('AT+CCFC=0,2'), ['+CME ERROR: 30'], 'radio off');
    await at('AT+CFUN=1');
    forwarding().refuseNext(21);
    assert.deepEqual(await at('AT+CCFC=0,2'), ['+CME ERROR: 21']);
    assert.deepEqual(await at('AT+CCFC=0,2'), ['+CCFC: 0,7', 'OK'], 'only the next one');
  });

  it('keeps the rules across a reboot: they live in the network', async () => {
    await at('AT+CCFC=0,3,"+4930123",145');
    modem.reboot();
    await new Promise<void>((resolve) => modem.once('data', () => resolve()));
    await at('ATE0');
    assert.equal(forwarding().rules().length, 3);
  });

  it('CTFR deflects the ringing call: OK, then the release (Q.850 16) and no final result code', async () => {
    assert.deepEqual(await at('AT+CTFR="5551234"'), ['+CME ERROR: 3'], 'no call to deflect');
    modem.incomingCall('5550100');
    assert.deepEqual(await at('AT+CTFR="5551234;"'), ['+CME ERROR: 50']);
    assert.deepEqual(await at('AT+CTFR="+4930123",145'), ['OK']);
    assert.deepEqual(since(), ['OK', '^DSCI: 1,1,6,0,"5550100",129,16']);
    assert.deepEqual(modem.calls, []);
    assert.deepEqual(forwarding().diversions, [{ idx: 1, number: '+4930123', type: 145 }]);
  });

  it('CTFR deflects a waiting call and leaves the active one', async () => {
    modem.incomingCall('5550100');
    await at('ATA');
    modem.incomingCall('5550200');
    assert.deepEqual(await at('AT+CTFR="5551234",129'), ['OK']);
    assert.deepEqual(modem.calls.map((c) => [c.idx, c.state]), [[1, 'active']]);
  });

  it('CHLD=4 joins the held and the active call and releases both; other CHLD forms stay the module\'s', async () => {
    assert.deepEqual(await at('AT+CHLD=4'), ['+CME ERROR: 3'], 'no calls');
    await at('ATD5551234;');
    await waitUntil(() => modem.calls[0]?.state === 'active');
    assert.deepEqual(await at('AT+CHLD=4'), ['+CME ERROR: 3'], 'one call only');
    await at('ATD5555678;'); // holds call 1
    await waitUntil(() => modem.calls.map((c) => c.state).join() === 'held,active');
    assert.deepEqual(await at('AT+CHLD=2'), ['OK'], 'the built-in swap still answers');
    await waitUntil(() => modem.calls.map((c) => c.state).join() === 'active,held');
    assert.deepEqual(await at('AT+CHLD=4'), ['OK']);
    assert.deepEqual(since(), ['OK', '^DSCI: 2,0,6,0,"5555678",129,16', '^DSCI: 1,0,6,0,"5551234",129,16']);
    assert.deepEqual(modem.calls, []);
    assert.deepEqual(forwarding().transfers, [{ held: 2, other: 1 }]);
    assert.deepEqual(await at('AT+CHLD=?'), ['+CHLD: (0,1,1x,2,2x,3)', 'OK']);
  });
});

async function waitUntil(check: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
