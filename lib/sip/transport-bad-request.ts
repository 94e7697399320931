/**
 * The one place where a received SIP message is judged before sip.js acts on it, and where a
 * request we refuse gets its 400 Bad Request (RFC 3261 §8.2, §21.4.1).
 *
 * Two checks, one answer:
 *
 * 1. **Before sip.js** ({@link messageFault}): what sip.js does not check at all. CSeq must be a
 *    32-bit unsigned number followed by the request's own method (RFC 3261 §8.1.1.5, §20.16):
 *    sip.js reads the number with `parseInt` and no range, so `CSeq: 99999999999999999999999 BYE`
 *    became 1e23 and ended a live call, and it never compares the method, so `CSeq: 13 INVITE` on a
 *    BYE ended one too. A request outside a dialog (no To tag) must start below 2^31 (§8.1.1.5);
 *    inside one, numbers up to 2^32-1 are taken (a peer that started at 2^31-1 legitimately goes
 *    past 2^31: §12.2.1.1 only adds one per request). The mandatory headers (Via, From, To,
 *    Call-ID, CSeq: §8.1.1) must be there, once each (sip.js drops a request without one silently,
 *    and keeps the last of two). Max-Forwards is not required: a UAS has no use for it and some
 *    devices leave it out (sip.js checks its syntax when it is there). A response failing these is
 *    dropped (sip.js threw "Cannot read properties of undefined (reading 'method')" on a response
 *    whose CSeq did not read).
 * 2. **What sip.js's parser refused** (a header it parses as it reads: Contact, Content-Type,
 *    Max-Forwards, Record-Route, Refer-To..., or the request line): sip.js drops the message and
 *    says so through its logger, which the user agent (lib/sip/sip-user-agent.ts, `logConnector`)
 *    watches: {@link sipJsParserFault} turns its words into a reason phrase
 *    (`NodeTransport.unparsable`), and once `onMessage` returns the transport answers. So the
 *    grammar stays sip.js's (no second grammar here) and is run once per message.
 *
 * Either way a request that can be answered (not an ACK, and its top Via reads, so that the answer
 * can reach its sender) gets `400 <reason>`, with the reason naming the fault, and Via, From, To,
 * Call-ID, CSeq copied as they came (§8.2.6.2: copied, not re-written, even when the CSeq is the
 * fault). In-dialog requests whose CSeq is lower than the last one are sip.js's (dialog.js
 * `sequenceGuard`: 500, §12.2.2), now that the number it compares is always a real one.
 */
import { randomBytes } from 'node:crypto';
import { headerLines, parseVia } from './transport-message';

/** What sip.js's user agent logs (category `sip.UserAgent`, level warn) when it drops a message it cannot parse. */
const SIPJS_PARSE_DROP = 'Failed to parse incoming message. Dropping.';

/** True for sip.js's log line that says it dropped the message being delivered because it could not parse it. */
export function isSipJsParseDrop(category: string, content: unknown): boolean {
  return category === 'sip.UserAgent' && content === SIPJS_PARSE_DROP;
}

/**
 * sip.js's parser's complaint (category `sip.Parser`, core/messages/parser.js) as a reason phrase:
 * `error parsing header 'Contact'` → `Bad Contact Header`. `undefined` when `category` is not the
 * parser's.
 */
export function sipJsParserFault(category: string, content: unknown): string | undefined {
  if (category !== 'sip.Parser') return undefined;
  const text = String(content);
  const header = /^error parsing header '([^']*)'/.exec(text);
  if (header) return `Bad ${headerName(header[1])} Header`;
  if (text.startsWith('error parsing first line')) return 'Malformed Request-Line';
  return 'Malformed Message';
}

/** The mandatory headers (RFC 3261 §8.1.1) by their names and compact forms, as they are reported. */
const REQUIRED: ReadonlyArray<[string, string[]]> = [
  ['Via', ['via', 'v']],
  ['From', ['from', 'f']],
  ['To', ['to', 't']],
  ['Call-ID', ['call-id', 'i']],
  ['CSeq', ['cseq']],
];
/** Headers that may appear once only (Via may repeat). */
const SINGLE = REQUIRED.slice(1);

