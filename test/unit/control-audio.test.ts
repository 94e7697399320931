import { strict as assert } from 'node:assert';
import type { EmulatorAudioControl } from '../../lib/at/emulator/features/control';
import { InvalidInputError, NotSupportedError } from '../../lib/errors';
import { Harness, startLine } from '../helpers/at-harness';
import { closeAfterEach } from '../helpers/close-after-each';

/** What each profile's module offers, and the exact bytes the line must send for it. */
const PROFILES = [
  { sim: 'ec600n', range: '(0-11)', volume7: 'AT+CLVL=7', defaultBack: 6, channel: 'AT+QAUDCH' },
  { sim: 'ec200u', range: '(0-100)', volume7: 'AT+CLVL=64', defaultBack: 7, channel: 'AT+QAUDCH' },
  { sim: 'ec25', range: '(0-5)', volume7: 'AT+CLVL=3', defaultBack: 7, channel: 'AT+QAUDMOD' },
  { sim: 'generic', range: '(1-7)', volume7: 'AT+CLVL=5', defaultBack: 6, channel: null },
] as const;

const count = (h: Harness, cmd: string) => h.modem().commands.filter((c) => c === cmd).length;
const audioOf = (h: Harness) => h.modem().feature<EmulatorAudioControl>('control');

describe('control: mute, volume and audio channel over AT', function () {
  this.timeout(10000);
  const track = closeAfterEach();

  for (const p of PROFILES) {
    describe(`${p.sim} (AT+CLVL=? ${p.range}, channel ${p.channel ?? 'none'})`, () => {
      it('probes what the module supports once, when the line comes up', async () => {
        const h = track(await startLine(p.sim));
        assert.equal(count(h, 'AT+CLVL=?'), 1);
        assert.equal(count(h, 'AT+CMUT=?'), 1);
        if (p.channel) assert.equal(count(h, `${p.channel}=?`), 1);
        assert.ok(!h.modem().commands.some((c) => /^AT\+QAUD(MOD|CH)/.test(c) && !(p.channel && c.startsWith(p.channel))), 'no other channel command');
        // Using them does not probe again: the answers are remembered.
        await h.line.control.setVolume(7);
        await h.line.control.setVolume(2);
        await h.line.control.getVolume();
        await h.line.control.setMute(true);
        assert.equal(count(h, 'AT+CLVL=?'), 1);
        assert.equal(count(h, 'AT+CMUT=?'), 1);
      });

      it(`sets volume 7 as ${p.volume7} and reads back 7; the module's own level maps back to ${p.defaultBack}`, async () => {
        const h = track(await startLine(p.sim));
        assert.equal(await h.line.control.getVolume(), p.defaultBack, 'the level the module starts with, on 0–11');
        assert.equal(await h.line.control.setVolume(7), 7);
        assert.equal(h.modem().commands.filter((c) => c.startsWith('AT+CLVL=') && c !== 'AT+CLVL=?').at(-1), p.volume7);
        assert.equal(`AT+CLVL=${audioOf(h).level}`, p.volume7);
        assert.equal(await h.line.control.getVolume(), 7);
        assert.ok(h.modem().commands.includes('AT+CLVL?'));
        await h.line.control.setVolume('0');
        assert.equal(h.modem().commands.at(-1), `AT+CLVL=${audioOf(h).levels[0]}`);
        await h.line.control.setVolume(11);
        assert.equal(h.modem().commands.at(-1), `AT+CLVL=${audioOf(h).levels[1]}`);
      });

      it('mutes with AT+CMUT=1 and unmutes with AT+CMUT=0', async () => {
        const h = track(await startLine(p.sim));
        assert.equal(await h.line.control.setMute(true), true);
        assert.equal(h.modem().commands.at(-1), 'AT+CMUT=1');
        assert.equal(audioOf(h).muted, true);
        assert.equal(await h.backend.control.getMute(), true);
        assert.equal(await h.line.control.setMute(false), false);
        assert.equal(h.modem().commands.at(-1), 'AT+CMUT=0');
        assert.equal(audioOf(h).muted, false);
      });

      it('mutes the module again after it restarted (mute is volatile)', async () => {
        const h = track(await startLine(p.sim));
        await h.line.control.setMute(true);
        const before = h.modem().commands.length;
        h.modem().reboot();
        await h.next('line-down');
        await h.next('line-up');
        const after = h.modem().commands.slice(before);
        assert.ok(after.includes('AT+CMUT=1'), `AT+CMUT=1 re-sent after RDY: ${after.join(' ')}`);
        assert.ok(after.indexOf('AT+CMUT=1') > after.indexOf('AT+CMUT=?'), 'after probing again');
        assert.equal(audioOf(h).muted, true);
      });

      if (p.channel) {
        it(`switches the channel with ${p.channel}=<0|1|2> and reads it back`, async () => {
          const h = track(await startLine(p.sim));
          assert.equal(await h.line.control.setChannel('speaker'), 'speaker');
          assert.equal(h.modem().commands.at(-1), `${p.channel}=2`);
          assert.equal(await h.backend.control.getChannel(), 'speaker');
          assert.equal(h.modem().commands.at(-1), `${p.channel}?`);
          await h.line.control.setChannel('headset');
          assert.equal(h.modem().commands.at(-1), `${p.channel}=1`);
          await h.line.control.setChannel('handset');
          assert.equal(h.modem().commands.at(-1), `${p.channel}=0`);
          assert.equal(audioOf(h).channel, 0);
        });
      } else {
        it('refuses the audio channel with a NotSupportedError naming the module, sending nothing', async () => {
          const h = track(await startLine(p.sim));
          const before = h.modem().commands.length;
          await assert.rejects(h.line.control.setChannel('speaker'), (err: Error) => {
            assert.ok(err instanceof NotSupportedError);
            assert.equal(err.message, 'choosing the audio channel is not supported on this line (Generic GSM Modem (generic))');
            return true;
          });
          assert.equal(h.modem().commands.length, before);
        });
      }

      it('get-settings reads what the module can tell', async () => {
        const h = track(await startLine(p.sim));
        await h.line.control.setVolume(4);
        await h.line.control.setMute(true);
        const s = await h.line.control.settings();
        const expected: Record<string, unknown> = { autoAnswer: 0, autoReject: false, volume: 4, muted: true };
        if (p.sim !== 'generic') expected.dtmfDetection = true; // a 27.007 modem has no tone detection
        if (p.channel) expected.channel = 'handset';
        assert.deepEqual(s, expected);
      });
    });
  }

  it('refuses bad values before anything reaches the module', async () => {
    const h = track(await startLine('ec25'));
    const before = h.modem().commands.length;
    for (const bad of [12, -1, 2.5, 'max', '5;+CFUN=0', null]) {
      await assert.rejects(h.line.control.setVolume(bad), InvalidInputError);
    }
    await assert.rejects(h.line.control.setChannel('loudspeaker'), InvalidInputError);
    await assert.rejects(h.line.control.setMute('yes'), InvalidInputError);
    assert.throws(() => h.line.control.setAutoAnswer(-3), InvalidInputError);
    assert.throws(() => h.line.control.setAutoReject('maybe'), InvalidInputError);
    assert.equal(h.modem().commands.length, before);
  });

  it('a module that refuses a probe makes the setting NotSupported, naming the module', async () => {
    // An EC600N configured as an EC2x: the line probes AT+QAUDMOD, which this module does not have.
    const h = track(await startLine('ec600n', { modem: 'quectel-ec2x' }));
    assert.ok(h.modem().commands.includes('AT+QAUDMOD=?'));
    const before = h.modem().commands.length;
    await assert.rejects(h.line.control.setChannel('speaker'), (err: Error) => {
      assert.ok(err instanceof NotSupportedError, String(err));
      assert.equal(err.message, 'choosing the audio channel is not supported on this line (Quectel EC600N (quectel-ec2x))');
      return true;
    });
    assert.equal(h.modem().commands.length, before, 'the refusal was remembered: not probed again');
    assert.equal((await h.line.control.settings()).channel, undefined);
  });

  it('changes auto-answer and auto-reject at run time, and they act on the next call', async () => {
    const h = track(await startLine('ec600n'));
    assert.equal(h.line.control.setAutoReject('true'), true);
    assert.deepEqual(await h.line.control.settings(), { autoAnswer: 0, autoReject: true, volume: 6, muted: false, channel: 'handset', dtmfDetection: true });
    h.modem().incomingCall('5550100');
    const rejected = await h.next('ended');
    assert.equal(rejected.payload.cause, 'rejected');
    assert.equal(h.line.control.setAutoReject(false), false);
    assert.equal(h.line.control.setAutoAnswer('0.1'), 0.1);
    h.modem().incomingCall('5550101');
    const answered = await h.next('answered');
    assert.equal(answered.call?.remote.number, '5550101');
    assert.equal(h.line.autoAnswer, 0.1);
  });
});
