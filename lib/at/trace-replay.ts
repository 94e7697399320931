/**
 * Modem traces: a text file of what a module sent and what the host sent, with the events a flow must
 * see, replayed against the real AT backend (docs/traces.md describes the format). A trace taken
 * from a real module becomes a regression test of the backend.
 *
 * ```
 * # EC200U: incoming call, answered, remote hang-up
 * @profile quectel-unisoc
 * @model EC200U
 * > AT+CLCC                                        # the module's call list from here on
 * < +CLCC: 1,1,4,0,0,"10086",129
 * < OK
 * < +CLIP: "10086",129,"",0,"",0                   # the module sends
 * = incoming number=10086                          # the flow sees (topic, payload fields)
 * ! answer                                         # the flow acts
 * > ATA                                            # the host must send this next
 * < OK
 * +300 < +QIND: "ccinfo",1,1,-1,0,0,"10086",129   # 300 ms later
 * = ended cause=normal by=remote
 * ```
 *
 * The replayer runs a {@link VoiceLine} on an {@link AtBackend} whose port is a {@link LoopbackDevice};
 * it plays the module's part from the trace and compares what the host does with it. The module's
 * initialisation is answered generically (identity from `@manufacturer` / `@model` / `@revision`,
 * overrides in an `@init` block), so that a trace holds only the part that matters.
 */
import { Duplex } from 'node:stream';
import { Logger, SILENT_LOGGER } from '../backend';
import { VoiceEvent, VoiceLine } from '../line/voice-line';
import { LoopbackDevice } from './loopback-device';
import { AtBackend, AtTiming } from './modem-backend';
import type { CallReport, ModemIdentity } from './modem-profile';

/** A trace's syntax is wrong: the message names the file and line. */
export class TraceFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceFormatError';
  }
}

/** The backend did not do what the trace says: the message shows what was expected and what came. */
export class TraceMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceMismatchError';
  }
}

interface StepBase {
  /** 1-based line number in the trace file, and the line as written (for messages). */
  readonly line: number;
  readonly source: string;
}

export type TraceStep =
  /** `< text`: the module sends a line, `delayMs` after the previous step. */
  | (StepBase & { readonly kind: 'module'; readonly text: string; readonly delayMs: number })
  /** `> command`: the next command the host must send. */
  | (StepBase & { readonly kind: 'host'; readonly command: string })
  /**
   * `> AT+CLCC` and its `+CLCC:` lines: what the module answers to every AT+CLCC from here on (after
   * `delayMs`: the module's list changes then). The host polls when it likes, so this is no `>` step.
   */
  | (StepBase & { readonly kind: 'calls'; readonly lines: readonly string[]; readonly final: string; readonly delayMs: number })
  /** `= topic key=value...`: the next event the flow sees. */
  | (StepBase & { readonly kind: 'event'; readonly topic: string; readonly fields: ReadonlyArray<readonly [string, string]> })
  /** `! verb args`: the flow acts (dial, answer, hangup). */
  | (StepBase & { readonly kind: 'action'; readonly verb: ActionVerb; readonly args: readonly string[]; readonly options: Readonly<Record<string, string>>; readonly delayMs: number });

type ActionVerb = 'dial' | 'answer' | 'hangup' | 'join' | 'leave' | 'kick' | 'end';
const ACTIONS: readonly ActionVerb[] = ['dial', 'answer', 'hangup', 'join', 'leave', 'kick', 'end'];

