/**
 * The little a transport must know about a SIP message it carries: request or response, the method or
 * status, the CSeq method, and the top Via (its branch, and where a response goes back to). This is
 * deliberately not a SIP parser (sip.js parses messages): it reads only the start line and a few header
 * lines, tolerates anything, and never throws.
 */

export interface TopVia {
  /** The transport token (`UDP`, `TCP`, `TLS`...). */
  transport: string;
  /** The sent-by host (IPv6 without brackets). */
  host: string;
  /** The sent-by port, when written. */
  port?: number;
  /** Parameters in lower case; a parameter without value maps to ''. */
  params: Map<string, string>;
}

export interface MessagePeek {
  kind: 'request' | 'response';
  /** Request method (upper case) for a request. */
  method?: string;
  /** Status code for a response. */
  status?: number;
  /** The method in CSeq (upper case), which pairs a response (or CANCEL, ACK) with its request. */
  cseqMethod?: string;
  /** The top Via, when there is one that reads. */
  via?: TopVia;
}

const REQUEST_LINE = /^([A-Za-z]+) +\S+ +SIP\/2\.0$/;
const STATUS_LINE = /^SIP\/2\.0 +(\d{3})(?: .*)?$/;
const VIA_VALUE = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9]+)\s+(\[[0-9A-Fa-f:.]+\]|[^\s;:]+)(?:\s*:\s*(\d{1,5}))?\s*(;.*)?$/;

/** Header lines of a message (after the start line, before the blank line), with their offsets. */
export interface HeaderLine {
  name: string;
  value: string;
  /** Offset of the value's first character in the message text. */
  valueStart: number;
  /** Offset just after the value (the line's end, before CRLF). */
  valueEnd: number;
}

export function headerLines(text: string): { startLine: string; headers: HeaderLine[] } {
  const headers: HeaderLine[] = [];
  let end = text.indexOf('\n');
  const startLine = (end < 0 ? text : text.slice(0, end)).replace(/\r$/, '');
  let pos = end < 0 ? text.length : end + 1;
  while (pos < text.length) {
    end = text.indexOf('\n', pos);
    const lineEnd = end < 0 ? text.length : end;
    const contentEnd = text.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd;
    if (contentEnd === pos) break; // the blank line: the body follows
    const colon = text.indexOf(':', pos);
    if (colon > pos && colon < contentEnd) {
      let valueStart = colon + 1;
      while (valueStart < contentEnd && (text[valueStart] === ' ' || text[valueStart] === '\t')) valueStart++;
      headers.push({ name: text.slice(pos, colon).trim().toLowerCase(), value: text.slice(valueStart, contentEnd), valueStart, valueEnd: contentEnd });
    }
    pos = lineEnd + 1;
  }
  return { startLine, headers };
}

/** The first value of a comma-separated header (Via may carry several in one line). */
function firstValueLength(value: string): number {
  const comma = value.indexOf(',');
  return comma < 0 ? value.length : comma;
}

/** Reads a Via header value (`SIP/2.0/UDP host:port;branch=...`). */
export function parseVia(value: string): TopVia | undefined {
  const match = VIA_VALUE.exec(value.trim());
  if (!match) return undefined;
  const host = match[2].startsWith('[') ? match[2].slice(1, -1) : match[2];
  const port = match[3] === undefined ? undefined : Number(match[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  const params = new Map<string, string>();
  for (const part of (match[4] ?? '').split(';')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name) params.set(name, eq < 0 ? '' : part.slice(eq + 1).trim());
  }
  return { transport: match[1].toUpperCase(), host, port, params };
}

/** What a transport needs to know about a message. `undefined` when the start line is not SIP. */
export function peekMessage(text: string): MessagePeek | undefined {
  try {
    const { startLine, headers } = headerLines(text);
    let peek: MessagePeek;
    const request = REQUEST_LINE.exec(startLine);
    const status = request ? null : STATUS_LINE.exec(startLine);
    if (request) peek = { kind: 'request', method: request[1].toUpperCase() };
    else if (status) peek = { kind: 'response', status: Number(status[1]) };
    else return undefined;
    for (const header of headers) {
      if (peek.via === undefined && (header.name === 'via' || header.name === 'v')) {
        peek.via = parseVia(header.value.slice(0, firstValueLength(header.value)));
      } else if (peek.cseqMethod === undefined && header.name === 'cseq') {
        const cseq = /^\d+\s+([A-Za-z]+)\s*$/.exec(header.value);
        if (cseq) peek.cseqMethod = cseq[1].toUpperCase();
      }
    }
    return peek;
  } catch {
    return undefined;
  }
}

/**
 * Marks where a request really came from in its top Via, as a server transport does (RFC 3261 §18.2.1:
 * `received`; RFC 3581: fill in an empty `rport`). sip.js copies the Via headers into its responses, so
 * the response then says by itself where it must go ({@link responseDestination}).
 * Returns the text unchanged when there is no top Via to mark.
 */
export function stampReceived(text: string, address: string, port: number): string {
  try {
    const { headers } = headerLines(text);
    const via = headers.find((h) => h.name === 'via' || h.name === 'v');
    if (!via) return text;
    const topEnd = via.valueStart + firstValueLength(via.value);
    let top = text.slice(via.valueStart, topEnd);
    const parsed = parseVia(top);
    if (!parsed) return text;
    top = top.replace(/\s+$/, '');
    if (parsed.params.has('received')) top = top.replace(/;\s*received\s*=\s*[^;]*/i, '');
    top += `;received=${address}`;
    if (parsed.params.get('rport') === '') top = top.replace(/;\s*rport\s*(?=;|$)/i, '') + `;rport=${port}`;
    return text.slice(0, via.valueStart) + top + text.slice(topEnd);
  } catch {
    return text;
  }
}

/**
 * Where a response goes (RFC 3261 §18.2.2 with RFC 3581): the `received` address (else the sent-by
 * host), at the `rport` port (else the sent-by port, else `defaultPort`). `undefined` when the response
 * has no usable top Via.
 */
export function responseDestination(peek: MessagePeek, defaultPort: number): { host: string; port: number } | undefined {
  const via = peek.via;
  if (!via) return undefined;
  const received = via.params.get('received');
  const rport = Number(via.params.get('rport'));
  const port = Number.isInteger(rport) && rport > 0 && rport < 65536 ? rport : (via.port ?? defaultPort);
  return { host: received ? received.replace(/^\[|\]$/g, '') : via.host, port };
}

/** The transaction a message belongs to, as the transports match them: top Via branch + CSeq method. */
export function transactionKey(peek: MessagePeek): string | undefined {
  const branch = peek.via?.params.get('branch');
  if (!branch || !peek.cseqMethod) return undefined;
  return `${branch} ${peek.cseqMethod}`;
}

/**
 * A message for a log line: the digest credentials (`Authorization`, `Proxy-Authorization`) are
 * replaced, since a digest response can be attacked offline to find the password.
 */
export function redactForLog(text: string): string {
  return text.replace(/^((?:proxy-)?authorization[ \t]*:)[^\r\n]*/gim, '$1 <redacted>');
}
