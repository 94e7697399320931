import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MODEM_PROFILES, detectProfile, voiceSupport } from '../../lib/at/modem-profile';
import { TraceFormatError, TraceMismatchError, chunksOf, parseTrace, replayTrace } from '../../lib/at/trace-replay';
import { ClccStat, parseDsci } from '../../lib/at/urc-parsers';
import { EventLog } from '../helpers/event-log';
import { FAST_BACKEND, TestSimDevice, memoryLog, startLine } from '../helpers/at-harness';
import { AtBackend } from '../../lib/at/modem-backend';
import { VoiceLine } from '../../lib/line/voice-line';

/** test/traces, from the compiled test (…/test/unit) or the source. */
const TRACES = join(__dirname, '..', '..', '..', 'test', 'traces');

const TRACE_FILES = readdirSync(TRACES).filter((f) => f.endsWith('.trace')).sort();

describe('modem traces (test/traces/*.trace) replayed against the AT backend', function () {
  this.timeout(20000);
  for (const file of TRACE_FILES) {
    it(file, async () => {
      await replayTrace(parseTrace(readFileSync(join(TRACES, file), 'utf8'), file));
    });
  }
});

describe('modem traces replayed one byte per write (a slow UART, a USB CDC port that splits lines)', function () {
  this.timeout(30000);
  for (const file of TRACE_FILES) {
    it(file, async () => {
      // Every event and host command of the trace is checked, now with every byte a read of its own.
      await replayTrace(parseTrace(readFileSync(join(TRACES, file), 'utf8'), file), { chunk: chunksOf([1]) });
    });
  }
});