export interface Trace {
  /** The file name, for messages. */
  readonly name: string;
  /** `@modem`: the line's `modem` setting (default `auto`). */
  readonly modem: string;
  /** `@profile`: the profile the line must end up with (checked once it is up). */
  readonly profile?: string;
  /** `@manufacturer`, `@model`, `@revision`: what the module answers to ATI, AT+CGMI, AT+CGMM, AT+CGMR. */
  readonly identity: { readonly manufacturer: string; readonly model: string; readonly revision: string };
  /** `@init` block: answers that replace the generic ones during initialisation, by command. */
  readonly init: ReadonlyMap<string, readonly string[]>;
  /** `@timeout`: the longest wait for one step, in ms (default 3000). */
  readonly timeoutMs: number;
  /**
   * `@echo on`: the module echoes every command line it reads (`ATD10086;<CR>`) before answering it,
   * as a module whose echo was left on (V.250 `E1`), whatever `ATE0` says. Default off.
   */
  readonly echo: boolean;
  /**
   * `@origin real`: the module's lines were captured from a module (a published log; the header's
   * `# Source:` says where, and what was reconstructed); `@origin manual`: put together from manuals
   * and standards. Absent in a trace that does not say.
   */
  readonly origin?: 'real' | 'manual';
  readonly steps: readonly TraceStep[];
}

const FINAL = /^(OK|ERROR|\+CM[ES] ERROR:.*|NO CARRIER|BUSY|NO ANSWER|NO DIALTONE|CONNECT.*)$/;
const CLCC = 'AT+CLCC';

/** `AT+CLCC` however it is spelt. */
function isClcc(command: string): boolean {
  return command.replace(/\s+/g, '').toUpperCase() === CLCC;
}

/** The line without its comment: a `#` after white space, outside double quotes. */
function stripComment(text: string): string {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === '#' && !quoted && (i === 0 || /\s/.test(text[i - 1]))) return text.slice(0, i);
  }
  return text;
}

/** `key=value key="two words"` → pairs. */
function parseFields(text: string, where: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const re = /\s*([A-Za-z_][\w.]*)=("([^"]*)"|\S*)/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new TraceFormatError(`${where}: expected key=value, got "${text.slice(at).trim()}"`);
    out.push([m[1], m[3] ?? m[2]]);
    at = re.lastIndex;
  }
  return out;
}

