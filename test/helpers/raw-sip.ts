/**
 * Raw SIP for robustness tests: build messages by hand (so they can be as wrong as a test wants), send
 * them from a plain UDP socket, read what comes back. Not a SIP stack: a test that wants a correct
 * exchange writes it out, which is the point (nothing here "fixes" a message on the way).
 *
 * {@link RawSipRelay} also stands between a line and its real peer: the line under attack names the
 * relay as its server, the relay passes everything on to the real peer and back, except the dialogs
 * the test owns (the Call-IDs it used), which it keeps for the test to read. So one line can be
 * attacked from the address it trusts (trunk mode takes calls from its server only) and still make
 * real calls with the other line.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import { once } from 'node:events';
import { LOOPBACK } from './sip-peers';

/** A SIP message as received: the start line, headers by lower-case name (compact names expanded), the body. */
export interface RawSipMessage {
  text: string;
  startLine: string;
  /** Status code of a response, undefined for a request. */
  status?: number;
  /** Method of a request. */
  method?: string;
  headers: Map<string, string[]>;
  body: string;
  /** The first value of a header, or ''. */
  header(name: string): string;
}

const COMPACT: Record<string, string> = { i: 'call-id', f: 'from', t: 'to', v: 'via', m: 'contact', l: 'content-length', c: 'content-type' };

/** Reads a message well enough for a test to look at it (tolerant: a test reads what the line sent). */
export function parseRawSip(text: string): RawSipMessage {
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split + 4);
  const [startLine, ...lines] = head.split('\r\n');
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    let name = line.slice(0, colon).trim().toLowerCase();
    name = COMPACT[name] ?? name;
    const list = headers.get(name) ?? [];
    list.push(line.slice(colon + 1).trim());
    headers.set(name, list);
  }
  const status = /^SIP\/2\.0 (\d{3})/.exec(startLine);
  const method = /^([A-Z]+) \S+ SIP\/2\.0$/.exec(startLine);
  return {
    text,
    startLine,
    status: status ? Number(status[1]) : undefined,
    method: method ? method[1] : undefined,
    headers,
    body,
    header: (name) => headers.get(name.toLowerCase())?.[0] ?? '',
  };
}

export function token(): string {
  return randomBytes(6).toString('hex');
}

/** The tag parameter of a From/To value, or undefined. */
export function tagOf(value: string): string | undefined {
  return /;\s*tag=([^;>\s]+)/i.exec(value)?.[1];
}

export interface RequestParts {
  method: string;
  ruri: string;
  /** Our address (Via sent-by, From, Contact). */
  via: { host: string; port: number; transport?: string };
  callId: string;
  cseq: number;
  /** CSeq method (default: the method). */
  cseqMethod?: string;
  fromUser?: string;
  fromTag?: string;
  to: string;
  toTag?: string;
  branch?: string;
  /** More header lines, written as given. */
  headers?: string[];
  body?: string;
  contentType?: string;
  /** Content-Length written (default: the body's byte length); `null` leaves the header out. */
  contentLength?: number | null;
  /** Headers to leave out (lower case: via, from, to, call-id, cseq, max-forwards, contact). */
  omit?: string[];
}

