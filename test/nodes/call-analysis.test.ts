import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import voiceDetect = require('../../nodes/voice-detect');
import voicePlay = require('../../nodes/voice-play');
import { BeepAnalyser } from '../../lib/analysis/beep';
import type { EmulatorAudio } from '../../lib/at/emulator/features/audio';
import { CallAnalyser } from '../../lib/analysis/call-analyser';
import { FaxAnalyser } from '../../lib/analysis/fax';
import type { VoiceEvent } from '../../lib/line/voice-line';
import { feedCall } from '../helpers/analysis-call';
import { corpusFixture, CorpusFixture } from '../helpers/analysis-corpus';
import { encodeUlaw } from '../../lib/media/g711';
import { concat, silence, tones } from '../../lib/media/tone-generator';
import { Sipp, pickPorts, pickSippMediaPort, requirePeer, sippScenario } from '../helpers/sip-peers';
import { answeredCall } from './audio-flow-helpers';
import { FlowNode, Inbox, NODES, emulatorOf, errorsOf, getNode, helper, lineNode, lineOf, nextError, sink, statusesOf, voiceNode, waitFor, waitReady } from './flow-helpers';

/**
 * Call analysis in flows (issue 13): voice-dial's detect settings and msg.detect, its answered message
 * with the far-end verdict, and the voice-detect node; on two SIP lines on loopback (line B plays a
 * corpus recording: an answering machine's greeting with its beep, or a person), and the error paths
 * on an emulated modem whose call audio does not reach this host (EC600N: no PCM port).
 */
const WITH_DETECT = [...NODES, voiceDetect, voicePlay];

const codeOf = (err: Error): string | undefined => (err as Error & { code?: string }).code;
const dialled = (lineId: string): string[] => emulatorOf(lineId).commands.filter((c) => /^ATD/i.test(c));

