/**
 * The part every Node transport shares: sip.js's `Transport` contract (node_modules/sip.js/lib/api/
 * transport.d.ts) as one guarded state machine. Subclasses only open, close and write a socket.
 *
 * ```txt
 *                    ______________________________
 *                   |    ____________              |
 *                   v   v            |             |
 * Constructed -> Disconnected -> Connecting -> Connected -> Disconnecting
 *                     ^            ^    |_____________________^  |  |
 *                     |            |_____________________________|  |
 *                     |_____________________________________________|
 * ```
 *
 * What the contract asks and how it is met here:
 * - `connect()` / `disconnect()` change the state before they return, and settle only once the state
 *   is the one they promised (or reject after the state went the other way);
 * - `onConnect` is called on entering Connected, `onDisconnect` on leaving it, with an Error when the
 *   network (not `disconnect()`) ended it;
 * - a callback that calls `connect()`/`disconnect()` synchronously gets a rejected StateTransitionError;
 * - the transport never reconnects by itself: losing the network is reported, recovering is the user
 *   agent's job (lib/sip/sip-user-agent.ts).
 *
 * Bytes from the network never make it throw: a message that sip.js cannot take is logged and dropped;
 * a request that fails our checks (CSeq, mandatory headers) never reaches sip.js, and one with a
 * header sip.js cannot parse is answered once sip.js says it dropped it
 * ({@link NodeTransport.unparsable}): both get a 400 naming the fault (transport-bad-request.ts).
 * Lines about malformed messages are rate-limited per source (lib/log-rate-limit.ts).
 */
import type { EventEmitter } from 'node:events';
import { EmitterImpl, StateTransitionError, TransportState } from 'sip.js';
import type { Emitter, Transport } from 'sip.js';
import { Logger, SILENT_LOGGER } from '../backend';
import { LogRateLimiter } from '../log-rate-limit';
import { HostPort } from './transport-address';
import { badRequest, messageFault } from './transport-bad-request';
import { redactForLog } from './transport-message';

/** Options shared by the UDP, TCP and TLS transports (passed as sip.js `transportOptions`). */
export interface NodeTransportOptions {
  /** Where every request goes: the server, or the outbound proxy. The host may be a name. */
  server: HostPort;
  /** Local address to bind (default: any). */
  localAddress?: string;
  /** Local port to bind (default 0: any free port). */
  localPort?: number;
  /** Give up connecting after this long (TCP/TLS). Default 10 s. */
  connectTimeoutMs?: number;
  /** Log every message sent and received (digest credentials redacted) at debug level. */
  traceSip?: boolean;
  log?: Logger;
}

/** Where a datagram came from. */
export interface SourceAddress {
  address: string;
  port: number;
}

/** The transport's own end after connecting: what Contact must name. */
export interface LocalEndpoint {
  address: string;
  port: number;
}

export abstract class NodeTransport implements Transport {
  /** The Via transport token (`UDP`, `TCP`, `TLS`). */
  abstract readonly protocol: string;

  onConnect: (() => void) | undefined;
  onDisconnect: ((error?: Error) => void) | undefined;
  onMessage: ((message: string) => void) | undefined;

  protected readonly log: Logger;
  protected readonly options: NodeTransportOptions;

  private _state: TransportState = TransportState.Disconnected;
  private readonly _stateChange = new EmitterImpl<TransportState>();
  private transitioning = false;
  /** The connect() / disconnect() in progress, returned to a caller who asks again meanwhile. */
  private readonly pending: { connect?: Promise<void>; disconnect?: Promise<void> } = {};
  /** Settles when the last close() finished; a new open waits for it. */
  private closing: Promise<void> = Promise.resolve();
  private disposed = false;
  private _lastError: Error | undefined;
  /**
   * The message being handed to sip.js (it parses it synchronously, inside `onMessage`): where it
   * came from (a datagram's source), and why sip.js could not parse it, once it says so.
   */
  private delivering: { text: string; source?: SourceAddress; unparsable?: string } | undefined;
  /** Where lines about malformed messages go: a few per source, then a count every 10 s. */
  private readonly malformedLog: LogRateLimiter;

  /**
   * @param _logger sip.js passes its own logger; ours comes in `options.log` so that every line of the
   *   line's log goes to one place.
   */
  constructor(_logger: unknown, options: NodeTransportOptions) {
    if (!options || !options.server) throw new TypeError('transportOptions.server: required');
    this.options = options;
    this.log = options.log ?? SILENT_LOGGER;
    this.malformedLog = new LogRateLimiter({ write: (line) => this.log.warn(line), what: 'malformed SIP messages' });
  }

  get state(): TransportState {
    return this._state;
  }

  get stateChange(): Emitter<TransportState> {
    return this._stateChange;
  }