/** Reads a trace. Throws {@link TraceFormatError} naming the line of the first mistake. */
export function parseTrace(text: string, name = 'trace'): Trace {
  const headers = { modem: 'auto', profile: undefined as string | undefined, manufacturer: '', model: '', revision: '', timeoutMs: 3000, echo: false, origin: undefined as 'real' | 'manual' | undefined };
  const init = new Map<string, string[]>();
  const steps: TraceStep[] = [];
  let initCommand: string | null = null;
  let inInit = false;
  /** The AT+CLCC block being read (already among the steps): its `+CLCC:` lines until the final result. */
  let calls: { lines: string[]; final: string } | null = null;
  const closeCalls = (final: string): void => {
    if (calls) calls.final = final;
    calls = null;
  };

  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const where = `${name}:${line}`;
    const body = stripComment(raw).trim();
    if (body === '') return;
    const delay = /^\+(\d+)\s+/.exec(body);
    const rest = delay ? body.slice(delay[0].length) : body;
    const delayMs = delay ? Number(delay[1]) : 0;
    const marker = rest[0];
    const arg = rest.slice(1).trim();

    if (marker === '@') {
      if (delay) throw new TraceFormatError(`${where}: a header takes no delay`);
      const [key, ...value] = arg.split(/\s+/);
      const v = value.join(' ');
      if (key === 'init') {
        inInit = true;
        initCommand = null;
      } else if (key === 'end') {
        if (!inInit) throw new TraceFormatError(`${where}: @end without @init`);
        inInit = false;
      } else if (key === 'modem' || key === 'profile' || key === 'manufacturer' || key === 'model' || key === 'revision') {
        if (inInit) throw new TraceFormatError(`${where}: @${key} inside @init`);
        headers[key] = v;
      } else if (key === 'origin') {
        if (v !== 'real' && v !== 'manual') throw new TraceFormatError(`${where}: @origin wants real or manual, got "${v}"`);
        headers.origin = v;
      } else if (key === 'echo') {
        if (v !== 'on' && v !== 'off') throw new TraceFormatError(`${where}: @echo wants on or off, got "${v}"`);
        headers.echo = v === 'on';
      } else if (key === 'timeout') {
        const ms = Number(v);
        if (!Number.isInteger(ms) || ms < 1) throw new TraceFormatError(`${where}: @timeout wants milliseconds, got "${v}"`);
        headers.timeoutMs = ms;
      } else {
        throw new TraceFormatError(`${where}: unknown header @${key} (known: modem, profile, manufacturer, model, revision, timeout, echo, origin, init, end)`);
      }
      return;
    }

    if (inInit) {
      if (marker === '>') {
        initCommand = arg;
        init.set(arg, []);
      } else if (marker === '<') {
        if (initCommand === null) throw new TraceFormatError(`${where}: an answer in @init before any "> command"`);
        init.get(initCommand)!.push(arg);
      } else {
        throw new TraceFormatError(`${where}: only "> command" and "< answer" lines go in @init`);
      }
      return;
    }

    if (calls && marker === '<') {
      if (FINAL.test(arg)) closeCalls(arg);
      else if (arg.startsWith('+CLCC:')) calls.lines.push(arg);
      else steps.push({ kind: 'module', line, source: raw, text: arg, delayMs }); // a URC inside the answer
      return;
    }
    closeCalls('OK');

    switch (marker) {
      case '<':
        steps.push({ kind: 'module', line, source: raw, text: arg, delayMs });
        return;
      case '>':
        if (arg === '') throw new TraceFormatError(`${where}: "> " needs the command the host sends`);
        // When the host sends a command is the host's business: a delay before it means nothing,
        // except before AT+CLCC, whose answer is the module's state (it changes after the delay).
        if (isClcc(arg)) {
          // In place among the steps; its lines and final result are filled in as the block is read.
          const step = { kind: 'calls' as const, line, source: raw, delayMs, lines: [] as string[], final: 'OK' };
          steps.push(step);
          calls = step;
        } else {
          steps.push({ kind: 'host', line, source: raw, command: arg });
        }
        return;
      case '=': {
        const [topic, ...more] = arg.split(/\s+/);
        if (!topic) throw new TraceFormatError(`${where}: "= " needs an event name`);
        if (delay) throw new TraceFormatError(`${where}: an expected event takes no delay (it waits for the event)`);
        steps.push({ kind: 'event', line, source: raw, topic, fields: parseFields(more.join(' '), where) });
        return;
      }
      case '!': {
        const words = arg.split(/\s+/).filter(Boolean);
        const verb = words.shift() as ActionVerb | undefined;
        if (!verb || !ACTIONS.includes(verb)) throw new TraceFormatError(`${where}: unknown action "${verb ?? ''}" (known: ${ACTIONS.join(', ')})`);
        const options: Record<string, string> = {};
        const args: string[] = [];
        for (const w of words) {
          const kv = /^(\w+)=(.*)$/.exec(w);
          if (kv) options[kv[1]] = kv[2];
          else args.push(w);
        }
        if (verb === 'dial' && args.length !== 1) throw new TraceFormatError(`${where}: "! dial" needs one number`);
        if ((verb === 'join' || verb === 'end') && args.length !== 1) throw new TraceFormatError(`${where}: "! ${verb}" needs one room name`);
        steps.push({ kind: 'action', line, source: raw, verb, args, options, delayMs });
        return;
      }
      default:
        throw new TraceFormatError(`${where}: a line starts with <, >, =, !, @ or # (optionally after +<ms>), got "${body}"`);
    }
  });
  closeCalls('OK');
  if (inInit) throw new TraceFormatError(`${name}: @init without @end`);
  return { name, modem: headers.modem, profile: headers.profile, identity: headers, init, timeoutMs: headers.timeoutMs, echo: headers.echo, origin: headers.origin, steps };
}