/** A request as text, exactly as the parts say. */
export function buildRequest(p: RequestParts): string {
  const omit = new Set(p.omit ?? []);
  const body = p.body ?? '';
  const lines = [`${p.method} ${p.ruri} SIP/2.0`];
  const add = (name: string, line: string): void => {
    if (!omit.has(name)) lines.push(line);
  };
  add('via', `Via: SIP/2.0/${p.via.transport ?? 'UDP'} ${p.via.host}:${p.via.port};branch=${p.branch ?? `z9hG4bK${token()}`};rport`);
  add('max-forwards', 'Max-Forwards: 70');
  add('from', `From: <sip:${p.fromUser ?? 'attacker'}@${p.via.host}>;tag=${p.fromTag ?? token()}`);
  add('to', `To: <${p.to}>${p.toTag ? `;tag=${p.toTag}` : ''}`);
  add('call-id', `Call-ID: ${p.callId}`);
  add('cseq', `CSeq: ${p.cseq} ${p.cseqMethod ?? p.method}`);
  add('contact', `Contact: <sip:${p.fromUser ?? 'attacker'}@${p.via.host}:${p.via.port}>`);
  lines.push(...(p.headers ?? []));
  if (p.contentType) lines.push(`Content-Type: ${p.contentType}`);
  const length = p.contentLength === undefined ? Buffer.byteLength(body) : p.contentLength;
  if (length !== null) lines.push(`Content-Length: ${length}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** An SDP offer for G.711 µ-law and telephone-event from `address`:`port` (change it to break it). */
export function sdpOffer(address: string, port: number, options: { codecs?: string; extra?: string[]; addrType?: string } = {}): string {
  const pts = options.codecs ?? '0 101';
  const lines = [
    'v=0',
    `o=attacker 1 1 IN ${options.addrType ?? 'IP4'} ${address}`,
    's=-',
    `c=IN ${options.addrType ?? 'IP4'} ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP ${pts}`,
    ...(options.codecs === undefined ? ['a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16'] : []),
    ...(options.extra ?? []),
    'a=ptime:20',
    'a=sendrecv',
  ];
  return `${lines.join('\r\n')}\r\n`;
}

interface Waiter {
  pred: (m: RawSipMessage) => boolean;
  resolve: (m: RawSipMessage) => void;
}

/**
 * A UDP socket on 127.0.0.1 that relays a line's traffic to its real peer (`forwardTo`) and keeps
 * the messages of the test's own dialogs (by Call-ID, see {@link own}) for {@link next}.
 */
export class RawSipRelay {
  readonly socket: Socket;
  /** Messages of owned dialogs not taken by next() yet. */
  private readonly inbox: RawSipMessage[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly owned = new Set<string>();
  /** Where the line's own traffic goes (the other line), and where the line is. */
  private line: { port: number } | undefined;
  private forwardTo: { port: number } | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (data, rinfo) => this.onDatagram(data, rinfo));
  }

  static async open(port = 0): Promise<RawSipRelay> {
    const socket = createSocket('udp4');
    socket.bind(port, LOOPBACK);
    await once(socket, 'listening');
    return new RawSipRelay(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Relays between the line (at `linePort`) and its real peer (at `peerPort`). */
  relay(linePort: number, peerPort: number): void {
    this.line = { port: linePort };
    this.forwardTo = { port: peerPort };
  }

  /** A new Call-ID whose messages the relay keeps for the test. */
  own(callId = `attack-${token()}`): string {
    this.owned.add(callId);
    return callId;
  }

  /** Sends bytes to the line. */
  send(data: string | Buffer): Promise<void> {
    const port = this.line?.port as number;
    return new Promise((resolve, reject) => this.socket.send(typeof data === 'string' ? Buffer.from(data) : data, port, LOOPBACK, (err) => (err ? reject(err) : resolve())));
  }

  /** The next kept message matching `pred` (also one that came already). */
  next(pred: (m: RawSipMessage) => boolean, timeoutMs = 10_000, what = 'a message'): Promise<RawSipMessage> {
    const i = this.inbox.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`no ${what} within ${timeoutMs} ms; kept: ${this.inbox.map((m) => m.startLine).join(' | ') || 'nothing'}`));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  /** The final response (≥ 200) to the request of `callId` and `cseqMethod`. */
  final(callId: string, cseqMethod: string, timeoutMs = 10_000): Promise<RawSipMessage> {
    return this.next(
      (m) => m.status !== undefined && m.status >= 200 && m.header('call-id') === callId && m.header('cseq').toUpperCase().endsWith(` ${cseqMethod}`),
      timeoutMs,
      `final response to ${cseqMethod} of ${callId}`,
    );
  }

  /** Nothing matching `pred` arrives within `ms` (for "the line ignored it"). */
  async none(pred: (m: RawSipMessage) => boolean, ms: number): Promise<RawSipMessage | undefined> {
    return this.next(pred, ms).catch(() => undefined);
  }

  /** Forgets the kept messages nobody took (after a barrage whose answers are of no interest). */
  clear(): void {
    this.inbox.length = 0;
  }

  close(): void {
    this.socket.close();
  }

  private onDatagram(data: Buffer, rinfo: RemoteInfo): void {
    const text = data.toString('utf8');
    const callId = /^(?:call-id|i)[ \t]*:[ \t]*(\S+)/im.exec(text)?.[1];
    if (callId && this.owned.has(callId)) {
      const m = parseRawSip(text);
      for (const w of this.waiters) {
        if (w.pred(m)) {
          this.waiters.delete(w);
          w.resolve(m);
          return;
        }
      }
      this.inbox.push(m);
      return;
    }
    // The line's own traffic: from the line to its peer, and the peer's answers back.
    if (!this.line || !this.forwardTo) return;
    const to = rinfo.port === this.line.port ? this.forwardTo.port : this.line.port;
    this.socket.send(data, to, LOOPBACK);
  }
}

/**
 * A response to a request the line sent: its Via lines, From, To (with `toTag` added when the To has
 * no tag yet), Call-ID and CSeq copied, as RFC 3261 §8.2.6 says.
 */
export function buildResponse(req: RawSipMessage, status: number, reason: string, options: { toTag?: string; headers?: string[]; body?: string; contentType?: string } = {}): string {
  const to = req.header('to');
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const via of req.headers.get('via') ?? []) lines.push(`Via: ${via}`);
  lines.push(`From: ${req.header('from')}`, `To: ${tagOf(to) || !options.toTag ? to : `${to};tag=${options.toTag}`}`, `Call-ID: ${req.header('call-id')}`, `CSeq: ${req.header('cseq')}`);
  lines.push(...(options.headers ?? []));
  if (options.contentType) lines.push(`Content-Type: ${options.contentType}`);
  const body = options.body ?? '';
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