describe('call analysis in flows', function () {
  this.timeout(30000);
  afterEach(async function () {
    await helper.unload();
  });

  describe('on a modem line without the call audio (EC600N), and bad settings', () => {
    it('a voice-dial saved without the analysis settings dials as before: answered, no verdict, no error', async function () {
      await helper.load(WITH_DETECT, [lineNode('L'), voiceNode('D', 'voice-dial', 'L', [['OK'], ['NO']], { number: '5551234', ringTimeout: 30 }), sink('OK'), sink('NO')]);
      await waitReady('L');
      const ok = new Inbox('OK');
      getNode('D').receive({});
      const msg = await ok.next('answered');
      assert.equal(msg.topic, 'answered');
      assert.equal(msg.payload.farEnd, undefined);
      assert.equal(msg.call.state, 'active');
      assert.deepEqual(errorsOf('D'), []);
    });

    it('detect machine fails the message with ENOTSUP and dials nothing', async function () {
      await helper.load(WITH_DETECT, [lineNode('L'), voiceNode('D', 'voice-dial', 'L', [['OK'], ['NO']], { number: '5551234', ringTimeout: 30, detect: 'machine', detectTimeout: 5 }), sink('OK'), sink('NO')]);
      await waitReady('L');
      getNode('D').receive({});
      const err = await nextError('D');
      assert.equal(codeOf(err), 'ENOTSUP');
      assert.match(String(err), /call analysis needs the call's audio; this line \(Quectel EC600N .*\) has no PCM port/);
      assert.deepEqual(dialled('L'), []);
    });

    it('msg.detect "machine" turns it on for one message (ENOTSUP here); "off" leaves it off', async function () {
      await helper.load(WITH_DETECT, [lineNode('L'), voiceNode('D', 'voice-dial', 'L', [['OK'], ['NO']], { number: '5551234', ringTimeout: 30, detect: 'off' }), sink('OK'), sink('NO')]);
      await waitReady('L');
      const ok = new Inbox('OK');
      getNode('D').receive({ detect: 'machine' });
      assert.equal(codeOf(await nextError('D')), 'ENOTSUP');
      assert.deepEqual(dialled('L'), []);
      getNode('D').receive({ detect: 'off' });
      const msg = await ok.next('answered');
      assert.equal(msg.payload.farEnd, undefined);
      assert.equal(dialled('L').length, 1);
    });

    for (const [what, detect, words] of [
      ['an unknown choice', 'maybe', /"detect" must be "machine" .* or "off", got string maybe/],
      ['a number', 42, /msg.detect must be "machine", "off" or an object/],
      ['an unknown option name', { detect: 'machine', timeout: 5 }, /have no "timeout": use detect, timeoutMs, start, tones, sitEndsCall/],
      ['a timeout out of range', { detect: 'machine', timeoutMs: 500 }, /"timeoutMs" must be a number of milliseconds from 1000 to 30000, got number 500/],
      ['a start that is not answer or connect', { start: 'ring' }, /"start" must be "answer" or "connect"/],
      ['a tones flag that is not a boolean', { tones: 'yes' }, /"tones" must be true or false/],
    ] as const) {
      it(`msg.detect with ${what} fails the message with EINVAL, nothing dialled`, async function () {
        await helper.load(WITH_DETECT, [lineNode('L'), voiceNode('D', 'voice-dial', 'L', [['OK'], ['NO']], { number: '5551234', ringTimeout: 30 }), sink('OK'), sink('NO')]);
        await waitReady('L');
        getNode('D').receive({ detect });
        const err = await nextError('D');
        assert.equal(codeOf(err), 'EINVAL', String(err));
        assert.match(String(err), words);
        assert.deepEqual(dialled('L'), []);
      });
    }

    it('a node whose detect timeout is out of range (40 s) fails each message with EINVAL, nothing dialled', async function () {
      await helper.load(WITH_DETECT, [lineNode('L'), voiceNode('D', 'voice-dial', 'L', [['OK'], ['NO']], { number: '5551234', ringTimeout: 30, detect: 'machine', detectTimeout: 40 }), sink('OK'), sink('NO')]);
      await waitReady('L');
      getNode('D').receive({});
      const err = await nextError('D');
      assert.equal(codeOf(err), 'EINVAL');
      assert.match(String(err), /got number 40000/);
      assert.deepEqual(dialled('L'), []);
    });

    it('voice-detect on a connected call fails with ENOTSUP; with no call, or an ended one, with ENOCALL; a bad timeout with EINVAL', async function () {
      await helper.load(WITH_DETECT, [lineNode('L'), voiceNode('V', 'voice-detect', 'L', [['OUT']], { detectTimeout: 5, detectStart: 'answer' }), voiceNode('W', 'voice-detect', 'L', [['OUT']], { detectTimeout: 0.5 }), sink('OUT')]);
      await waitReady('L');
      getNode('V').receive({});
      await waitFor('the first error', () => errorsOf('V').length === 1);
      assert.equal(codeOf(errorsOf('V')[0]), 'ENOCALL', String(errorsOf('V')[0]));
      const id = await answeredCall('L');
      getNode('V').receive({ call: id });
      await waitFor('the second error', () => errorsOf('V').length === 2);
      assert.equal(codeOf(errorsOf('V')[1]), 'ENOTSUP');
      assert.match(String(errorsOf('V')[1]), /call analysis needs the call's audio; this line .* has no PCM port/);
      getNode('W').receive({ call: id });
      const bad = await nextError('W');
      assert.equal(codeOf(bad), 'EINVAL');
      assert.match(String(bad), /"timeoutMs" must be .* got number 500/);
      await lineOf('L').hangup(id);
      await waitFor('the call gone', () => lineOf('L').activeCalls().length === 0);
      getNode('V').receive({ call: id });
      await waitFor('the third error', () => errorsOf('V').length === 3);
      assert.equal(codeOf(errorsOf('V')[2]), 'ENOCALL');
      assert.match(String(errorsOf('V')[2]), /is not in progress/);
    });
  });

  describe('on two SIP lines on loopback (line B plays a corpus recording), and an emulated EC25', function () {
    this.timeout(60000);
    let corpus: CorpusFixture;
    /** A machine's greeting with a beep, and a person answering, that the analyser itself classifies as labelled. */
    let machine: { file: string; beepHz: number };
    let person: string;

    /** The verdict of the analyser on the file as it is (no network), to pick files the classifier gets right. */
    const offlineVerdict = (file: string): string | undefined => {
      const a = new CallAnalyser({ detectors: [new BeepAnalyser(), new FaxAnalyser()] });
      const ev = feedCall(a, corpus.audio(file), { answerAtMs: 0, totalMs: 30000 });
      return (ev.find((e) => e.topic === 'far-end') as { farEnd?: string } | undefined)?.farEnd;
    };

    before(function () {
      this.timeout(180000);
      corpus = corpusFixture(this);
      const files = Object.entries(corpus.corpus.files).sort((a, b) => a[1].durationMs - b[1].durationMs);
      const m = files.find(([f, l]) => l.class === 'machine' && l.beepEndMs && !l.musicMs && l.levelDb === 0 && offlineVerdict(f) === 'machine');
      const h = files.find(([f, l]) => l.class === 'human' && l.levelDb === 0 && !l.noiseDbfs && offlineVerdict(f) === 'human');
      assert.ok(m && h, 'the corpus has a machine with a beep and a person that the analyser classifies as labelled');
      machine = { file: m[0], beepHz: m[1].beepHz as number };
      person = h[0];
    });

    it('on an emulated EC25 (its PCM port): voice-dial hears a machine, voice-detect a person', async function () {
      await helper.load(WITH_DETECT, [
        lineNode('L', { serialPort: 'sim:ec25' }),
        voiceNode('D', 'voice-dial', 'L', [['OK'], ['NO']], { number: '5551234', ringTimeout: 30, detect: 'machine', detectTimeout: 10, detectResult: 'wait' }),
        voiceNode('V', 'voice-detect', 'L', [['OUT']], { detectTimeout: 10 }),
        voiceNode('EV', 'voice-events', 'L', [['SEEN']], { events: ['far-end', 'beep', 'greeting-end'] }),
        sink('OK'), sink('NO'), sink('OUT'), sink('SEEN'),
      ]);
      await waitReady('L');
      const ok = new Inbox('OK');
      const seen = new Inbox('SEEN');
      emulatorOf('L').feature<EmulatorAudio>('audio').farEndSays(corpus.audio(machine.file));
      getNode('D').receive({});
      const msg = await ok.next('answered with the verdict', () => true, 20000);
      assert.equal(msg.payload.farEnd, 'machine', JSON.stringify(msg.payload));
      await seen.next('the beep', (m) => m.topic === 'beep', 30000);
      await lineOf('L').hangup(msg.call.id);
      await waitFor('the call gone', () => lineOf('L').activeCalls().length === 0);
      // A call answered here, then voice-detect on it.
      const out = new Inbox('OUT');
      emulatorOf('L').feature<EmulatorAudio>('audio').farEndSays(corpus.audio(person));
      const id = await answeredCall('L');
      getNode('V').receive({ call: id });
      const verdict = await out.next('the verdict', () => true, 20000);
      assert.deepEqual([verdict.topic, verdict.payload.farEnd, verdict.call.id], ['far-end', 'human', id], JSON.stringify(verdict.payload));
      await lineOf('L').hangup(id);
      assert.deepEqual([...errorsOf('D'), ...errorsOf('V')], []);
    });

    /** Lines A (1001) and B (2002) calling each other on 127.0.0.1, in trunk mode. */
    async function sipLines(): Promise<FlowNode[]> {
      const base = await pickPorts(2);
      const rtp = 30000 + 32 * randomInt(0, 300);
      const sipLine = (id: string, username: string, port: number, peer: number, rtpMin: number): FlowNode => ({
        id, type: 'voice-line', name: `line ${username}`, backend: 'sip', server: `127.0.0.1:${peer}`, transport: 'udp',
        username, domain: '', register: false, localPort: port, rtpPortMin: rtpMin, rtpPortMax: rtpMin + 15, autoAnswer: 0, autoReject: false,
      });
      return [sipLine('A', '1001', base, base + 1, rtp), sipLine('B', '2002', base + 1, base, rtp + 16)];
    }

    /** Line B answers every call and plays `file` (a corpus file) into it. */
    function answersAndPlays(file: string): FlowNode[] {
      return [
        voiceNode('BIN', 'voice-events', 'B', [['BANS']], { events: ['incoming'] }),
        voiceNode('BANS', 'voice-answer', 'B', [['BPLAY']]),
        voiceNode('BPLAY', 'voice-play', 'B', [[]], { source: file, sourceType: 'str', folder: corpus.dir }),
      ];
    }

    async function load(flow: FlowNode[]): Promise<{ eventsA: VoiceEvent[] }> {
      await helper.load(WITH_DETECT, flow);
      await Promise.all([waitReady('A'), waitReady('B')]);
      const eventsA: VoiceEvent[] = [];
      lineOf('A').on('event', (e: VoiceEvent) => eventsA.push(e));
      return { eventsA };
    }

    it('detect machine, verdict wait: the answered message carries farEnd machine, its evidence and time; voice-events then sends the beep', async function () {
      const { eventsA } = await load([
        ...(await sipLines()),
        ...answersAndPlays(machine.file),
        voiceNode('D', 'voice-dial', 'A', [['OK'], ['NO']], { number: '2002', ringTimeout: 30, detect: 'machine', detectTimeout: 10, detectStart: 'answer', detectResult: 'wait' }),
        voiceNode('EV', 'voice-events', 'A', [['SEEN']], { events: ['far-end', 'beep', 'greeting-end'] }),
        sink('OK'), sink('NO'), sink('SEEN'),
      ]);
      const ok = new Inbox('OK');
      const seen = new Inbox('SEEN');
      getNode('D').receive({ keep: 'me' });
      const msg = await ok.next('answered with the verdict', () => true, 20000);
      assert.equal(msg.topic, 'answered');
      assert.equal(msg.keep, 'me', 'the rest of the message kept');
      assert.equal(msg.payload.farEnd, 'machine', JSON.stringify(msg.payload));
      assert.equal(typeof msg.payload.decisionMs, 'number');
      assert.ok(msg.payload.decisionMs > 0 && msg.payload.decisionMs <= 10000, `decided within the timeout: ${msg.payload.decisionMs}`);
      assert.equal(typeof msg.payload.evidence?.cause, 'string', JSON.stringify(msg.payload));
      assert.equal(msg.call.state, 'active');
      const farEnd = eventsA.find((e) => e.topic === 'far-end');
      assert.ok(farEnd, 'the far-end event came before the answered message');
      for (const [k, v] of Object.entries(farEnd.payload)) assert.deepEqual(msg.payload[k], v, `the answered message's ${k} is the event's`);
      const beep = await seen.next('the beep', (m) => m.topic === 'beep', 30000);
      assert.ok(Math.abs(beep.payload.frequencyHz - machine.beepHz) <= machine.beepHz * 0.03, `beep at ${beep.payload.frequencyHz} Hz, the file's at ${machine.beepHz} Hz`);
      assert.equal(beep.call.id, msg.call.id);
      assert.deepEqual(seen.topics().slice(0, 2), ['far-end', 'beep'], 'far-end first, then the beep; no greeting-end as well');
      // The status said so while it waited.
      assert.ok(statusesOf('D').some((st) => st.text === 'detecting…'), JSON.stringify(statusesOf('D')));
      await lineOf('A').hangup(msg.call.id);
      assert.deepEqual([...errorsOf('D'), ...errorsOf('BPLAY')], []);
    });

    it('verdict event: the answered message goes at once without a verdict; a person is human on voice-events', async function () {
      const { eventsA } = await load([
        ...(await sipLines()),
        ...answersAndPlays(person),
        voiceNode('D', 'voice-dial', 'A', [['OK'], ['NO']], { number: '2002', ringTimeout: 30, detect: 'machine', detectTimeout: 5, detectResult: 'event' }),
        sink('OK'), sink('NO'),
      ]);
      const ok = new Inbox('OK');
      getNode('D').receive({});
      const msg = await ok.next('answered', () => true, 20000);
      assert.equal(msg.payload.farEnd, undefined, 'no verdict in the answered message');
      assert.equal(eventsA.some((e) => e.topic === 'far-end'), false, 'sent before the verdict');
      await waitFor('the far-end event', () => eventsA.some((e) => e.topic === 'far-end'), 15000);
      const farEnd = eventsA.find((e) => e.topic === 'far-end')!;
      assert.equal(farEnd.payload.farEnd, 'human', JSON.stringify(farEnd.payload));
      assert.equal(farEnd.call?.id, msg.call.id);
      await lineOf('A').hangup(msg.call.id);
    });

    it('msg.detect "machine" on a node with detection off: the answered message waits for the verdict', async function () {
      await load([
        ...(await sipLines()),
        ...answersAndPlays(person),
        voiceNode('D', 'voice-dial', 'A', [['OK'], ['NO']], { number: '2002', ringTimeout: 30 }),
        sink('OK'), sink('NO'),
      ]);
      const ok = new Inbox('OK');
      getNode('D').receive({ detect: { detect: 'machine', timeoutMs: 8000 } });
      const msg = await ok.next('answered', () => true, 20000);
      assert.equal(msg.payload.farEnd, 'human', JSON.stringify(msg.payload));
      await lineOf('A').hangup(msg.call.id);
    });

    it('verdict wait, and the other side hangs up before it: output 2 with the ended payload', async function () {
      await load([
        ...(await sipLines()),
        voiceNode('BIN', 'voice-events', 'B', [['BANS']], { events: ['incoming'] }),
        voiceNode('BANS', 'voice-answer', 'B', [['BHUP']]),
        voiceNode('BHUP', 'voice-hangup', 'B', [[]], { mode: 'hangup', cause: 'normal' }),
        voiceNode('D', 'voice-dial', 'A', [['OK'], ['NO']], { number: '2002', ringTimeout: 30, detect: 'machine', detectTimeout: 10, detectResult: 'wait' }),
        sink('OK'), sink('NO'),
      ]);
      const ok = new Inbox('OK');
      const no = new Inbox('NO');
      getNode('D').receive({});
      const msg = await no.next('not answered', () => true, 20000);
      assert.equal(msg.topic, 'ended');
      assert.deepEqual([msg.payload.cause, msg.payload.by], ['normal', 'remote']);
      assert.equal(msg.call.state, 'ended');
      assert.deepEqual(ok.messages, []);
      assert.deepEqual(errorsOf('D'), []);
    });

    it('voice-detect on a call it answered: one far-end message, machine; the beep comes from voice-events', async function () {
      const { eventsA } = await load([
        ...(await sipLines()),
        voiceNode('AIN', 'voice-events', 'A', [['AANS']], { events: ['incoming'] }),
        voiceNode('AANS', 'voice-answer', 'A', [['V']]),
        voiceNode('V', 'voice-detect', 'A', [['OUT']], { detectTimeout: 10, detectStart: 'answer' }),
        voiceNode('BPLAY', 'voice-play', 'B', [[]], { source: machine.file, sourceType: 'str', folder: corpus.dir }),
        sink('OUT'),
      ]);
      const out = new Inbox('OUT');
      const callB = await lineOf('B').dial('1001');
      await waitFor('answered', () => callB.state === 'active', 10000).catch((err) => {
        throw new Error(`${err.message}: B's call is ${callB.state}; A's errors ${errorsOf('AIN').concat(errorsOf('AANS')).map(String)}; A's calls ${lineOf('A').activeCalls().map((c) => c.state)}`);
      });
      getNode('BPLAY').receive({ call: callB.id });
      const msg = await out.next('the verdict', () => true, 20000);
      assert.equal(msg.topic, 'far-end');
      assert.equal(msg.payload.farEnd, 'machine', JSON.stringify(msg.payload));
      assert.equal(typeof msg.payload.decisionMs, 'number');
      await waitFor('the beep on voice-events', () => eventsA.some((e) => e.topic === 'beep'), 30000);
      assert.equal(out.messages.length, 1, 'one message');
      await lineOf('B').hangup(callB.id);
      assert.deepEqual(errorsOf('V'), []);
    });

    it('the example "leave a message after the beep": a machine gets the message after its beep, then the call is hung up', async function () {
      this.timeout(60000);
      const root = findRoot(__dirname);
      const nodes = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'leave-a-message.json'), 'utf8')) as FlowNode[];
      const base = await pickPorts(2);
      const rtp = 30000 + 32 * randomInt(0, 300);
      const lines = nodes.filter((n) => n.type === 'voice-line');
      const [a, b] = lines;
      // On free ports (the example's own may be in use on a test machine), otherwise as written.
      const ports: Record<string, Partial<FlowNode>> = {
        [a.id]: { localPort: base, server: `127.0.0.1:${base + 1}`, rtpPortMin: rtp, rtpPortMax: rtp + 15 },
        [b.id]: { localPort: base + 1, server: `127.0.0.1:${base}`, rtpPortMin: rtp + 16, rtpPortMax: rtp + 31 },
      };
      const tab = 'example-tab';
      const flow = [
        { id: tab, type: 'tab', label: 'leave-a-message' },
        ...nodes.map((n) => (n.type === 'voice-line' ? { ...n, ...ports[n.id] } : n.type === 'debug' ? { id: n.id, type: 'helper', z: tab } : { ...n, z: tab })),
      ] as FlowNode[];
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const core = ['common/20-inject.js', 'function/10-switch.js', 'common/90-comment.js'].map((f) => require(`@node-red/nodes/core/${f}`));
      await helper.load([...WITH_DETECT, ...core], flow);
      await Promise.all([waitReady(a.id), waitReady(b.id)]);
      const eventsA: VoiceEvent[] = [];
      const at = new Map<string, number>();
      lineOf(a.id).on('event', (e: VoiceEvent) => {
        eventsA.push(e);
        if (!at.has(e.topic)) at.set(e.topic, Date.now());
      });
      const shown = new Inbox(nodes.find((n) => n.type === 'debug')!.id);
      const byName = (name: string) => nodes.find((n) => n.name === name)!.id;
      getNode(byName('call 2002')).receive({ payload: '2002' });
      const answered = await shown.next('answered', (m) => m.topic === 'answered', 20000);
      assert.equal(answered.payload.farEnd, 'machine', JSON.stringify(answered.payload));
      await waitFor('the call hung up after the message', () => eventsA.some((e) => e.topic === 'ended'), 40000);
      const topics = eventsA.map((e) => e.topic);
      assert.ok(topics.indexOf('beep') > topics.indexOf('far-end'), topics.join(' '));
      const ended = eventsA.find((e) => e.topic === 'ended')!;
      assert.equal(ended.payload.by, 'local', 'line 1001 hung up');
      // The message (a 3 s tone) played in full after the beep, then the hang-up.
      assert.ok(at.get('ended')! - at.get('beep')! >= 2900, `hung up ${at.get('ended')! - at.get('beep')!} ms after the beep`);
      assert.ok(shown.topics().includes('beep'), shown.topics().join(' '));
      for (const n of nodes) if (n.type !== 'voice-line' && n.type !== 'debug') assert.deepEqual(errorsOf(n.id).map(String), [], `${n.type} ${n.name || n.id}`);
    });
  });

  describe('network tones: SIPp plays a SIT in early media', function () {
    this.timeout(60000);
    let sipp: Sipp | null = null;
    before(function () {
      requirePeer(this, 'sipp');
    });
    afterEach(async function () {
      await sipp?.stop();
      sipp = null;
    });

    // Telcordia IC (913.8 Hz short, 1370.6 Hz short, 1776.7 Hz long), then the announcement's silence.
    const sitIC = concat([silence(300), tones([{ hz: 913.8, levelDbfs: -16 }], 274), silence(2), tones([{ hz: 1370.6, levelDbfs: -16 }], 274), silence(2), tones([{ hz: 1776.7, levelDbfs: -16 }], 380), silence(6000)]);

    /** SIPp answers our INVITE with a 183 that streams the SIT, and waits for our CANCEL; a SIP line L pointed at it, voice-dial D. */
    async function dialTheSit(dialProps: Record<string, unknown>): Promise<{ ok: Inbox; no: Inbox; tones: Inbox }> {
      const media = await pickSippMediaPort();
      sipp = await Sipp.start({ scenario: sippScenario('early-media-announcement-uas.xml'), calls: 1, extraArgs: ['-mp', String(media)], files: { 'announcement.ulaw': encodeUlaw(sitIC) } });
      const port = await pickPorts(1);
      const rtp = 30000 + 32 * randomInt(0, 300);
      await helper.load(WITH_DETECT, [
        { id: 'L', type: 'voice-line', name: 'to SIPp', backend: 'sip', server: sipp.address, transport: 'udp', username: '1001', register: false, localPort: port, rtpPortMin: rtp, rtpPortMax: rtp + 15 },
        voiceNode('D', 'voice-dial', 'L', [['OK'], ['NO']], { number: '2000', ...dialProps }),
        voiceNode('EV', 'voice-events', 'L', [['TONES']], { events: ['tone'] }),
        sink('OK'), sink('NO'), sink('TONES'),
      ]);
      await waitReady('L');
      const inboxes = { ok: new Inbox('OK'), no: new Inbox('NO'), tones: new Inbox('TONES') };
      getNode('D').receive({});
      return inboxes;
    }

    it('a voice-dial saved without the analysis settings: the SIT ends the dial at once on output 2, not-found by us; voice-events sends the tone', async function () {
      const { ok, no, tones: heard } = await dialTheSit({ ringTimeout: 30 });
      const msg = await no.next('the dial ended', () => true, 20000);
      assert.deepEqual([msg.topic, msg.payload.cause, msg.payload.by], ['ended', 'not-found', 'local']);
      assert.match(String(msg.payload.text), /SIT IC/);
      const tone = await heard.next('the tone event');
      assert.deepEqual([tone.payload.tone, tone.call.id], ['sit', msg.call.id]);
      assert.deepEqual(ok.messages, []);
      assert.equal(await sipp!.exitCode(), 0, 'SIPp got our CANCEL');
    });

    it('"a SIT ends the dial" unticked: the tone is reported and the dial rings on until its ring timeout (no-answer)', async function () {
      const { no, tones: heard } = await dialTheSit({ ringTimeout: 4, tones: true, sitEndsCall: false });
      const tone = await heard.next('the tone event', () => true, 10000);
      assert.equal(tone.payload.tone, 'sit');
      const msg = await no.next('the dial ended', () => true, 20000);
      assert.deepEqual([msg.payload.cause, msg.payload.by], ['no-answer', 'local']);
    });
  });
});

function findRoot(dir: string): string {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'examples')) && fs.existsSync(path.join(d, 'package.json'))) return d;
  }
  throw new Error(`no repository above ${dir}`);
}
