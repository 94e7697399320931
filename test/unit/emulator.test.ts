import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import {
  DialBehaviour,
  EMULATOR_PROFILES,
  EmulatedCallInfo,
  EmulatedModem,
  EmulatedModemOptions,
  EmulatorTiming,
  plannedDialBehaviour,
} from '../../lib/at/emulator';
import { parseAtCommand } from '../../lib/at/emulator/at-command';
import { InvalidInputError } from '../../lib/errors';

const FAST: Partial<EmulatorTiming> = {
  alertAfter: 5,
  answerAfter: 10,
  noAnswerAfter: 20,
  ringInterval: 1000,
  commandDelay: 0,
  bootTime: 5,
};

const FINAL_RE = /^(OK|ERROR|\+CME ERROR: .*|NO CARRIER|BUSY|NO ANSWER)$/;

/** The host end of an emulated module: sends command lines, keeps every line the module sent. */
class Host {
  readonly lines: string[] = [];
  private partial = '';
  private readonly listeners = new Set<() => void>();

  constructor(readonly modem: EmulatedModem) {
    modem.on('data', (data: Buffer) => {
      const parts = (this.partial + data.toString('latin1')).split(/[\r\n]+/);
      this.partial = parts.pop() ?? '';
      this.lines.push(...parts.filter((l) => l !== ''));
      for (const l of this.listeners) l();
    });
  }

  send(line: string): void {
    this.modem.receive(`${line}\r`);
  }

  mark(): number {
    return this.lines.length;
  }

  since(mark: number): string[] {
    return this.lines.slice(mark);
  }

  /** Sends a command and resolves with what came back up to its final result (without the echo). */
  async cmd(line: string): Promise<string[]> {
    const mark = this.mark();
    this.send(line);
    const end = await this.until((l) => FINAL_RE.test(l), mark);
    return this.lines.slice(mark, end + 1).filter((l, i) => !(i === 0 && l === line));
  }

  /** Resolves with the index of the first line from `from` on that matches. */
  until(match: string | ((line: string) => boolean), from = 0, timeoutMs = 1000): Promise<number> {
    const test = typeof match === 'string' ? (l: string) => l === match : match;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const i = this.lines.findIndex((l, n) => n >= from && test(l));
        if (i < 0) return false;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve(i);
        return true;
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`timed out waiting for ${String(match)}; got ${JSON.stringify(this.since(from))}`));
      }, timeoutMs);
      if (!check()) this.listeners.add(check);
    });
  }
}

/** Resolves with the next call change that matches. */
function callChange(modem: EmulatedModem, fits: (c: EmulatedCallInfo) => boolean, timeoutMs = 1000): Promise<EmulatedCallInfo> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for a call change')), timeoutMs);
    const on = (c: EmulatedCallInfo): void => {
      if (!fits(c)) return;
      modem.off('call-changed', on);
      clearTimeout(timer);
      resolve(c);
    };
    modem.on('call-changed', on);
  });
}

const isState = (state: EmulatedCallInfo['state']) => (c: EmulatedCallInfo) => c.state === state;