  /** Why the transport last failed to connect or was lost (for the user agent's words). */
  get lastError(): Error | undefined {
    return this._lastError;
  }

  isConnected(): boolean {
    return this._state === TransportState.Connected;
  }

  /** Our end of the socket once connected (address and port for Via and Contact). */
  abstract get local(): LocalEndpoint | undefined;

  connect(): Promise<void> {
    if (this.transitioning) return Promise.reject(new StateTransitionError('connect() called from a transport state callback'));
    if (this.disposed) return Promise.reject(new Error('transport disposed'));
    switch (this._state) {
      case TransportState.Connected:
        return Promise.resolve();
      case TransportState.Connecting:
        return this.pending.connect as Promise<void>;
      default:
        break;
    }
    this.transition(TransportState.Connecting);
    const previousClose = this.closing;
    const attempt = (async () => {
      await previousClose;
      if (this._state !== TransportState.Connecting) throw new Error('connect aborted');
      try {
        await this.open();
      } catch (err) {
        const error = asError(err);
        if (this._state === TransportState.Connecting) this.transition(TransportState.Disconnected, error);
        throw error;
      }
      if (this._state !== TransportState.Connecting) {
        // disconnect() was called while opening: close what may have opened after its close() ran.
        await this.close().catch(() => undefined);
        throw new Error('connect aborted');
      }
      this.transition(TransportState.Connected);
    })();
    return this.track('connect', attempt);
  }

  disconnect(): Promise<void> {
    if (this.transitioning) return Promise.reject(new StateTransitionError('disconnect() called from a transport state callback'));
    switch (this._state) {
      case TransportState.Disconnected:
        return Promise.resolve();
      case TransportState.Disconnecting:
        return this.pending.disconnect as Promise<void>;
      default:
        break;
    }
    this.transition(TransportState.Disconnecting);
    this.malformedLog.close();
    this.closing = this.close().catch((err) => this.log.debug(`sip transport: close: ${asError(err).message}`));
    const closing = this.closing;
    const done = (async () => {
      await closing;
      if (this._state === TransportState.Disconnecting) this.transition(TransportState.Disconnected);
      else throw new Error('disconnect aborted by connect()');
    })();
    return this.track('disconnect', done);
  }

  private track(which: 'connect' | 'disconnect', work: Promise<void>): Promise<void> {
    const tracked: Promise<void> = work.finally(() => {
      if (this.pending[which] === tracked) this.pending[which] = undefined;
    });
    this.pending[which] = tracked;
    return tracked;
  }

  async dispose(): Promise<void> {
    await this.disconnect().catch(() => undefined);
    this.disposed = true;
    this.malformedLog.close();
  }

  send(message: string): Promise<void> {
    if (this._state !== TransportState.Connected) return Promise.reject(new Error(`cannot send: transport ${this._state.toLowerCase()}`));
    if (this.options.traceSip) this.log.debug(`sip send (${this.protocol}):\n${redactForLog(message)}`);
    try {
      return this.write(message);
    } catch (err) {
      return Promise.reject(asError(err));
    }
  }

  /** Opens the socket. Resolves when messages can be sent. */
  protected abstract open(): Promise<void>;
  /** Closes the socket and forgets it. Must not reject. */
  protected abstract close(): Promise<void>;
  /** Writes one message (the transport is Connected). */
  protected abstract write(message: string): Promise<void>;

  /**
   * Where the message sip.js is reading now came from, when the transport knows it per message (UDP:
   * the datagram's source); `undefined` outside `onMessage` and on a connection (TCP, TLS, WS: every
   * message comes from the one peer the connection goes to). sip.js hands a request to its core
   * synchronously within `onMessage`, so a hook there (sip-backend.ts, trunk mode) reads the source
   * of that very request.
   */
  get deliveringFrom(): SourceAddress | undefined {
    return this.delivering?.source;
  }

  /**
   * When a message from the server last arrived (`performance.now()`, ms; -Infinity: none yet). The
   * keep-alive (sip-user-agent.ts) counts any message from the server while it waits for its OPTIONS'
   * answer as that answer: a server busy with calls answers late but is there.
   */
  lastFromServerAt = -Infinity;

  /**
   * Did this message come from the server? On a connection (TCP, TLS, WS) every message does; UDP
   * compares the datagram's source with the server's address.
   */
  protected fromServer(_source: SourceAddress | undefined): boolean {
    return true;
  }