export interface ReplayOptions {
  /** Splits each burst of module output into the chunks written to the port (default: one chunk). */
  chunk?: (bytes: Buffer) => Buffer[];
  /** Bytes written before the module's n-th line of the script (0-based): noise, unknown URCs. */
  noise?: (n: number) => Buffer | undefined;
  /** The backend's timing (defaults: short polls, generous command timeouts). */
  timing?: Partial<AtTiming>;
  /** How long to watch for events the trace does not expect, after its last step (default 250 ms). */
  settleMs?: number;
  log?: Logger;
}

export interface ReplayResult {
  /** Every event after the first `line-up`. */
  events: VoiceEvent[];
  /** Every command the host sent after the line came up, AT+CLCC included. */
  commands: string[];
  /** The module as the line identified it. */
  module: { identity: ModemIdentity | null; profile: string | undefined; callReport: CallReport };
}

/** A `chunk` option: pieces of the given sizes in bytes, used in turn (cycling); `[]`: one piece. */
export function chunksOf(sizes: readonly number[]): (bytes: Buffer) => Buffer[] {
  if (!sizes.every((n) => Number.isInteger(n) && n > 0)) throw new TypeError('chunk sizes must be whole numbers ≥ 1');
  return (bytes) => {
    const pieces: Buffer[] = [];
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const size = sizes.length === 0 ? bytes.length : sizes[i % sizes.length];
      pieces.push(bytes.subarray(at, at + size));
      at += size;
    }
    return pieces;
  };
}

/** The backend's timing in a replay: polls often (a trace's AT+CLCC answers are seen soon). */
export const REPLAY_TIMING: Partial<AtTiming> = {
  commandTimeoutMs: 1500,
  callCommandTimeoutMs: 5000,
  pollMs: 40,
  pollWithUrcMs: 80,
  reconnectMinMs: 50,
};

/** Replays `trace` (its text, or a parsed one) against a real AtBackend; rejects with TraceMismatchError. */
export async function replayTrace(trace: Trace | string, options: ReplayOptions = {}): Promise<ReplayResult> {
  return new TraceReplayer(typeof trace === 'string' ? parseTrace(trace) : trace, options).run();
}

class TraceReplayer {
  private readonly events: VoiceEvent[] = [];
  /** The modem's index of each call seen in an event, for room events about a call already gone (a party names its call by id). */
  private readonly indexOf = new Map<string, number>();
  private readonly commands: string[] = [];
  /** Host commands of the script phase not yet matched against a `>` step. */
  private readonly inbox: string[] = [];
  private phase: 'init' | 'script' | 'done' = 'init';
  private calls: { lines: readonly string[]; final: string } = { lines: [], final: 'OK' };
  private far: Duplex | null = null;
  private pendingInput = '';
  /** Writes to the port, one at a time so that two bursts never interleave their chunks. */
  private output: Promise<void> = Promise.resolve();
  private moduleLines = 0;
  private readonly waiters = new Set<() => void>();
  private actionError: { step: TraceStep; error: Error } | null = null;
  private nextEvent = 0;
  private readonly line: VoiceLine;
  private readonly backend: AtBackend;
  /** The steps done, for the context of a mismatch. */
  private readonly done: TraceStep[] = [];

