import { EmulatorFeature, EmulatorHost } from '../emulator-feature';

/**
 * Faults of a misbehaving module, for tests of the host's resync and escalation. They act on the
 * wire between the module and the host: the module computes its answers as always, and this feature
 * holds back, drops, doubles or splits what goes out, or makes the module hang.
 *
 * The module has no hook on its output, so the feature wraps the module's `emit('data')`: every
 * chunk it writes passes through {@link FaultsFeature} first. A chunk whose last line is a final
 * result code (`OK`, `ERROR`, `+CME ERROR: n`, `NO CARRIER`...) is a reply; any other chunk (a URC,
 * the echo) is not, and always goes out at once. (A call-progress URC such as `NO CARRIER` counts as
 * a reply too: script the faults around the commands you mean.)
 */
export interface FaultsFeature extends EmulatorFeature {
  /**
   * The next `count` replies go out `ms` late. Like a real module, which answers one command at a
   * time, the replies behind a late one wait their turn (URCs do not).
   */
  slowReplies(count: number, ms: number): void;
  /** The next `count` replies are lost. */
  dropReplies(count: number): void;
  /** The next `count` replies go out twice (a firmware bug: the second copy is a stray final result). */
  doubleReplies(count: number): void;
  /** The next reply carries the URC `line` between its information lines and its final result. */
  urcInsideReply(line: string): void;
  /**
   * The module hangs: it still reads commands (they are in `modem.commands`) but answers nothing,
   * until `AT+CFUN=1,1` restarts it (`until: 'restart'`, the default) or for good (`'never'`).
   */
  hang(until?: 'restart' | 'never'): void;
  /** True while hung. */
  readonly hung: boolean;
  /** Cancels every fault not applied yet (a hang too); held replies still go out in order. */
  clear(): void;
}

/** The last line of a chunk is a final result code: the chunk is (the end of) a reply. */
const FINAL = /(?:^|\r\n)(OK|ERROR|\+CM[ES] ERROR:[^\r\n]*|NO CARRIER|BUSY|NO ANSWER|NO DIALTONE|CONNECT[^\r\n]*)\r\n$/;

type Fault = { kind: 'slow'; ms: number } | { kind: 'drop' } | { kind: 'double' } | { kind: 'urc'; line: string };

export function faultsFeature(host: EmulatorHost): FaultsFeature {
  const modem = host.modem;
  const emitOriginal = modem.emit.bind(modem);
  /** Faults for the next replies, in order. */
  const planned: Fault[] = [];
  /** Replies held back, in the order the module wrote them, each with the earliest time it may go. */
  const held: Array<{ data: Buffer; at: number }> = [];
  let heldTimer: NodeJS.Timeout | null = null;
  let hangUntil: 'restart' | 'never' | null = null;

  const send = (data: Buffer): void => {
    emitOriginal('data', data);
  };

  const releaseDue = (): void => {
    heldTimer = null;
    while (held.length > 0 && held[0].at <= Date.now()) send(held.shift()!.data);
    if (held.length > 0) heldTimer = host.schedule(Math.max(0, held[0].at - Date.now()), releaseDue);
  };

  const hold = (data: Buffer, delayMs: number): void => {
    const after = held.length > 0 ? held[held.length - 1].at : 0;
    held.push({ data, at: Math.max(after, Date.now() + delayMs) });
    if (!heldTimer) heldTimer = host.schedule(Math.max(0, held[0].at - Date.now()), releaseDue);
  };

  const onReply = (data: Buffer, final: string): void => {
    const fault = planned.shift();
    if (!fault) {
      if (held.length > 0) hold(data, 0);
      else send(data);
      return;
    }
    switch (fault.kind) {
      case 'drop':
        host.log.debug(`emulator fault: reply dropped (${final})`);
        return;
      case 'slow':
        host.log.debug(`emulator fault: reply ${final} held ${fault.ms} ms`);
        hold(data, fault.ms);
        return;
      case 'double':
        send(data);
        send(Buffer.from(`\r\n${final}\r\n`, 'latin1'));
        return;
      case 'urc': {
        const text = data.toString('latin1');
        const cut = text.lastIndexOf(`\r\n${final}\r\n`);
        send(Buffer.from(text.slice(0, cut), 'latin1'));
        send(Buffer.from(`\r\n${fault.line}\r\n`, 'latin1'));
        send(Buffer.from(text.slice(cut), 'latin1'));
      }
    }
  };

  // Every chunk the module writes passes here first (see the comment at the top).
  modem.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event !== 'data' || !Buffer.isBuffer(args[0])) return emitOriginal(event, ...args);
    const data = args[0];
    const m = FINAL.exec(data.toString('latin1'));
    if (m) onReply(data, m[1]);
    else send(data);
    return true;
  }) as typeof modem.emit;

  const onCommand = (line: string): void => {
    if (hangUntil === 'restart' && /^AT\+CFUN=1,1$/i.test(line.replace(/\s+/g, ''))) {
      host.log.info('emulator fault: AT+CFUN=1,1 ends the hang');
      hangUntil = null;
      modem.setSilent(false);
      modem.reboot();
    }
  };
  modem.on('command', onCommand);

  const count = (n: number): number => {
    if (!Number.isInteger(n) || n < 1) throw new TypeError(`count must be a whole number ≥ 1, got ${String(n)}`);
    return n;
  };

  return {
    name: 'faults',
    commands: {},
    slowReplies(n, ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`ms must be a number ≥ 0, got ${String(ms)}`);
      for (let i = count(n); i > 0; i--) planned.push({ kind: 'slow', ms });
    },
    dropReplies(n) {
      for (let i = count(n); i > 0; i--) planned.push({ kind: 'drop' });
    },
    doubleReplies(n) {
      for (let i = count(n); i > 0; i--) planned.push({ kind: 'double' });
    },
    urcInsideReply(line) {
      if (typeof line !== 'string' || line === '' || /[\r\n]/.test(line)) throw new TypeError('line must be one line of text');
      planned.push({ kind: 'urc', line });
    },
    hang(until = 'restart') {
      hangUntil = until;
      modem.setSilent(true);
    },
    get hung() {
      return hangUntil !== null;
    },
    clear() {
      planned.length = 0;
      if (hangUntil !== null) modem.setSilent(false);
      hangUntil = null;
    },
    close() {
      modem.off('command', onCommand);
      modem.emit = emitOriginal as typeof modem.emit;
    },
  };
}
