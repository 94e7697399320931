import { Duplex } from 'node:stream';
import { AtBackend, AtTiming } from '../../lib/at/modem-backend';
import { LoopbackDevice } from '../../lib/at/loopback-device';
import { memoryLog } from './at-harness';

/** One call in the scripted module's list: what `AT+CLCC` answers. */
export interface ScriptedCall {
  index: number;
  /** 0 outgoing, 1 incoming. */
  dir: 0 | 1;
  /** 27.007 `<stat>`: 0 active, 1 held, 2 dialing, 3 alerting, 4 incoming, 5 waiting. */
  stat: number;
  number: string;
}

/** What the module answers to one command: information lines and a final result (or nothing yet). */
export interface ScriptedReply {
  info?: string[];
  final: string;
  /** Lines right behind the final result, in the same chunk. */
  after?: string[];
  /** Lines right behind the final result, in a chunk of their own. */
  apart?: string[];
}

/**
 * A module played by the test, command by command, with no timer of its own (so that it runs under
 * fake timers): it answers the initialisation as an ASR Quectel (`^DSCI`) or a plain 27.007 modem,
 * `AT+CLCC` from {@link calls}, `AT+CEER` from {@link ceer}, and every other command through
 * {@link answer} (default `OK`). Lines queued with {@link printBeforeReply} go out just before the
 * answer to a later command, as a module prints what it had to say before it reads the next one.
 */
export class ScriptedModem {
  readonly commands: string[] = [];
  calls: ScriptedCall[] = [];
  ceer = '+CEER: "CC INFO",16,"Normal call clearing"';
  /** The test's answer to a command (undefined: the default). */
  answer: (command: string) => ScriptedReply | undefined = () => undefined;
  private far: Duplex | null = null;
  private input = '';
  /** Lines to print before the reply to command number n (0-based, counting every command). */
  private readonly before = new Map<number, string[]>();

  constructor(readonly kind: 'asr' | 'generic') {}

  attach(far: Duplex): void {
    this.far = far;
    far.on('data', (chunk: Buffer) => {
      this.input += chunk.toString('latin1');
      let cut: number;
      while ((cut = this.input.indexOf('\r')) >= 0) {
        const line = this.input.slice(0, cut).trim();
        this.input = this.input.slice(cut + 1);
        if (line !== '') this.onCommand(line);
      }
    });
  }

  /** Writes lines now, as one chunk (`\r\n<line>\r\n` each). */
  print(...lines: string[]): void {
    if (lines.length > 0 && this.far && !this.far.destroyed) this.far.write(lines.map((l) => `\r\n${l}\r\n`).join(''));
  }

  /** Prints `lines` just before the reply to the `nth` command from now (0: the next one). */
  printBeforeReply(nth: number, ...lines: string[]): void {
    const at = this.commands.length + nth;
    this.before.set(at, [...(this.before.get(at) ?? []), ...lines]);
  }

  /** The `^DSCI` release line of a call (ASR layout, no cause). */
  dsciReleased(c: Pick<ScriptedCall, 'index' | 'dir' | 'number'>): string {
    return `^DSCI: ${c.index},${c.dir},6,0,${c.number},129,0`;
  }

  private onCommand(command: string): void {
    const n = this.commands.length;
    this.commands.push(command);
    const early = this.before.get(n) ?? [];
    this.before.delete(n);
    const reply = this.answer(command) ?? this.defaultReply(command);
    this.print(...early, ...(reply.info ?? []), reply.final, ...(reply.after ?? []));
    this.print(...(reply.apart ?? []));
  }

  private defaultReply(command: string): ScriptedReply {
    const asr = this.kind === 'asr';
    switch (command.toUpperCase()) {
      case 'ATI':
        return { info: asr ? ['Quectel', 'EC600N', 'Revision: EC600NCNLCR03A01M08'] : ['Generic', 'GSM Modem', 'Revision: GENERIC-1.0'], final: 'OK' };
      case 'AT+CGMM':
        return { info: [asr ? 'EC600N' : 'GSM Modem'], final: 'OK' };
      case 'AT+CGMR':
        return { info: [asr ? 'EC600NCNLCR03A01M08' : 'GENERIC-1.0'], final: 'OK' };
      case 'AT+CPIN?':
        return { info: ['+CPIN: READY'], final: 'OK' };
      case 'AT^DSCI=1':
        return { final: asr ? 'OK' : 'ERROR' };
      case 'AT+CLCC':
        return { info: this.calls.map((c) => `+CLCC: ${c.index},${c.dir},${c.stat},0,0,"${c.number}",129`), final: 'OK' };
      case 'AT+CEER':
        return { info: [this.ceer], final: 'OK' };
      default:
        return { final: /^AT\+Q|^AT\+VTS|^AT\+CLVL|^AT\+CMUT/i.test(command) && !asr ? 'ERROR' : 'OK' };
    }
  }
}

/** Backend timing for a scripted module under fake timers: polls every 40 ms (the test ticks). */
export const SCRIPTED_TIMING: Partial<AtTiming> = { pollMs: 40, pollWithUrcMs: 40, commandTimeoutMs: 5000, callCommandTimeoutMs: 30000 };

/** An AtBackend on a scripted module, started (the test drives time: see {@link settle}). */
export function scriptedBackend(modem: ScriptedModem): { backend: AtBackend; log: ReturnType<typeof memoryLog> } {
  const log = memoryLog();
  const device = new LoopbackDevice((far) => modem.attach(far));
  const backend = new AtBackend({ lineId: 'S', path: 'scripted', baudRate: 115200, modem: 'auto', log, timing: SCRIPTED_TIMING, device });
  return { backend, log };
}

/** Lets the streams and promises run (setImmediate is not faked). */
export async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}