  constructor(
    private readonly trace: Trace,
    private readonly options: ReplayOptions,
  ) {
    const device = new LoopbackDevice((far) => this.attach(far));
    const log = options.log ?? SILENT_LOGGER;
    this.backend = new AtBackend({
      lineId: 'trace',
      path: `trace:${trace.name}`,
      baudRate: 115200,
      modem: trace.modem,
      log,
      timing: { ...REPLAY_TIMING, ...options.timing },
      device,
    });
    this.line = new VoiceLine({ id: 'trace', backend: 'at', modem: trace.modem }, { backendFactory: () => this.backend, log });
    this.line.on('event', (e: VoiceEvent) => {
      if (e.call?.index !== undefined) this.indexOf.set(e.call.id, e.call.index);
      if (this.phase !== 'init') this.events.push(e);
      this.notify();
    });
    // Room events (voice-conference's second output) in the same stream: `= room:join room=r call.index=2`.
    this.line.conference.onEvent((ev) => {
      const id = ev.party?.call;
      const index = id === undefined ? undefined : (this.line.activeCalls().find((c) => c.id === id)?.index ?? this.indexOf.get(id));
      const payload: Record<string, unknown> = { room: ev.room, parties: ev.parties.length, ...(ev.reason ? { reason: ev.reason } : {}) };
      const call = ev.party ? ({ id: ev.party.call, ...(index !== undefined ? { index } : {}) } as unknown as VoiceEvent['call']) : undefined;
      this.events.push({ topic: `room:${ev.topic}` as VoiceEvent['topic'], payload, ...(call ? { call } : {}) });
      this.notify();
    });
  }

  async run(): Promise<ReplayResult> {
    try {
      const up = this.waitFor(`the line to come up`, () => this.line.status.state === 'ready', this.trace.timeoutMs * 2);
      this.line.on('status', () => this.notify());
      this.line.acquire('trace');
      await up;
      this.phase = 'script';
      const profile = this.backend.profile?.name;
      const model = this.backend.identity?.model;
      if (this.trace.identity.model && model !== this.trace.identity.model) {
        throw new TraceMismatchError(`${this.trace.name}: the line read the module's model as "${model ?? ''}", the trace says @model ${this.trace.identity.model}`);
      }
      if (this.trace.profile && profile !== this.trace.profile) {
        throw new TraceMismatchError(
          `${this.trace.name}: the module (${this.backend.description}) was taken for profile "${profile}", the trace says @profile ${this.trace.profile}`,
        );
      }
      const steps = this.trace.steps;
      for (let i = 0; i < steps.length; i++) {
        // Module lines with no delay between them go out as one burst, as a module writes them.
        const step = steps[i];
        if (step.kind === 'module') {
          // A call list right after the lines (as recorded: the poll came after the URC) is the
          // module's state when it sent them: it holds from the moment they go out.
          const burst: TraceStep[] = [step];
          const next = (): TraceStep | undefined => steps[i + 1];
          while ((next()?.kind === 'module' || next()?.kind === 'calls') && (next() as { delayMs: number }).delayMs === 0) burst.push(steps[++i]);
          if (step.delayMs > 0) await sleep(step.delayMs);
          for (const s of burst) if (s.kind === 'calls') this.calls = { lines: s.lines, final: s.final };
          await this.send(burst.flatMap((s) => (s.kind === 'module' ? [s.text] : [])), true);
          this.done.push(...burst);
        } else {
          await this.exec(step);
          this.done.push(step);
        }
        this.checkActions();
      }
      await sleep(this.options.settleMs ?? 250);
      this.checkActions();
      const extra = this.events.slice(this.nextEvent);
      if (extra.length > 0) throw this.mismatch(null, 'no more events', extra.map(describeEvent).join('\n    '));
      if (this.inbox.length > 0) throw this.mismatch(null, 'no more commands from the host', this.inbox.map((c) => `> ${c}`).join('\n    '));
      const { identity, callReport } = this.backend;
      return { events: this.events, commands: this.commands, module: { identity, profile, callReport } };
    } finally {
      this.phase = 'done';
      await this.line.stop();
      await this.output;
    }
  }

