import { strict as assert } from 'node:assert';
import { EmulatedModem } from '../../lib/at/emulator';
import type { EmulatorAudioControl } from '../../lib/at/emulator/features/control';

const FINAL_RE = /^(OK|ERROR|\+CME ERROR: .*)$/;

/** Sends one command line to the module (echo off) and resolves with the lines up to its final result. */
function exchange(modem: EmulatedModem, line: string): Promise<string[]> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      const lines = text.split(/\r\n/).filter((l) => l !== '');
      if (lines.length > 0 && FINAL_RE.test(lines[lines.length - 1]) && text.endsWith('\r\n')) {
        modem.off('data', onData);
        resolve(lines);
      }
    };
    modem.on('data', onData);
    modem.receive(`${line}\r`);
  });
}

async function module(profile: string): Promise<{ modem: EmulatedModem; at: (line: string) => Promise<string[]>; audio: EmulatorAudioControl }> {
  const modem = new EmulatedModem(profile, { timing: { commandDelay: 0, bootTime: 5 } });
  const at = (line: string) => exchange(modem, line);
  modem.receive('ATE0\r'); // the echo of ATE0 itself, then OK
  await new Promise((r) => modem.once('data', () => setImmediate(r)));
  await at('AT+CMEE=1'); // numeric +CME ERROR on every profile (generic starts with plain ERROR)
  return { modem, at, audio: modem.feature<EmulatorAudioControl>('control') };
}

describe('emulator: audio control commands (AT+CMUT, AT+CLVL, AT+QAUDMOD / AT+QAUDCH)', () => {
  let modem: EmulatedModem | null = null;
  afterEach(() => {
    modem?.close();
    modem = null;
  });

  const PROFILES = [
    { name: 'ec25', clvl: '(0-5)', level: 3, channel: '+QAUDMOD', values: '(0-5)', other: '+QAUDCH' },
    { name: 'ec200u', clvl: '(0-100)', level: 60, channel: '+QAUDCH', values: '(0-2)', other: '+QAUDMOD' },
    { name: 'ec600n', clvl: '(0-11)', level: 6, channel: '+QAUDCH', values: '(0-2)', other: '+QAUDMOD' },
    { name: 'generic', clvl: '(1-7)', level: 4, channel: null, values: '', other: '+QAUDCH' },
  ] as const;

  for (const p of PROFILES) {
    describe(p.name, () => {
      it(`lists its volume range ${p.clvl} and keeps a level set within it`, async () => {
        const m = await module(p.name);
        modem = m.modem;
        assert.deepEqual(await m.at('AT+CLVL=?'), [`+CLVL: ${p.clvl}`, 'OK']);
        assert.deepEqual(await m.at('AT+CLVL?'), [`+CLVL: ${p.level}`, 'OK']);
        assert.deepEqual(await m.at('AT+CLVL=5'), ['OK']);
        assert.equal(m.audio.level, 5);
        assert.deepEqual(await m.at('AT+CLVL?'), ['+CLVL: 5', 'OK']);
        assert.deepEqual(await m.at('AT+CLVL=101'), ['+CME ERROR: 50']);
        assert.deepEqual(await m.at('AT+CLVL=x'), ['+CME ERROR: 50']);
        assert.equal(m.audio.level, 5);
      });

      it('mutes, and forgets it when it reboots', async () => {
        const m = await module(p.name);
        modem = m.modem;
        assert.deepEqual(await m.at('AT+CMUT=?'), ['+CMUT: (0,1)', 'OK']);
        assert.deepEqual(await m.at('AT+CMUT=1'), ['OK']);
        assert.equal(m.audio.muted, true);
        assert.deepEqual(await m.at('AT+CMUT?'), ['+CMUT: 1', 'OK']);
        assert.deepEqual(await m.at('AT+CMUT=2'), ['+CME ERROR: 50']);
        await m.at('AT+CLVL=2');
        const rdy = new Promise<void>((resolve) => m.modem.on('data', (d: Buffer) => d.toString().includes('RDY') && resolve()));
        m.modem.reboot();
        await rdy;
        assert.equal(m.audio.muted, false, 'mute is volatile');
        assert.equal(m.audio.level, 2, 'the volume is saved');
      });

      if (p.channel) {
        it(`switches the audio channel with ${p.channel}, and has no ${p.other}`, async () => {
          const m = await module(p.name);
          modem = m.modem;
          assert.equal(m.audio.channelCommand, p.channel);
          assert.deepEqual(await m.at(`AT${p.channel}=?`), [`${p.channel}: ${p.values}`, 'OK']);
          assert.deepEqual(await m.at(`AT${p.channel}?`), [`${p.channel}: 0`, 'OK']);
          assert.deepEqual(await m.at(`AT${p.channel}=2`), ['OK']);
          assert.equal(m.audio.channel, 2);
          assert.deepEqual(await m.at(`AT${p.channel}=9`), ['+CME ERROR: 50']);
          assert.deepEqual(await m.at(`AT${p.other}=?`), ['ERROR']);
        });
      } else {
        it('has no audio channel command at all', async () => {
          const m = await module(p.name);
          modem = m.modem;
          assert.equal(m.audio.channel, null);
          assert.deepEqual(await m.at('AT+QAUDCH=?'), ['ERROR']);
          assert.deepEqual(await m.at('AT+QAUDMOD=2'), ['ERROR']);
        });
      }
    });
  }
});