describe('call analysis on the real traces that dial: what a module printed, with analysis asked for', function () {
  this.timeout(20000);
  const dialling = TRACE_FILES.map((file) => ({ file, text: readFileSync(join(TRACES, file), 'utf8') })).filter(
    ({ text }) => /^@origin real$/m.test(text) && /^(\+\d+ )?! dial /m.test(text),
  );
  const withDetect = (text: string, detect: string): string => text.replace(/^((?:\+\d+ )?! dial [^\n#]*?)(\s*(#.*)?)$/gm, `$1 detect=${detect}$2`);

  it('there are real traces that dial', () => assert.ok(dialling.length >= 3, `${dialling.length} real traces dial`));
  for (const { file, text } of dialling) {
    it(`${file}: network tones asked for (detect=off) send nothing more and change no event (no PCM port on hardware)`, async () => {
      await replayTrace(parseTrace(withDetect(text, 'off'), file));
    });
    it(`${file}: far-end detection (detect=machine) is refused before ATD, naming the missing PCM port`, async () => {
      await assert.rejects(replayTrace(parseTrace(withDetect(text, 'machine'), file)), /call analysis needs the call's audio; this line \(.*\) has no PCM port/);
    });
  }
});

describe('every trace says whether it is real, and a real one where it comes from', () => {
  for (const file of TRACE_FILES) {
    it(file, () => {
      const text = readFileSync(join(TRACES, file), 'utf8');
      const { origin } = parseTrace(text, file);
      assert.ok(origin === 'real' || origin === 'manual', `${file}: @origin real or @origin manual`);
      if (origin === 'real') {
        const source = text.split('\n').find((l) => l.startsWith('# Source:'));
        assert.ok(source && /https?:\/\/|[\w.-]+\/[\w.-]+[ ,]/.test(source), `${file}: a "# Source:" line with its address`);
      }
    });
  }

  it('eight or more traces are real', () => {
    const real = TRACE_FILES.filter((f) => parseTrace(readFileSync(join(TRACES, f), 'utf8'), f).origin === 'real');
    assert.ok(real.length >= 8, `real traces: ${real.join(', ') || 'none'}`);
  });
});

describe('the trace format', () => {
  const HEAD = '@profile generic\n@manufacturer Generic\n@model GSM Modem\n';

  it('reads headers, steps, delays, comments and an @init block', () => {
    const t = parseTrace(
      [
        '# a comment',
        '@modem quectel-asr',
        '@model EC600N   # trailing comment',
        '@timeout 500',
        '@init',
        '> AT+CGMR',
        '< +CGMR: "X1"',
        '< OK',
        '@end',
        '> AT+CLCC',
        '< +CLCC: 1,1,4,0,0,"#31#10086",129',
        '< RING                  # a URC inside the answer',
        '< OK',
        '+250 < ^DSCI: 1,1,4,0,10086,129,0',
        '= incoming number=10086 call.remote.name="A B"',
        '+10 ! hangup busy index=1',
        '> AT+QHUP=17,1',
      ].join('\n'),
      'x.trace',
    );
    assert.equal(t.modem, 'quectel-asr');
    assert.equal(t.identity.model, 'EC600N');
    assert.equal(t.timeoutMs, 500);
    assert.deepEqual(t.init.get('AT+CGMR'), ['+CGMR: "X1"', 'OK']);
    assert.deepEqual(
      t.steps.map((s) => s.kind),
      ['calls', 'module', 'module', 'event', 'action', 'host'],
    );
    const calls = t.steps[0] as Extract<(typeof t.steps)[number], { kind: 'calls' }>;
    assert.deepEqual(calls.lines, ['+CLCC: 1,1,4,0,0,"#31#10086",129'], 'a # inside quotes is no comment');
    assert.equal((t.steps[2] as { delayMs: number }).delayMs, 250);
    assert.deepEqual((t.steps[3] as { fields: unknown }).fields, [['number', '10086'], ['call.remote.name', 'A B']]);
    assert.deepEqual((t.steps[4] as { options: unknown; args: unknown }).options, { index: '1' });
    assert.deepEqual((t.steps[4] as { args: unknown }).args, ['busy']);
  });

  it('reads @echo on/off, and the module then echoes every command it reads', async () => {
    assert.equal(parseTrace('@echo on', 'e.trace').echo, true);
    assert.equal(parseTrace('', 'e.trace').echo, false);
    const r = await replayTrace(parseTrace(`${HEAD}@echo on\n! dial 5551234\n= dialing\n> ATD5551234;\n> AT+CLCC\n< OK\n< OK\n< NO CARRIER\n> AT+CEER\n< +CEER: "Normal call clearing"\n< OK\n= ended cause=normal\n`, 'echo.trace'));
    assert.deepEqual(r.commands.filter((c) => c !== 'AT+CLCC'), ['ATD5551234;', 'AT+CEER']);
  });

  for (const [text, message] of [
    ['@echo loud', /x\.trace:1: @echo wants on or off/],
    ['@origin guess', /x\.trace:1: @origin wants real or manual/],
    ['@colour blue', /x\.trace:1: unknown header @colour/],
    ['? what', /x\.trace:1: a line starts with/],
    ['! jump', /x\.trace:1: unknown action "jump"/],
    ['! dial', /x\.trace:1: "! dial" needs one number/],
    ['+5 = ended', /x\.trace:1: an expected event takes no delay/],
    ['= ended cause', /x\.trace:1: expected key=value/],
    ['@init\n> AT', /x\.trace: @init without @end/],
    ['@timeout soon', /x\.trace:1: @timeout wants milliseconds/],
  ] as const) {
    it(`refuses "${text.split('\n')[0]}" naming the line`, () => {
      assert.throws(() => parseTrace(text, 'x.trace'), (err: Error) => err instanceof TraceFormatError && message.test(err.message));
    });
  }

  it('fails with the expected and the actual host command, and the steps before', async () => {
    const trace = `${HEAD}! dial 5551234\n= dialing\n> ATD5551234#;\n`;
    await assert.rejects(replayTrace(parseTrace(trace, 'diff.trace')), (err: Error) => {
      assert.ok(err instanceof TraceMismatchError);
      assert.match(err.message, /^diff\.trace:6: expected\n {4}> ATD5551234#;\nbut got\n {4}> ATD5551234;\n/);
      assert.match(err.message, /5: = dialing/);
      return true;
    });
  });

  it('fails on an event that is not the expected one, showing its payload', async () => {
    const trace = `${HEAD}> AT+CLCC\n< +CLCC: 1,1,4,0,0,"10086",129\n< OK\n< RING\n= incoming\n< +CLIP: "10086",129,,,,0\n! hangup busy\n> AT+CHUP\n> AT+CLCC\n< OK\n< OK\n= ended cause=normal\n`;
    await assert.rejects(replayTrace(parseTrace(trace, 'ev.trace')), /ev\.trace:15: expected\n {4}= ended cause=normal\nbut got\n {4}= ended cause=busy by=local/);
  });

  it('fails on an event the trace does not expect (no message sent twice)', async () => {
    const trace = `${HEAD}> AT+CLCC\n< +CLCC: 1,1,4,0,0,"10086",129\n< OK\n< RING\n`;
    await assert.rejects(replayTrace(parseTrace(trace, 'extra.trace')), /extra\.trace \(after the last step\): expected\n {4}no more events\nbut got\n {4}= incoming/);
  });

  it('fails when the host does not send what the trace expects in time', async () => {
    const trace = `${HEAD}@timeout 300\n> ATA\n`;
    await assert.rejects(replayTrace(parseTrace(trace, 'quiet.trace')), /quiet\.trace:5: expected\n {4}> ATA\nbut got\n {4}nothing within 300 ms/);
  });

  it('fails when the line takes the module for another profile than @profile', async () => {
    const trace = '@profile quectel-unisoc\n@manufacturer Quectel\n@model EC25\n';
    await assert.rejects(replayTrace(parseTrace(trace, 'p.trace')), /taken for profile "quectel-ec2x", the trace says @profile quectel-unisoc/);
  });
});

describe('module identification (ATI, AT+CGMM, AT+CGMR as modules answer them)', function () {
  this.timeout(20000);

  /** The module's identity and profile when it answers the init with `init` (an @init block). */
  async function identify(header: string, init = ''): Promise<{ identity: unknown; profile?: string; callReport: string }> {
    const r = await replayTrace(parseTrace(`${header}\n@init\n${init}\n@end\n`, 'id.trace'), { settleMs: 0 });
    return { identity: r.module.identity, profile: r.module.profile, callReport: r.module.callReport };
  }

  it('Quectel, bare lines (EC200U manual: ATI → Quectel / EC200U / Revision: ...)', async () => {
    const r = await identify('@manufacturer Quectel\n@model EC200U\n@revision EC200UCNAAR02A01M08');
    assert.deepEqual(r, {
      identity: { manufacturer: 'Quectel', model: 'EC200U', revision: 'EC200UCNAAR02A01M08' },
      profile: 'quectel-unisoc',
      callReport: 'ccinfo',
    });
  });

  it('prefixed and quoted answers (+CGMM: "EG915U", +CGMR: "...")', async () => {
    const r = await identify('@manufacturer Quectel', '> AT+CGMM\n< +CGMM: "EG915U"\n< OK\n> AT+CGMR\n< +CGMR: "EG915UEUABR03A01M08"\n< OK');
    assert.deepEqual(r.identity, { manufacturer: 'Quectel', model: 'EG915U', revision: 'EG915UEUABR03A01M08' });
    assert.equal(r.profile, 'quectel-unisoc');
  });

  it('labelled ATI lines, AT+CGMM refused', async () => {
    const r = await identify(
      '',
      '> ATI\n< Manufacturer: QUECTEL\n< Model: EC200N-CN\n< Revision: EC200NCNAAR01A05M16\n< OK\n> AT+CGMM\n< ERROR\n> AT+CGMR\n< ERROR',
    );
    assert.deepEqual(r.identity, { manufacturer: 'QUECTEL', model: 'EC200N-CN', revision: 'EC200NCNAAR01A05M16' });
    assert.equal(r.profile, 'quectel-asr');
    assert.equal(r.callReport, 'dsci');
  });

  it('an ASR module whose firmware refuses AT^DSCI=1 falls back to ccinfo', async () => {
    const r = await identify('@manufacturer Quectel\n@model EC200A\n@revision EC200AAUHAR01A05M16', '> AT^DSCI=1\n< ERROR');
    assert.equal(r.profile, 'quectel-asr');
    assert.equal(r.callReport, 'ccinfo');
  });

  for (const [model, profile] of [
    ['EC600S', 'quectel-asr'],
    ['EG912N', 'quectel-asr'],
    ['EC600U', 'quectel-unisoc'],
    ['EG912U', 'quectel-unisoc'],
    ['EC21', 'quectel-ec2x'],
    ['EG25', 'quectel-ec2x'],
    ['EC100Y', 'quectel-asr'],
    ['EC800N-CN', 'quectel-asr'],
    ['EC200T', 'quectel-ec2x'], // a Quectel the profiles do not list: its URCs are still Quectel's
  ] as const) {
    it(`Quectel ${model} → ${profile}`, async () => {
      assert.equal((await identify(`@manufacturer Quectel\n@model ${model}`)).profile, profile);
    });
  }

  it('a module of another make is a generic 27.007 modem, followed by AT+CLCC polling', async () => {
    const r = await identify('@manufacturer SIMCOM INCORPORATED\n@model SIMCOM_SIM7600E-H\n@revision LE20B04SIM7600M22');
    assert.equal(r.profile, 'generic');
    assert.equal(r.callReport, 'poll');
  });
});

describe('module identification on every emulated module', function () {
  this.timeout(20000);
  for (const [sim, profile, model, report] of [
    ['ec600n', 'quectel-asr', 'EC600N', 'dsci'],
    ['ec200u', 'quectel-unisoc', 'EC200U', 'ccinfo'],
    ['ec25', 'quectel-ec2x', 'EC25', 'ccinfo'],
    ['generic', 'generic', 'GSM Modem', 'poll'],
  ] as const) {
    it(`sim:${sim} → ${profile}, call state by ${report}`, async () => {
      const h = await startLine(sim);
      try {
        assert.equal(h.backend.profile?.name, profile);
        assert.equal(h.backend.identity?.model, model);
        assert.equal(h.backend.callReport, report);
        const cmds = h.modem().commands;
        assert.deepEqual(cmds.filter((c) => ['ATI', 'AT+CGMM', 'AT+CGMR'].includes(c)), ['ATI', 'AT+CGMM', 'AT+CGMR']);
        const reportCmd = { dsci: 'AT^DSCI=1', ccinfo: 'AT+QINDCFG="ccinfo",1,1', poll: undefined }[report];
        if (reportCmd) assert.ok(cmds.includes(reportCmd), `${reportCmd} sent`);
        else assert.ok(!cmds.some((c) => c.startsWith('AT^DSCI') || c.startsWith('AT+QINDCFG')), 'no call-state URC asked of a generic modem');
      } finally {
        await h.close();
      }
    });
  }
});

describe('^DSCI as the manuals and firmware write it', () => {
  it('ASR manual: number unquoted, last field <tone_info> (not a cause)', () => {
    const o = parseDsci('^DSCI: 1,1,6,0,13022100000,129,0');
    assert.deepEqual(o, { index: 1, dir: 1, stat: ClccStat.Released, mode: 0, number: '13022100000', numberType: 129 });
  });

  it('Unisoc firmware: <mpty> before the number, the Q.850 cause in the 9th field', () => {
    const busy = parseDsci('^DSCI: 1,0,6,0,0,"13611112222",129,,17,128,"",255');
    assert.equal(busy?.number, '13611112222');
    assert.equal(busy?.q850, 17);
    assert.equal(parseDsci('^DSCI: 1,0,2,1,0,18062077083,129,,,,0')?.number, '18062077083');
  });

  it('the emulator\'s layout: quoted number, the cause last', () => {
    assert.equal(parseDsci('^DSCI: 1,0,6,0,"10086",129,17')?.q850, 17);
  });

  describe('<stat> numbering: ASR (manual: 2 dialing, 7 alerting, 3 connected) vs Unisoc (as +CLCC: 3 alerting, 0 active)', () => {
    for (const [line, stat] of [
      // ASR layout (number right after <type>): the manual's numbering.
      ['^DSCI: 1,0,2,0,10086,129,0', ClccStat.Dialing],
      ['^DSCI: 1,0,7,0,10086,129,0', ClccStat.Alerting],
      ['^DSCI: 1,0,3,0,10086,129,0', ClccStat.Active],
      ['^DSCI: 1,1,4,0,13022100000,129,0', ClccStat.Incoming],
      ['^DSCI: 1,0,1,0,10086,129,0', ClccStat.Held],
      ['^DSCI: 1,0,6,0,10086,129,0', ClccStat.Released],
      // Unisoc layout (<mpty> before the number): +CLCC's numbering, 6 released.
      ['^DSCI: 1,0,2,0,0,"10086",129', ClccStat.Dialing],
      ['^DSCI: 1,0,3,0,0,"10086",129', ClccStat.Alerting],
      ['^DSCI: 1,0,0,0,0,"13611112222",129,,,128,"",0', ClccStat.Active],
      ['^DSCI: 1,0,0,1,0,18062077083,129', ClccStat.Active],
      ['^DSCI: 1,0,1,0,0,"10086",129', ClccStat.Held],
      ['^DSCI: 1,1,5,0,0,"10086",129', ClccStat.Waiting],
      ['^DSCI: 1,0,6,1,0,18062077083,129,,1200', ClccStat.Released],
    ] as const) {
      it(`${line} → ${ClccStat[stat]}`, () => assert.equal(parseDsci(line)?.stat, stat));
    }

    it('a stat the layout\'s numbering has not is no observation (7 in the Unisoc layout, 0 in the ASR one)', () => {
      assert.equal(parseDsci('^DSCI: 1,0,7,0,0,"10086",129'), null);
      assert.equal(parseDsci('^DSCI: 1,0,0,0,10086,129,0'), null);
    });

    it('the numbering can be given (a profile that knows its firmware)', () => {
      assert.equal(parseDsci('^DSCI: 1,0,3,0,0,"10086",129', 'asr')?.stat, ClccStat.Active);
      assert.equal(parseDsci('^DSCI: 1,0,3,0,10086,129,0', 'clcc')?.stat, ClccStat.Alerting);
    });

    it('a Unisoc IMS reason in the cause field (1200) is no Q.850 cause; <mpty> is kept', () => {
      const o = parseDsci('^DSCI: 1,0,6,1,0,18062077083,129,,1200');
      assert.equal(o?.q850, undefined);
      assert.equal(o?.multiparty, false);
    });
  });
});

describe('modules without voice calls (QuecPython voiceCall: BC25/EC600G/EC800G/BG95/BG77)', function () {
  this.timeout(20000);
  const id = (model: string) => ({ manufacturer: 'Quectel', model, revision: '' });

  it('voiceSupport() refuses them by model, and takes every module of the voiceCall list', () => {
    for (const model of ['BC25', 'BC66', 'EC600G-CN', 'EC800G', 'BG95-M3', 'BG77']) {
      assert.deepEqual(voiceSupport(id(model)), { voice: false, reason: `${model} has no voice calls` });
    }
    const listed = ['EC100Y', 'EC200N', 'EC600N', 'EC600S', 'EC800N', 'EG912N', 'EG915N', 'EC200A', 'EC200U', 'EC600U', 'EG912U', 'EG915U', 'EC25', 'EG25-G'];
    for (const model of listed) {
      assert.deepEqual(voiceSupport(id(model)), { voice: true }, model);
      assert.notEqual(detectProfile(id(model)), MODEM_PROFILES.generic, `${model} has a Quectel profile`);
    }
  });

  it('the line refuses an emulated BG95 once identified: red status "BG95-M3 has no voice calls", no line-up', async () => {
    const device = new TestSimDevice('bg95');
    const backend = new AtBackend({ lineId: 'L1', path: 'test:bg95', baudRate: 115200, modem: 'auto', log: memoryLog(), timing: FAST_BACKEND, device });
    const line = new VoiceLine({ id: 'L1', backend: 'at' }, { backendFactory: () => backend, log: memoryLog() });
    const events = new EventLog(line, 3000);
    const refused = new Promise<string>((resolve) =>
      line.on('status', () => {
        if (line.status.state === 'error' && /has no voice calls/.test(line.status.text)) resolve(line.status.text);
      }),
    );
    line.acquire('test');
    try {
      assert.match(await refused, /BG95-M3 has no voice calls/);
      assert.equal(backend.identity?.model, 'BG95-M3');
      const cmds = device.emulator?.commands ?? [];
      assert.ok(!cmds.includes('AT+CLIP=1'), 'the initialisation stops at the identification');
      assert.ok(!events.events.some((e) => e.topic === 'line-up'), 'the line never comes up');
    } finally {
      await line.stop();
    }
  });
});