  private async exec(step: TraceStep): Promise<void> {
    switch (step.kind) {
      case 'calls':
        if (step.delayMs > 0) await sleep(step.delayMs);
        this.calls = { lines: step.lines, final: step.final };
        return;
      case 'host': {
        await this.waitFor(`the host to send ${step.command}`, () => this.inbox.length > 0, this.trace.timeoutMs, step);
        const got = this.inbox.shift()!;
        if (got !== step.command) throw this.mismatch(step, step.source.trim(), `> ${got}`);
        return;
      }
      case 'event': {
        await this.waitFor(`the event ${step.topic}`, () => this.events.length > this.nextEvent, this.trace.timeoutMs, step);
        const e = this.events[this.nextEvent];
        if (!eventMatches(e, step.topic, step.fields)) throw this.mismatch(step, step.source.trim(), describeEvent(e));
        this.nextEvent++;
        return;
      }
      case 'action':
        if (step.delayMs > 0) await sleep(step.delayMs);
        // Not awaited: the host's commands need the module lines of the steps that follow.
        this.act(step).catch((error: Error) => {
          this.actionError ??= { step, error };
          this.notify();
        });
        return;
      case 'module':
        return; // sent in bursts by run()
    }
  }

  private async act(step: TraceStep & { kind: 'action' }): Promise<void> {
    const byIndex = (): string | undefined => {
      if (step.options.index === undefined) return undefined;
      const call = this.line.activeCalls().find((c) => String(c.index) === step.options.index);
      if (!call) throw new Error(`no call with index ${step.options.index}`);
      return call.id;
    };
    switch (step.verb) {
      case 'dial':
        await this.line.dial(step.args[0], {
          ...(step.options.ringTimeout ? { ringTimeout: Number(step.options.ringTimeout) } : {}),
          // `detect=off` / `detect=machine`: the dial asks for call analysis (network tones on), as voice-dial sends it.
          ...(step.options.detect ? { analysis: { detect: step.options.detect } } : {}),
        });
        return;
      case 'answer':
        await this.line.answer(byIndex());
        return;
      case 'hangup':
        await this.line.hangup(byIndex(), step.args[0] ?? 'normal');
        return;
      // voice-conference on the network's multiparty call (docs/conference.md, "AT lines").
      case 'join':
        await this.line.conference.join(byIndex(), step.args[0]);
        return;
      case 'leave':
        await this.line.conference.leave(byIndex());
        return;
      case 'kick':
        await this.line.conference.kick(byIndex());
        return;
      case 'end':
        await this.line.conference.end(step.args[0]);
    }
  }

  private checkActions(): void {
    const failed = this.actionError;
    if (failed) throw new TraceMismatchError(`${this.where(failed.step)}: ${failed.step.source.trim()} failed: ${failed.error.message}`);
  }

  // ── the module's side ──────────────────────────────────────────────────────────────────────

  private attach(far: Duplex): void {
    this.far = far;
    this.pendingInput = '';
    far.on('data', (chunk: Buffer) => this.onInput(chunk.toString('latin1')));
  }

  private onInput(text: string): void {
    this.pendingInput += text;
    const parts = this.pendingInput.split(/[\r\n]/);
    this.pendingInput = parts.pop() ?? '';
    for (const raw of parts) {
      const command = raw.trim();
      if (command !== '') this.onCommand(command);
    }
  }

  private onCommand(command: string): void {
    if (this.phase !== 'init') this.commands.push(command);
    // The echo goes out before anything the module answers (one output queue keeps the order).
    if (this.trace.echo) void this.write(Buffer.from(`${command}\r`, 'utf8'));
    if (isClcc(command)) {
      void this.send([...this.calls.lines, this.calls.final], false);
    } else if (this.phase === 'script') {
      this.inbox.push(command);
      this.notify();
    } else {
      void this.send(this.genericAnswer(command), false);
    }
  }

  /** What a well-behaved module answers during initialisation (and after the trace). */
  private genericAnswer(command: string): string[] {
    const override = this.trace.init.get(command);
    if (override) return [...override];
    const { manufacturer, model, revision } = this.trace.identity;
    const cmd = command.replace(/\s+/g, '').toUpperCase();
    const ok = (...info: string[]): string[] => [...info.filter((l) => l !== ''), 'OK'];
    if (cmd === 'ATI' || cmd === 'ATI0') return ok(manufacturer, model, revision ? `Revision: ${revision}` : '');
    if (cmd === 'AT+CGMI' || cmd === 'AT+GMI') return ok(manufacturer);
    if (cmd === 'AT+CGMM' || cmd === 'AT+GMM') return ok(model);
    if (cmd === 'AT+CGMR' || cmd === 'AT+GMR') return ok(revision);
    if (cmd === 'AT+CPIN?') return ok('+CPIN: READY');
    // Probes of optional features: a generic module has none of them.
    if (cmd.endsWith('=?')) return ['ERROR'];
    return ['OK'];
  }