describe('EmulatedModem', () => {
  let modems: EmulatedModem[] = [];
  function make(profile = 'ec600n', options: EmulatedModemOptions = {}): { modem: EmulatedModem; host: Host } {
    const modem = new EmulatedModem(profile, { ...options, timing: { ...FAST, ...options.timing } });
    modems.push(modem);
    return { modem, host: new Host(modem) };
  }
  afterEach(() => {
    for (const m of modems) m.close();
    modems = [];
  });

  describe('commands', () => {
    it('answers AT with OK and echoes until ATE0, like a real module', async () => {
      const { modem, host } = make();
      const out: string[] = [];
      modem.on('data', (d: Buffer) => out.push(d.toString()));
      assert.deepEqual(await host.cmd('AT'), ['OK']);
      assert.deepEqual(out, ['AT\r', '\r\nOK\r\n']);
      assert.deepEqual(await host.cmd('ATE0'), ['OK']);
      out.length = 0;
      assert.deepEqual(await host.cmd('at'), ['OK']);
      assert.deepEqual(out, ['\r\nOK\r\n']);
      assert.equal(modem.settings.echo, false);
    });

    it('identifies itself per profile (ATI, AT+CGMI, AT+CGMM, AT+CGMR, AT+GMI)', async () => {
      const expected: Record<string, string[]> = {
        ec600n: ['Quectel', 'EC600N', 'Revision: EC600NCNLCR03A01M08'],
        ec200u: ['Quectel', 'EC200U', 'Revision: EC200UCNAAR03A03M08'],
        ec25: ['Quectel', 'EC25', 'Revision: EC25EFAR06A06M4G'],
        generic: ['Generic', 'GSM Modem', 'Revision: GENERIC-1.0'],
      };
      for (const [profile, ati] of Object.entries(expected)) {
        const { host } = make(profile);
        assert.deepEqual(await host.cmd('ATI'), [...ati, 'OK'], profile);
        assert.deepEqual(await host.cmd('AT+CGMI'), [ati[0], 'OK']);
        assert.deepEqual(await host.cmd('AT+GMI'), [ati[0], 'OK']);
        assert.deepEqual(await host.cmd('AT+CGMM'), [ati[1], 'OK']);
        assert.deepEqual(await host.cmd('AT+CGMR'), [ati[2].replace('Revision: ', ''), 'OK']);
      }
    });

    it('takes the settings commands and reports them back', async () => {
      const { modem, host } = make('ec600n');
      for (const c of ['AT+CLIP=1', 'AT+CRC=1', 'AT+CCWA=1', 'AT+COLP=0', 'ATS0=0', 'AT+CMEE=2', 'AT^DSCI=1', 'AT+QTONEDET=1']) {
        assert.deepEqual(await host.cmd(c), ['OK'], c);
      }
      assert.deepEqual(await host.cmd('AT+CLIP?'), ['+CLIP: 1,1', 'OK']);
      assert.deepEqual(await host.cmd('AT+CMEE?'), ['+CMEE: 2', 'OK']);
      assert.deepEqual(await host.cmd('AT^DSCI?'), ['^DSCI: 1', 'OK']);
      assert.deepEqual(await host.cmd('ATS0=3'), ['OK']);
      assert.deepEqual(await host.cmd('ATS0?'), ['003', 'OK']);
      assert.deepEqual(await host.cmd('AT+CMEE=7'), ['+CME ERROR: Incorrect parameters']);
      assert.deepEqual(modem.settings, {
        echo: true,
        cmee: 2,
        clip: true,
        crc: true,
        ccwa: true,
        colp: false,
        dsci: true,
        ccinfo: false,
        toneDetection: true,
        autoAnswerRings: 3,
        simLocked: false,
        functionality: 1,
      });
    });

    it('answers an unknown or malformed command with ERROR, whatever AT+CMEE says', async () => {
      const { host } = make('ec600n');
      for (const cmee of ['0', '1', '2']) {
        await host.cmd(`AT+CMEE=${cmee}`);
        assert.deepEqual(await host.cmd('AT+NOPE'), ['ERROR']);
        assert.deepEqual(await host.cmd('ATXYZ'), ['ERROR']);
        assert.deepEqual(await host.cmd('AT+CLIP="'), ['ERROR']);
      }
    });

    it('reports equipment errors as AT+CMEE asks: ERROR, a number or words', async () => {
      const { host } = make('ec600n');
      await host.cmd('AT+CMEE=0');
      assert.deepEqual(await host.cmd('AT+VTS=1'), ['ERROR']);
      await host.cmd('AT+CMEE=1');
      assert.deepEqual(await host.cmd('AT+VTS=1'), ['+CME ERROR: 3']);
      await host.cmd('AT+CMEE=2');
      assert.deepEqual(await host.cmd('AT+VTS=1'), ['+CME ERROR: operation not allowed']);
    });

    it('keeps Quectel and ASR commands to the profiles that have them', async () => {
      const generic = make('generic').host;
      for (const c of ['AT^DSCI=1', 'AT+QINDCFG="ccinfo",1,1', 'AT+QHUP=16', 'AT+QTONEDET=1']) {
        assert.deepEqual(await generic.cmd(c), ['ERROR'], c);
      }
      const ec200u = make('ec200u').host;
      assert.deepEqual(await ec200u.cmd('AT^DSCI=1'), ['ERROR']);
      assert.deepEqual(await ec200u.cmd('AT+QINDCFG="ccinfo",1,1'), ['OK']);
      assert.deepEqual(await ec200u.cmd('AT+QINDCFG="ccinfo"'), ['+QINDCFG: "ccinfo",1', 'OK']);
      const ec600n = make('ec600n').host;
      await ec600n.cmd('AT+CMEE=2');
      assert.deepEqual(await ec600n.cmd('AT+QINDCFG="ccinfo",1'), ['+CME ERROR: operation not supported']);
      assert.deepEqual(await ec600n.cmd('AT+QHUP=16'), ['OK']);
    });

    it('asks for the SIM PIN when one is set, and does not dial before it is given', async () => {
      const { modem, host } = make('ec600n', { pin: '1234' });
      await host.cmd('AT+CMEE=2');
      assert.deepEqual(await host.cmd('AT+CPIN?'), ['+CPIN: SIM PIN', 'OK']);
      assert.deepEqual(await host.cmd('ATD10086;'), ['+CME ERROR: SIM PIN required']);
      assert.throws(() => modem.incomingCall('10086'), /cannot take calls/);
      assert.deepEqual(await host.cmd('AT+CPIN="0000"'), ['+CME ERROR: incorrect password']);
      const mark = host.mark();
      assert.deepEqual(await host.cmd('AT+CPIN="1234"'), ['OK']);
      await host.until('+CPIN: READY', mark);
      assert.deepEqual(await host.cmd('AT+CPIN?'), ['+CPIN: READY', 'OK']);
    });

    it('answers AT+CPIN? with READY without a PIN', async () => {
      const { host } = make('generic');
      assert.deepEqual(await host.cmd('AT+CPIN?'), ['+CPIN: READY', 'OK']);
    });

    it('refuses a dial string that is not digits, +, * and # followed by ;', async () => {
      const { modem, host } = make('ec600n');
      for (const bad of ['ATD123;+CFUN=0', 'ATD12a3;', 'ATD123', 'ATD;', 'ATD"123";', 'ATD1+2;']) {
        assert.deepEqual(await host.cmd(bad), ['ERROR'], bad);
      }
      assert.deepEqual(modem.calls, []);
      assert.deepEqual(await host.cmd('ATD*#06#;'), ['OK']);
    });

    it('answers ATA without a call with NO CARRIER', async () => {
      const { host } = make('ec600n');
      assert.deepEqual(await host.cmd('ATA'), ['NO CARRIER']);
    });

    it('records every command line the host sent and emits it', async () => {
      const { modem, host } = make('ec600n');
      const seen: string[] = [];
      modem.on('command', (c: string) => seen.push(c));
      await host.cmd('AT');
      await host.cmd('at+clcc');
      const mark = host.mark();
      modem.receive('ATI\n');
      await host.until('OK', mark);
      assert.deepEqual(modem.commands.slice(0, 3), ['AT', 'at+clcc', 'ATI']);
      assert.deepEqual(seen.slice(0, 3), ['AT', 'at+clcc', 'ATI']);
      assert.ok(!modem.commands.some((c) => /^ATD/i.test(c)));
    });

    it('takes CR, LF and CRLF line ends and commands split over several writes', async () => {
      const { modem, host } = make('ec600n');
      await host.cmd('ATE0');
      const mark = host.mark();
      modem.receive('A');
      modem.receive('T+CG');
      modem.receive('MM\r\n');
      modem.receive('AT\n');
      await host.until('OK', (await host.until('EC600N', mark)) + 2);
      assert.deepEqual(host.since(mark), ['EC600N', 'OK', 'OK']);
    });

    it('answers one command at a time, in order, with a jittered delay', async () => {
      const { modem, host } = make('ec600n', { timing: { commandDelay: [1, 4] } });
      await host.cmd('ATE0');
      const mark = host.mark();
      modem.receive('AT+CGMI\rAT+CGMM\rAT+CGMR\r');
      await host.until('OK', (await host.until('EC600NCNLCR03A01M08', mark)) + 1);
      assert.deepEqual(host.since(mark), ['Quectel', 'OK', 'EC600N', 'OK', 'EC600NCNLCR03A01M08', 'OK']);
    });

    it('reports the last call end with AT+CEER', async () => {
      const { modem, host } = make('ec600n');
      await host.cmd('ATE0');
      assert.deepEqual(await host.cmd('AT+CEER'), ['+CEER: "CC INFO",0,"No cause information available"', 'OK']);
      const ended = callChange(modem, isState('ended'));
      await host.cmd('ATD5551486;');
      await ended;
      assert.deepEqual(await host.cmd('AT+CEER'), ['+CEER: "CC INFO",17,"User busy"', 'OK']);
    });

    it('rejects bad timing options with a TypeError naming the option', () => {
      assert.throws(() => new EmulatedModem('ec600n', { timing: { alertAfter: -1 } }), /timing\.alertAfter/);
      assert.throws(() => new EmulatedModem('ec600n', { timing: { commandDelay: [5, 1] } }), /timing\.commandDelay/);
      assert.throws(() => new EmulatedModem('nope'), (e: Error) => e instanceof InvalidInputError && /ec600n/.test(e.message));
    });

    it('parses the AT command forms', () => {
      assert.deepEqual(parseAtCommand('AT+QINDCFG="ccinfo",1,1'), {
        name: '+QINDCFG',
        kind: 'set',
        value: '"ccinfo",1,1',
        args: ['ccinfo', '1', '1'],
      });
      assert.deepEqual(parseAtCommand('at+cpin?'), { name: '+CPIN', kind: 'read', value: '', args: [] });
      assert.deepEqual(parseAtCommand('AT+CHLD=?'), { name: '+CHLD', kind: 'test', value: '', args: [] });
      assert.deepEqual(parseAtCommand('ATS0?'), { name: 'S0', kind: 'read', value: '', args: [] });
      assert.deepEqual(parseAtCommand('ATD+4930;'), { name: 'D', kind: 'set', value: '+4930;', args: ['+4930;'] });
      assert.equal(parseAtCommand('ATE0X'), null);
      assert.equal(parseAtCommand('hello'), null);
    });
  });

  /** The host's set-up for each profile, and the exact lines the module sends for each scenario. */
  interface ProfileCase {
    setup: string[];
    incoming: string[];
    answered: string[];
    busy: string[];
    noAnswer: string[];
    reject: string[];
    notFound: string[];
    remoteHangup: string[];
    localHangup: string[];
    clcc: string[];
  }
  const EC200U_CASE: ProfileCase = {
    setup: ['ATE0', 'AT+CLIP=1', 'AT+QINDCFG="ccinfo",1,1'],
    incoming: ['+QIND: "ccinfo",1,1,4,0,0,"10086",129', '+CLIP: "10086",129,"",0,"",0'],
    answered: ['OK', '+QIND: "ccinfo",1,0,2,0,0,"10010",129', '+QIND: "ccinfo",1,0,3,0,0,"10010",129', '+QIND: "ccinfo",1,0,0,0,0,"10010",129'],
    busy: ['OK', '+QIND: "ccinfo",1,0,2,0,0,"5551486",129', '+QIND: "ccinfo",1,0,-1,0,0,"5551486",129', 'BUSY'],
    noAnswer: [
      'OK',
      '+QIND: "ccinfo",1,0,2,0,0,"5551408",129',
      '+QIND: "ccinfo",1,0,3,0,0,"5551408",129',
      '+QIND: "ccinfo",1,0,-1,0,0,"5551408",129',
      'NO ANSWER',
    ],
    reject: [
      'OK',
      '+QIND: "ccinfo",1,0,2,0,0,"5551603",129',
      '+QIND: "ccinfo",1,0,3,0,0,"5551603",129',
      '+QIND: "ccinfo",1,0,-1,0,0,"5551603",129',
      'NO CARRIER',
    ],
    notFound: ['OK', '+QIND: "ccinfo",1,0,2,0,0,"5551404",129', '+QIND: "ccinfo",1,0,-1,0,0,"5551404",129', 'NO CARRIER'],
    remoteHangup: ['+QIND: "ccinfo",1,0,-1,0,0,"10010",129', 'NO CARRIER'],
    localHangup: ['OK', '+QIND: "ccinfo",1,0,-1,0,0,"10010",129'],
    clcc: ['+CLCC: 1,0,0,0,0,"10010",129', '+CLCC: 7,0,0,1,0,"",0', 'OK'],
  };
  const PROFILE_CASES: Record<string, ProfileCase> = {
    ec600n: {
      setup: ['ATE0', 'AT+CLIP=1', 'AT^DSCI=1'],
      incoming: ['^DSCI: 1,1,4,0,"10086",129', 'RING', '+CLIP: "10086",129,"",0,"",0'],
      answered: ['OK', '^DSCI: 1,0,2,0,"10010",129', '^DSCI: 1,0,7,0,"10010",129', '^DSCI: 1,0,3,0,"10010",129'],
      busy: ['OK', '^DSCI: 1,0,2,0,"5551486",129', '^DSCI: 1,0,6,0,"5551486",129,17', 'BUSY'],
      noAnswer: ['OK', '^DSCI: 1,0,2,0,"5551408",129', '^DSCI: 1,0,7,0,"5551408",129', '^DSCI: 1,0,6,0,"5551408",129,19', 'NO ANSWER'],
      reject: ['OK', '^DSCI: 1,0,2,0,"5551603",129', '^DSCI: 1,0,7,0,"5551603",129', '^DSCI: 1,0,6,0,"5551603",129,21', 'NO CARRIER'],
      notFound: ['OK', '^DSCI: 1,0,2,0,"5551404",129', '^DSCI: 1,0,6,0,"5551404",129,1', 'NO CARRIER'],
      remoteHangup: ['^DSCI: 1,0,6,0,"10010",129,16', 'NO CARRIER'],
      localHangup: ['OK', '^DSCI: 1,0,6,0,"10010",129,16'],
      clcc: ['+CLCC: 1,0,0,0,0,"10010",129', 'OK'],
    },
    ec200u: EC200U_CASE,
    ec25: {
      // The same ccinfo sequences as the EC200U, but it rings, and has no phantom data call.
      ...EC200U_CASE,
      setup: ['ATE0', 'AT+CLIP=1', 'AT+QINDCFG="ccinfo",1'],
      incoming: ['+QIND: "ccinfo",1,1,4,0,0,"10086",129', 'RING', '+CLIP: "10086",129,"",0,"",0'],
      clcc: ['+CLCC: 1,0,0,0,0,"10010",129', 'OK'],
    },
    generic: {
      setup: ['ATE0', 'AT+CLIP=1', 'AT+CRC=1'],
      incoming: ['+CRING: VOICE', '+CLIP: "10086",129,,,,0'],
      answered: ['OK'],
      busy: ['OK', 'BUSY'],
      noAnswer: ['OK', 'NO ANSWER'],
      reject: ['OK', 'NO CARRIER'],
      notFound: ['OK', 'NO CARRIER'],
      remoteHangup: ['NO CARRIER'],
      localHangup: ['OK'],
      clcc: ['+CLCC: 1,0,0,0,0,"10010",129', 'OK'],
    },
  };

  for (const [profile, expected] of Object.entries(PROFILE_CASES)) {
    describe(`profile ${profile}: what it sends`, () => {
      let modem: EmulatedModem;
      let host: Host;
      beforeEach(async () => {
        ({ modem, host } = make(profile));
        for (const c of expected.setup) assert.deepEqual(await host.cmd(c), ['OK'], c);
      });

      /** Runs `action` and returns the lines sent until the first call change that fits, then a tick. */
      async function linesUntil(action: () => void, fits: (c: EmulatedCallInfo) => boolean): Promise<string[]> {
        const mark = host.mark();
        const changed = callChange(modem, fits);
        action();
        await changed;
        await sleep(2);
        return host.since(mark);
      }
      const dial = (n: string) => () => host.send(`ATD${n};`);
      async function activeCall(): Promise<void> {
        await linesUntil(dial('10010'), isState('active'));
      }

      it('incoming call', async () => {
        const lines = await linesUntil(() => modem.incomingCall('10086'), isState('incoming'));
        assert.deepEqual(lines, expected.incoming);
        assert.deepEqual(modem.calls, [{ idx: 1, direction: 'incoming', state: 'incoming', number: '10086' }]);
      });

      it('dial → alerting → answered', async () => {
        assert.deepEqual(await linesUntil(dial('10010'), isState('active')), expected.answered);
      });

      it('dial → busy (number ending in 486)', async () => {
        assert.deepEqual(await linesUntil(dial('5551486'), isState('ended')), expected.busy);
      });

      it('dial → no answer (408)', async () => {
        assert.deepEqual(await linesUntil(dial('5551408'), isState('ended')), expected.noAnswer);
      });

      it('dial → rejected (603)', async () => {
        assert.deepEqual(await linesUntil(dial('5551603'), isState('ended')), expected.reject);
      });

      it('dial → not found (404)', async () => {
        assert.deepEqual(await linesUntil(dial('5551404'), isState('ended')), expected.notFound);
      });

      it('remote hangup of an active call', async () => {
        await activeCall();
        assert.deepEqual(await linesUntil(() => modem.remoteHangup(), isState('ended')), expected.remoteHangup);
      });

      it('local hang-up (AT+CHUP): no final result code', async () => {
        await activeCall();
        assert.deepEqual(await linesUntil(() => host.send('AT+CHUP'), isState('ended')), expected.localHangup);
        await sleep(20);
        assert.equal(host.lines[host.lines.length - 1], expected.localHangup[expected.localHangup.length - 1]);
      });

      it('AT+CLCC listing of an active call', async () => {
        await activeCall();
        assert.deepEqual(await host.cmd('AT+CLCC'), expected.clcc);
      });
    });
  }

  describe('incoming calls', () => {
    it('repeats RING and +CLIP every ringInterval until answered, then ATA makes the call active', async () => {
      const { modem, host } = make('ec600n', { timing: { ringInterval: 15 } });
      await host.cmd('ATE0');
      await host.cmd('AT+CLIP=1');
      const mark = host.mark();
      modem.incomingCall('+4930123456', { name: 'Alice' });
      await host.until('RING', (await host.until('RING', mark)) + 1);
      const clip = '+CLIP: "+4930123456",145,"",0,"Alice",0';
      assert.deepEqual(host.since(mark).slice(0, 4), ['RING', clip, 'RING', clip]);
      const active = callChange(modem, isState('active'));
      assert.deepEqual(await host.cmd('ATA'), ['OK']);
      await active;
      const after = host.mark();
      await sleep(40);
      assert.deepEqual(host.since(after), []);
      assert.equal(modem.calls[0].state, 'active');
    });

    it('generic: plain RING without AT+CRC=1, and the 3GPP +CLIP layout with a name', async () => {
      const { modem, host } = make('generic');
      await host.cmd('ATE0');
      await host.cmd('AT+CLIP=1');
      const mark = host.mark();
      modem.incomingCall('10086', { name: 'Bob' });
      await host.until((l) => l.startsWith('+CLIP'), mark);
      assert.deepEqual(host.since(mark), ['RING', '+CLIP: "10086",129,,,"Bob",0']);
    });

    it('a withheld caller has an empty number, type 128 and CLI validity 1', async () => {
      const { modem, host } = make('ec600n');
      await host.cmd('ATE0');
      await host.cmd('AT+CLIP=1');
      await host.cmd('AT^DSCI=1');
      const mark = host.mark();
      modem.incomingCall('');
      await host.until((l) => l.startsWith('+CLIP'), mark);
      assert.deepEqual(host.since(mark), ['^DSCI: 1,1,4,0,"",128', 'RING', '+CLIP: "",128,"",0,"",1']);
    });

    it('the caller gives up: the call ends with NO CARRIER', async () => {
      const { modem, host } = make('ec600n');
      await host.cmd('ATE0');
      await host.cmd('AT^DSCI=1');
      modem.incomingCall('10086');
      const mark = host.mark();
      modem.remoteCancel();
      assert.deepEqual(host.since(mark), ['^DSCI: 1,1,6,0,"10086",129,16', 'NO CARRIER']);
      assert.deepEqual(modem.calls, []);
    });

    it('auto-answers after ATS0 rings', async () => {
      const { modem, host } = make('ec600n', { timing: { ringInterval: 5 } });
      await host.cmd('ATS0=2');
      const active = callChange(modem, isState('active'));
      modem.incomingCall('10086');
      await active;
      assert.equal(host.lines.filter((l) => l === 'RING').length, 2);
    });

    it('AT+QHUP=21 rejects a ringing call without a final result code', async () => {
      const { modem, host } = make('ec200u');
      await host.cmd('ATE0');
      await host.cmd('AT+QINDCFG="ccinfo",1');
      modem.incomingCall('10086');
      const mark = host.mark();
      await host.cmd('AT+QHUP=21');
      assert.deepEqual(host.since(mark), ['OK', '+QIND: "ccinfo",1,1,-1,0,0,"10086",129']);
      assert.deepEqual(await host.cmd('AT+CEER'), ['+CEER: "CC INFO",21,"Call rejected"', 'OK']);
    });

    it('ec200u lists its phantom data call even when idle, and never gives a voice call index 7', async () => {
      const { modem, host } = make('ec200u');
      await host.cmd('ATE0');
      assert.deepEqual(await host.cmd('AT+CLCC'), ['+CLCC: 7,0,0,1,0,"",0', 'OK']);
      for (let i = 0; i < 7; i++) modem.incomingCall(`100${i}`);
      assert.deepEqual(
        modem.calls.map((c) => c.idx),
        [1, 2, 3, 4, 5, 6, 8],
      );
    });
  });

  describe('call waiting and holding', () => {
    async function activeWithWaiting(): Promise<{ modem: EmulatedModem; host: Host; mark: number }> {
      const { modem, host } = make('ec600n');
      for (const c of ['ATE0', 'AT+CLIP=1', 'AT+CCWA=1', 'AT^DSCI=1']) await host.cmd(c);
      const active = callChange(modem, isState('active'));
      host.send('ATD10010;');
      await active;
      const mark = host.mark();
      assert.equal(modem.incomingCall('+861390000'), 2);
      return { modem, host, mark };
    }

    it('an incoming call during a call is waiting: ^DSCI stat 5 and +CCWA, no RING', async () => {
      const { modem, host, mark } = await activeWithWaiting();
      assert.deepEqual(host.since(mark), ['^DSCI: 2,1,5,0,"+861390000",145', '+CCWA: "+861390000",145,1']);
      assert.deepEqual(
        modem.calls.map((c) => c.state),
        ['active', 'waiting'],
      );
    });

    it('AT+CHLD=2 holds the active call and takes the waiting one; AT+CHLD=11 ends call 1', async () => {
      const { modem, host } = await activeWithWaiting();
      const mark = host.mark();
      await host.cmd('AT+CHLD=2');
      assert.deepEqual(host.since(mark), ['OK', '^DSCI: 1,0,1,0,"10010",129', '^DSCI: 2,1,3,0,"+861390000",145']);
      assert.deepEqual(await host.cmd('AT+CLCC'), ['+CLCC: 1,0,1,0,0,"10010",129', '+CLCC: 2,1,0,0,0,"+861390000",145', 'OK']);
      const mark2 = host.mark();
      await host.cmd('AT+CHLD=11');
      assert.deepEqual(host.since(mark2), ['OK', '^DSCI: 1,0,6,0,"10010",129,16']);
      assert.deepEqual(
        modem.calls.map((c) => [c.idx, c.state]),
        [[2, 'active']],
      );
    });

    it('AT+CHLD=0 rejects the waiting call as busy', async () => {
      const { modem, host } = await activeWithWaiting();
      const mark = host.mark();
      await host.cmd('AT+CHLD=0');
      assert.deepEqual(host.since(mark), ['OK', '^DSCI: 2,1,6,0,"+861390000",145,17']);
      assert.deepEqual(
        modem.calls.map((c) => c.state),
        ['active'],
      );
    });

    it('when the active call ends, the waiting call rings as an ordinary incoming call', async () => {
      const { modem, host } = await activeWithWaiting();
      const mark = host.mark();
      modem.remoteHangup(1);
      assert.deepEqual(host.since(mark), [
        '^DSCI: 1,0,6,0,"10010",129,16',
        'NO CARRIER',
        '^DSCI: 2,1,4,0,"+861390000",145',
        'RING',
        '+CLIP: "+861390000",145,"",0,"",0',
      ]);
    });

    it('ATA does not take a waiting call (use AT+CHLD=2)', async () => {
      const { host } = await activeWithWaiting();
      await host.cmd('AT+CMEE=2');
      assert.deepEqual(await host.cmd('ATA'), ['+CME ERROR: operation not allowed']);
    });
  });

  describe('quirks of other firmware', () => {
    it('bareAtError: a bare AT is answered ERROR, every other command as usual', async () => {
      const { host } = make('generic', { quirks: { bareAtError: true } });
      assert.deepEqual(await host.cmd('AT'), ['ERROR']);
      assert.deepEqual(await host.cmd('ATE0'), ['OK']);
      assert.deepEqual(await host.cmd('AT+CGMM'), ['GSM Modem', 'OK']);
    });

    it('dialResultWhenDecided: ATD gets OK once the far end answers, or the call\'s end as its final result', async () => {
      const { modem, host } = make('generic', { quirks: { dialResultWhenDecided: true } });
      await host.cmd('ATE0');
      assert.deepEqual(await host.cmd('ATD5551486;'), ['BUSY']);
      assert.equal(modem.calls.length, 0);
      const answered = await host.cmd('ATD5551234;');
      assert.deepEqual(answered, ['OK'], 'no +COLP line unless AT+COLP=1');
      assert.equal(modem.calls[0].state, 'active');
    });

    it('noCarrierOnLocalRelease: NO CARRIER after a call the host ended too', async () => {
      const { modem, host } = make('generic');
      modem.setQuirks({ noCarrierOnLocalRelease: true });
      await host.cmd('ATE0');
      modem.incomingCall('5550001');
      await host.cmd('ATA');
      const mark = host.mark();
      await host.cmd('AT+CHUP');
      await host.until('NO CARRIER', mark);
      assert.deepEqual(host.since(mark), ['OK', 'NO CARRIER']);
      assert.deepEqual(modem.quirksInEffect, { bareAtError: false, dialResultWhenDecided: false, noCarrierOnLocalRelease: true });
    });

    it('refuses a quirk it does not know, or a value that is not true or false', () => {
      const { modem } = make('generic');
      assert.throws(() => modem.setQuirks({ nope: true } as never), /unknown quirk "nope"/);
      assert.throws(() => modem.setQuirks({ bareAtError: 'yes' } as never), /true or false/);
      assert.throws(() => new EmulatedModem('generic', { quirks: null as never }), /quirks must be an object/);
    });
  });

  describe('dialling', () => {
    it('follows the number plan', () => {
      const plan: Record<string, DialBehaviour> = {
        '5551486': 'busy',
        '5551408': 'no-answer',
        '5551603': 'reject',
        '5551404': 'not-found',
        '+4930123456': 'answer',
        '10086': 'answer',
      };
      for (const [n, b] of Object.entries(plan)) assert.equal(plannedDialBehaviour(n), b, n);
    });

    it('setDialBehaviour overrides the plan for one number or for all', async () => {
      const { modem, host } = make('generic');
      await host.cmd('ATE0');
      modem.setDialBehaviour('busy', '10010');
      let ended = callChange(modem, isState('ended'));
      host.send('ATD10010;');
      assert.equal((await ended).q850, 17);
      modem.setDialBehaviour('not-found');
      ended = callChange(modem, isState('ended'));
      host.send('ATD5551486;');
      assert.equal((await ended).q850, 1);
      modem.resetDialBehaviour();
      ended = callChange(modem, isState('ended'));
      host.send('ATD5551603;');
      assert.equal((await ended).q850, 21);
      assert.throws(() => modem.setDialBehaviour('maybe' as DialBehaviour), TypeError);
    });

    it("'ring' rings until the script answers (remoteAnswer)", async () => {
      const { modem, host } = make('ec600n');
      await host.cmd('ATE0');
      modem.setDialBehaviour('ring');
      const alerting = callChange(modem, isState('alerting'));
      host.send('ATD10010;');
      await alerting;
      await sleep(40);
      assert.equal(modem.calls[0].state, 'alerting');
      modem.remoteAnswer();
      assert.equal(modem.calls[0].state, 'active');
      assert.throws(() => modem.remoteAnswer(), /no call/);
    });

    it('remoteAnswer before alerting is not undone by the far-end timers', async () => {
      const { modem, host } = make('ec600n', { timing: { noAnswerAfter: 5 } });
      await host.cmd('ATE0');
      const dialing = callChange(modem, isState('dialing'));
      host.send('ATD5551408;');
      await dialing;
      modem.remoteAnswer(1);
      await sleep(40);
      assert.deepEqual(
        modem.calls.map((c) => c.state),
        ['active'],
      );
    });

    it('with AT+COLP=1 the ATD waits for the far end: +COLP and OK, or BUSY', async () => {
      const { modem, host } = make('ec600n');
      await host.cmd('ATE0');
      await host.cmd('AT+COLP=1');
      assert.deepEqual(await host.cmd('ATD10010;'), ['+COLP: "10010",129', 'OK']);
      await host.cmd('AT+CHUP');
      assert.deepEqual(await host.cmd('ATD5551486;'), ['BUSY']);
      assert.deepEqual(modem.calls, []);
    });

    it('with AT+COLP=1 any line aborts the dial in progress (V.250)', async () => {
      const { modem, host } = make('ec600n');
      await host.cmd('ATE0');
      await host.cmd('AT+COLP=1');
      modem.setDialBehaviour('ring');
      const mark = host.mark();
      const alerting = callChange(modem, isState('alerting'));
      host.send('ATD10010;');
      await alerting;
      host.send('AT');
      assert.deepEqual(host.since(mark), ['NO CARRIER']);
      assert.deepEqual(modem.calls, []);
      assert.deepEqual(await host.cmd('AT'), ['OK']);
    });

    it('dialling during a call puts that call on hold', async () => {
      const { modem, host } = make('ec600n');
      await host.cmd('ATE0');
      const active = callChange(modem, isState('active'));
      host.send('ATD10010;');
      await active;
      const second = callChange(modem, (c) => c.idx === 2 && c.state === 'active');
      host.send('ATD10011;');
      await second;
      assert.deepEqual(
        modem.calls.map((c) => [c.idx, c.state]),
        [
          [1, 'held'],
          [2, 'active'],
        ],
      );
    });
  });

  describe('DTMF', () => {
    it('reports pressed digits as +QTONEDET: <ASCII> once AT+QTONEDET=1', async () => {
      const { modem, host } = make('ec200u');
      await host.cmd('ATE0');
      modem.pressDigits('1', 0);
      await sleep(10);
      assert.ok(!host.lines.some((l) => l.startsWith('+QTONEDET')));
      await host.cmd('AT+QTONEDET=1');
      const mark = host.mark();
      modem.pressDigits('1*#A', 2);
      await host.until('+QTONEDET: 65', mark);
      assert.deepEqual(host.since(mark), ['+QTONEDET: 49', '+QTONEDET: 42', '+QTONEDET: 35', '+QTONEDET: 65']);
      assert.throws(() => modem.pressDigits('12x'), InvalidInputError);
    });

    it('takes AT+VTS during a call', async () => {
      const { modem, host } = make('ec600n');
      await host.cmd('ATE0');
      const active = callChange(modem, isState('active'));
      host.send('ATD10010;');
      await active;
      assert.deepEqual(await host.cmd('AT+VTS="123#"'), ['OK']);
      assert.deepEqual(await host.cmd('AT+VTS=5,10'), ['OK']);
      await host.cmd('AT+CMEE=1');
      assert.deepEqual(await host.cmd('AT+VTS="1;2"'), ['+CME ERROR: 50']);
    });
  });

  describe('failures', () => {
    it('reboot drops the calls, forgets the settings and sends RDY and +CPIN: READY', async () => {
      const { modem, host } = make('ec600n');
      for (const c of ['ATE0', 'AT^DSCI=1', 'AT+QTONEDET=1']) await host.cmd(c);
      modem.incomingCall('10086');
      const mark = host.mark();
      modem.reboot();
      host.send('AT');
      await host.until('+CPIN: READY', mark);
      assert.deepEqual(host.since(mark), ['RDY', '+CPIN: READY']);
      assert.deepEqual(modem.calls, []);
      assert.equal(modem.settings.echo, true);
      assert.equal(modem.settings.dsci, false);
      assert.equal(modem.settings.toneDetection, false);
      assert.deepEqual(await host.cmd('AT'), ['OK']);
      assert.equal(host.lines[host.lines.length - 2], 'AT', 'echo is back on');
    });

    it('AT+CFUN=1,1 reboots the module', async () => {
      const { host } = make('generic');
      await host.cmd('ATE0');
      const mark = host.mark();
      await host.cmd('AT+CFUN=1,1');
      await host.until('+CPIN: READY', mark);
      assert.deepEqual(host.since(mark), ['OK', 'RDY', '+CPIN: READY']);
    });

    it('a silent module reads and records commands but answers nothing', async () => {
      const { modem, host } = make('ec600n');
      modem.setSilent(true);
      const mark = host.mark();
      host.send('AT');
      host.send('ATD10010;');
      await sleep(30);
      assert.deepEqual(host.since(mark), []);
      assert.deepEqual(modem.calls, []);
      assert.deepEqual(modem.commands, ['AT', 'ATD10010;']);
      modem.setSilent(false);
      assert.deepEqual(await host.cmd('AT'), ['OK']);
    });

    it('never throws on garbage, and still answers afterwards', async () => {
      const { modem, host } = make('ec600n');
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
          modem.receive(Buffer.from(bytes));
        }),
      );
      modem.receive(Buffer.alloc(5000, 0x41));
      modem.receive(undefined as unknown as Buffer);
      modem.receive('\r\nAT+++\r\x00\x1a\x1b\r');
      await sleep(20);
      assert.deepEqual(await host.cmd('AT'), ['OK']);
    });

    it('injectLine sends any line as the module', async () => {
      const { modem, host } = make('ec600n');
      const mark = host.mark();
      modem.injectLine('+QIND: "something",1');
      modem.injectData(Buffer.from([0xff, 0x00, 0x0d, 0x0a]));
      assert.deepEqual(host.since(mark), ['+QIND: "something",1', '\xff\x00']);
    });

    it('close() clears every timer, sends nothing more and can be called twice', async () => {
      const { modem, host } = make('ec600n', { timing: { ringInterval: 5 } });
      await host.cmd('AT+CLIP=1');
      modem.incomingCall('10086');
      host.send('ATD10010;');
      modem.close();
      modem.close();
      const mark = host.mark();
      await sleep(30);
      modem.receive('AT\r');
      assert.deepEqual(host.since(mark), []);
      assert.ok(modem.closed);
    });
  });

  describe('demo mode', () => {
    it('places incoming calls while idle and lets the far side hang up', async () => {
      const { modem, host } = make('ec600n');
      await host.cmd('AT^DSCI=1');
      const changes: string[] = [];
      modem.on('call-changed', (c: EmulatedCallInfo) => changes.push(`${c.idx} ${c.state} ${c.number}`));
      modem.startDemo({ incomingEveryMs: 20, firstCallAfterMs: 1, remoteHangupAfterMs: 10, numbers: ['111', '222'] });
      await host.until('^DSCI: 1,1,6,0,"222",129,16', 0, 2000);
      modem.stopDemo();
      assert.deepEqual(changes.slice(0, 4), ['1 incoming 111', '1 ended 111', '1 incoming 222', '1 ended 222']);
      const count = changes.length;
      await sleep(50);
      assert.equal(changes.length, count);
    });

    it('presses the demo digits after a call is answered, and ends dialled calls too', async () => {
      const { modem, host } = make('ec200u');
      await host.cmd('ATE0');
      await host.cmd('AT+QTONEDET=1');
      modem.startDemo({ incomingEveryMs: 100000, remoteHangupAfterMs: 100, digits: '5', digitsAfterMs: 20 });
      const ended = callChange(modem, isState('ended'), 3000);
      host.send('ATD10010;');
      await host.until('+QTONEDET: 53', 0, 2000);
      assert.equal((await ended).endedBy, 'remote');
    });

    it('validates its options', () => {
      const modem = new EmulatedModem('ec600n');
      modems.push(modem);
      assert.throws(() => modem.startDemo({ incomingEveryMs: 0 }), /incomingEveryMs/);
      assert.throws(() => modem.startDemo({ numbers: ['12;3'] }), InvalidInputError);
    });
  });

  it('exports the five profiles', () => {
    assert.deepEqual(Object.keys(EMULATOR_PROFILES).sort(), ['bg95', 'ec200u', 'ec25', 'ec600n', 'generic']);
  });
});