/** `1*DIGIT LWS Method` (RFC 3261 §20.16); Method is a token (§25.1). */
const CSEQ = /^(\d+)[ \t]+([A-Za-z0-9.!%*_+`'~-]+)$/;
const TWO_31 = 2 ** 31;
const TWO_32 = 2 ** 32;

/**
 * Why a received message must not reach sip.js, as a reason phrase (`CSeq Method Mismatch`), or
 * `undefined` when the checks above pass. Cheap: the start line and the header lines once, no
 * grammar. Never throws (a message that cannot be read at all is sip.js's to refuse).
 */
export function messageFault(text: string): string | undefined {
  try {
    const { startLine, headers } = headerLines(text);
    const request = /^(\S+) /.exec(startLine);
    const method = startLine.startsWith('SIP/') ? undefined : request?.[1];
    const found = new Map<string, string[]>();
    for (const [name, names] of REQUIRED) found.set(name, headers.filter((h) => names.includes(h.name)).map((h) => h.value.trim()));
    for (const [name] of REQUIRED) if ((found.get(name) as string[]).length === 0) return `Missing ${name} Header`;
    for (const [name] of SINGLE) if ((found.get(name) as string[]).length > 1) return `More Than One ${name} Header`;
    const cseq = CSEQ.exec((found.get('CSeq') as string[])[0]);
    if (!cseq) return 'Bad CSeq Header';
    const number = cseq[1].length > 10 ? Infinity : Number(cseq[1]);
    if (number >= TWO_32) return 'CSeq Number Out Of Range';
    if (method === undefined) return undefined;
    // Methods are case-sensitive (RFC 3261 §7.1): `bye` is not `BYE`.
    if (cseq[2] !== method) return 'CSeq Method Mismatch';
    if (number >= TWO_31 && !hasTag((found.get('To') as string[])[0])) return 'CSeq Number Out Of Range';
    return undefined;
  } catch {
    return undefined;
  }
}

/** The To (or From) value has a `tag` parameter (after the URI: in `<...>` a `;tag` is the URI's). */
function hasTag(value: string): boolean {
  const close = value.lastIndexOf('>');
  return /;[ \t]*tag[ \t]*=/i.test(close < 0 ? value : value.slice(close));
}

/** The headers a response copies from its request (RFC 3261 §8.2.6.2), by their full and compact names. */
const COPIED = /^(via|v|from|f|to|t|call-id|i|cseq)[ \t]*:/i;
const TO = /^(to|t)[ \t]*:/i;

/**
 * The `400 <reason>` answer to a request we refuse (`reason` from {@link messageFault} or
 * {@link sipJsParserFault}), or `undefined` when there is nothing to answer: a response, an ACK
 * (never answered), a request without a top Via that reads (no answer could find its sender).
 * The copied headers are copied as they came; a To without a tag gets one (§8.2.6.2). Never throws.
 */
export function badRequest(text: string, reason: string): string | undefined {
  try {
    const { startLine, headers } = headerLines(text);
    if (startLine.startsWith('SIP/') || /^ACK /.test(startLine)) return undefined;
    const via = headers.find((h) => h.name === 'via' || h.name === 'v');
    if (!via || !parseVia(via.value.split(',')[0])) return undefined;
    const lines = [`SIP/2.0 400 ${reason.replace(/[^\x20-\x7e]/g, ' ')}`];
    const blank = text.search(/\r?\n\r?\n/);
    const head = (blank < 0 ? text : text.slice(0, blank)).split(/\r?\n/).slice(1);
    for (const line of head) {
      if (!COPIED.test(line)) continue;
      if (TO.test(line) && !hasTag(line.slice(line.indexOf(':') + 1))) lines.push(`${line};tag=${randomBytes(5).toString('hex')}`);
      else lines.push(line);
    }
    lines.push('Content-Length: 0');
    return `${lines.join('\r\n')}\r\n\r\n`;
  } catch {
    return undefined;
  }
}

/** `content-type` → `Content-Type` (sip.js reports header names as they came). */
function headerName(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()).replace(/^Call-Id$/, 'Call-ID').replace(/^Cseq$/, 'CSeq');
}