  /** Writes lines as the module does (`\r\n<line>\r\n`), chunked, after any noise. */
  private send(lines: string[], script: boolean): Promise<void> {
    const pieces: Buffer[] = [];
    for (const line of lines) {
      if (script) {
        const noise = this.options.noise?.(this.moduleLines++);
        if (noise) pieces.push(noise);
      }
      pieces.push(Buffer.from(`\r\n${line}\r\n`, 'utf8'));
    }
    return this.write(Buffer.concat(pieces));
  }

  /** Writes bytes to the port in the replay's chunks, after everything written before. */
  private write(bytes: Buffer): Promise<void> {
    const chunks = this.options.chunk ? this.options.chunk(bytes) : [bytes];
    this.output = this.output.then(async () => {
      for (const [i, c] of chunks.entries()) {
        const far = this.far;
        if (!far || far.destroyed) return;
        far.write(c);
        // A serial line delivers chunks apart: let the host read each one before the next.
        if (i < chunks.length - 1) await new Promise((r) => setImmediate(r));
      }
    });
    return this.output;
  }

  // ── waiting and reporting ──────────────────────────────────────────────────────────────────

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private waitFor(what: string, ready: () => boolean, timeoutMs: number, step?: TraceStep): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.actionError) {
          cleanup();
          try {
            this.checkActions();
          } catch (err) {
            reject(err);
          }
        } else if (ready()) {
          cleanup();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(this.mismatch(step ?? null, step ? step.source.trim() : what, `nothing within ${timeoutMs} ms (waiting for ${what}; line status: ${this.line.status.text})`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  private where(step: TraceStep | null): string {
    return step ? `${this.trace.name}:${step.line}` : `${this.trace.name} (after the last step)`;
  }

  private mismatch(step: TraceStep | null, expected: string, got: string): TraceMismatchError {
    const recent = this.done.slice(-6).map((s) => `    ${s.line}: ${s.source.trim()}`);
    return new TraceMismatchError(
      [
        `${this.where(step)}: expected`,
        `    ${expected}`,
        `but got`,
        `    ${got}`,
        `steps done before it:`,
        ...(recent.length ? recent : ['    (none)']),
        `events: ${this.events.map((e) => e.topic).join(', ') || '(none)'}`,
        `host commands: ${this.commands.join(' | ') || '(none)'}`,
      ].join('\n'),
    );
  }
}

/** `ended {cause: "busy", by: "remote", ...}` */
function describeEvent(e: VoiceEvent): string {
  const fields = Object.entries(e.payload)
    .filter(([, v]) => v === null || typeof v !== 'object')
    .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`);
  return `= ${e.topic}${fields.length ? ' ' + fields.join(' ') : ''}${e.call ? ` (call ${e.call.direction}, index ${String(e.call.index ?? '?')})` : ''}`;
}

/** The value at a dotted path: `cause` in the payload, `call.remote.number` in the call snapshot. */
function valueAt(e: VoiceEvent, path: string): unknown {
  const [head, ...rest] = path.split('.');
  let v: unknown = head === 'call' ? e.call : (e.payload as Record<string, unknown>)[head];
  for (const k of rest) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function eventMatches(e: VoiceEvent, topic: string, fields: ReadonlyArray<readonly [string, string]>): boolean {
  return e.topic === topic && fields.every(([k, want]) => String(valueAt(e, k)) === want);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
