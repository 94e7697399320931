import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PtyLine, ptyLines } from '../helpers/pty-line';

/**
 * The AT backend through the REAL serialport native binding: the line opens one end of a socat
 * pseudo-terminal pair, exactly as it opens /dev/ttyUSB2; the emulated module sits on the other end.
 */
describe('AT backend over a real serial port (socat pty)', function () {
  this.timeout(20000);
  const open = ptyLines();
  let dir: string;
  let pty: PtyLine;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'voice-pty-'));
    pty = await open({ profile: 'ec600n', reuseDir: dir });
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('receives, answers and ends a call', async () => {
    assert.equal(pty.line.backend?.kind, 'at');
    const incoming = pty.next('incoming');
    pty.modem.incomingCall('+4930123456');
    const inc = await incoming;
    assert.equal(inc.call?.remote.number, '+4930123456');
    const answered = pty.next('answered');
    await pty.line.answer(inc.call!.id);
    await answered;
    const ended = pty.next('ended');
    pty.modem.remoteHangup();
    const end = await ended;
    assert.equal(end.payload.cause, 'normal');
    assert.equal(end.payload.by, 'remote');
  });

  it('reports busy with the modem evidence', async () => {
    const r = await pty.line.dialAndWait('555486');
    assert.equal(r.answered, false);
    assert.equal(r.end?.cause, 'busy');
    assert.equal(r.end?.q850, 17);
    assert.ok(pty.modem.commands.includes('ATD555486;'));
  });

  it('reports no-answer when the network gives up, and when our ring timeout fires first', async () => {
    const network = await pty.line.dialAndWait('555408');
    assert.equal(network.answered, false);
    assert.equal(network.end?.cause, 'no-answer');
    assert.equal(network.end?.by, 'remote');
    pty.modem.setDialBehaviour('ring', '5557777');
    const ours = await pty.line.dialAndWait('5557777', { ringTimeout: 0.3 });
    assert.equal(ours.answered, false);
    assert.equal(ours.end?.cause, 'no-answer');
    assert.equal(ours.end?.by, 'local', JSON.stringify(ours.end));
    assert.equal(pty.modem.calls.length, 0, 'the module has no call left');
  });

  it('goes red when the device disappears, and comes back with the call still up', async () => {
    const r = await pty.line.dialAndWait('5551234');
    assert.equal(r.answered, true);
    const down = pty.next('line-down');
    await pty.unplug();
    await down;
    assert.ok(pty.statuses.some((s) => s.state === 'error'), JSON.stringify(pty.statuses));
    const up = pty.next('line-up');
    await pty.plug();
    await up;
    // The module kept the call while the cable was out: AT+CLCC still lists it, so it is not ended.
    await new Promise((res) => setTimeout(res, 400));
    assert.equal(pty.events.filter((e) => e.topic === 'ended').length, 0);
    assert.equal(pty.line.activeCalls()[0]?.id, r.call.id);
    const ended = pty.next('ended');
    await pty.line.hangup(r.call.id);
    assert.equal((await ended).payload.by, 'local');
    assert.ok(dirname(pty.pair.a) === dir);
  });
});

/**
 * Modules that are not our emulator's defaults, through the same real serialport binding: one that
 * answers a bare AT with ERROR (oFono's phonesim), one whose ATD answer is the call's outcome and that
 * prints NO CARRIER after our own hang-up too.
 */
describe('AT backend over a real serial port: other firmware (socat pty)', function () {
  this.timeout(20000);
  const open = ptyLines();

  it('comes up on a module that answers a bare AT with ERROR, and places a call', async () => {
    const pty = await open({ profile: 'generic', quirks: { bareAtError: true } });
    assert.equal(pty.modem.commands[0], 'AT');
    const r = await pty.line.dialAndWait('5551234');
    assert.equal(r.answered, true);
  });

  for (const profile of ['ec600n', 'generic']) {
    it(`${profile}: hang up, dial at once, the module answers the new ATD with BUSY: the new call gets it; an incoming call after is incoming`, async () => {
      const pty = await open({ profile, quirks: { dialResultWhenDecided: true, noCarrierOnLocalRelease: true } });
      for (let round = 0; round < 3; round++) {
        const first = await pty.line.dialAndWait('5551234');
        assert.equal(first.answered, true);
        await pty.line.hangup(first.call.id);
        const second = await pty.line.dialAndWait('555486');
        assert.equal(second.end?.cause, 'busy', JSON.stringify(second.end));
        assert.equal(second.end?.finalResult, 'BUSY');
        const firstEnd = pty.events.find((e) => e.topic === 'ended' && e.call?.id === first.call.id);
        assert.equal(firstEnd?.payload.by, 'local');
        assert.equal(firstEnd?.payload.cause, 'normal');
        assert.deepEqual(pty.line.activeCalls(), [], 'no phantom record');
        const incoming = pty.next('incoming');
        pty.modem.incomingCall('+4930123456');
        const inc = await incoming;
        assert.equal(inc.call?.state, 'incoming');
        assert.equal(pty.events.filter((e) => e.topic === 'waiting').length, 0);
        const ended = pty.next('ended', (e) => e.call?.id === inc.call?.id);
        pty.modem.remoteCancel();
        const end = await ended;
        assert.equal(end.payload.cause, 'cancelled');
        assert.equal(end.payload.by, 'remote');
      }
    });
  }
});