  /** A subclass calls this with every whole message it received (`source`: a datagram's). Never throws. */
  protected deliver(text: string, from: string, source?: SourceAddress): void {
    if (this._state !== TransportState.Connected) {
      this.log.debug(`sip transport: message from ${from} while ${this._state.toLowerCase()}: dropped`);
      return;
    }
    if (this.fromServer(source)) this.lastFromServerAt = performance.now();
    if (this.options.traceSip) this.log.debug(`sip receive (${this.protocol}) from ${from}:\n${redactForLog(text)}`);
    const fault = messageFault(text);
    if (fault) {
      this.refuse(text, from, fault);
      return;
    }
    const delivery: { text: string; source?: SourceAddress; unparsable?: string } = { text, source };
    const outer = this.delivering;
    this.delivering = delivery;
    try {
      this.onMessage?.(text);
    } catch (err) {
      // sip.js throws on some malformed messages (a bad status code, a Replaces it cannot parse...).
      this.malformed(from, `sip: a message from ${from} could not be handled and was dropped: ${describe(text)} (the SIP library sip.js failed on it: ${asError(err).message})`);
    } finally {
      this.delivering = outer;
    }
    if (delivery.unparsable !== undefined && this._state === TransportState.Connected) this.refuse(text, from, delivery.unparsable);
  }

  /** A message we do not take: a request that can be answered gets `400 <fault>`, all are logged (rate-limited). */
  private refuse(text: string, from: string, fault: string): void {
    const answer = badRequest(text, fault);
    this.malformed(from, `sip: ${answer ? 'refused' : 'dropped'} a malformed message from ${from} (${fault})${answer ? ' with 400' : ''}: ${describe(text)}`);
    if (answer) this.write(answer).catch((err) => this.log.debug(`sip transport: 400 to ${from} not sent: ${asError(err).message}`));
  }

  /** A line about malformed traffic from `from`: the first few are written, then a count every 10 s. */
  protected malformed(from: string, line: string): void {
    this.malformedLog.note(from, () => line);
  }

  /**
   * sip.js says it could not parse the message being delivered and dropped it (its user agent's log
   * lines: lib/sip/sip-user-agent.ts watches for them): `fault` is the reason phrase of the answer
   * (transport-bad-request.ts `sipJsParserFault`; the first one said counts). When `onMessage`
   * returns, the transport answers that message 400 if it is a request that can be answered.
   * Called at any other time: nothing happens. Never throws.
   */
  unparsable(fault = 'Malformed Message'): void {
    if (this.delivering && this.delivering.unparsable === undefined) this.delivering.unparsable = fault;
  }

  /** A subclass calls this when the connection ended without being asked to. */
  protected lost(error: Error): void {
    if (this._state !== TransportState.Connected) return;
    this.log.warn(`sip transport ${this.protocol} to ${this.options.server.host}:${this.options.server.port} lost: ${error.message}`);
    this.closing = this.close().catch(() => undefined);
    this.transition(TransportState.Disconnected, error);
  }

  private transition(to: TransportState, error?: Error): void {
    const from = this._state;
    if (error) this._lastError = error;
    if (!ALLOWED[from].includes(to)) throw new Error(`sip transport: invalid transition ${from} -> ${to}`);
    this.transitioning = true;
    try {
      this._state = to;
      this.log.debug(`sip transport ${this.protocol}: ${from} -> ${to}${error ? ` (${error.message})` : ''}`);
      this.callSafely('stateChange', () => this._stateChange.emit(to));
      if (to === TransportState.Connected) this.callSafely('onConnect', () => this.onConnect?.());
      if (from === TransportState.Connected) this.callSafely('onDisconnect', () => (error ? this.onDisconnect?.(error) : this.onDisconnect?.()));
    } finally {
      this.transitioning = false;
    }
  }

  private callSafely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error(`sip transport: ${what} handler threw: ${asError(err).message}`);
    }
  }
}

const ALLOWED: Record<TransportState, TransportState[]> = {
  [TransportState.Connecting]: [TransportState.Connected, TransportState.Disconnecting, TransportState.Disconnected],
  [TransportState.Connected]: [TransportState.Disconnecting, TransportState.Disconnected],
  [TransportState.Disconnecting]: [TransportState.Connecting, TransportState.Disconnected],
  [TransportState.Disconnected]: [TransportState.Connecting],
};

/**
 * Closes a connection politely (`end`), and for good (`destroy`) if it has not closed within `ms`.
 * Resolves once closed; errors while closing are of no interest any more.
 */
export function closeWithin(connection: EventEmitter, end: () => void, destroy: () => void, ms = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      destroy();
      resolve();
    }, ms);
    connection.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    connection.on('error', () => undefined);
    end();
  });
}

/** A message in a log line: its start line and Call-ID, printable and short (the whole text is in the SIP trace). */
function describe(text: string): string {
  const firstLine = text.slice(0, Math.min(text.length, 120)).split(/\r?\n/, 1)[0];
  const callId = /^(?:call-id|i)[ \t]*:[ \t]*([^\r\n]{1,80})/im.exec(text)?.[1];
  return `"${firstLine.replace(/[^\x20-\x7e]/g, '?')}"${callId ? ` (Call-ID ${callId.replace(/[^\x20-\x7e]/g, '?')})` : ''}`;
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
