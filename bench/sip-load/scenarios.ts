/**
 * The SIPp scenarios of bench/sip-load (and test/integration/media-stall.test.ts), written to a temp folder at run time (so the bench needs no
 * file beside its compiled JS).
 *
 * Both place a call with a G.711 offer (PCMA, PCMU, telephone-event) whose media address is the
 * bench's RTP peer (`-set peerport N`; see rtp-peer.ts), take 100/180/183/200 and ACK. Then:
 * - `calleeHangsUp` (against our flow): wait for the callee's BYE (the flow's voice-hangup) and
 *   answer it 200; the call fails if no BYE comes within `byeTimeoutMs`;
 * - otherwise (against `sipp -sn uas`, whose built-in scenario waits for the caller's BYE): hold
 *   `holdMs`, then send BYE and take its 200.
 */
export interface UacScenario {
  calleeHangsUp: boolean;
  holdMs: number;
  byeTimeoutMs: number;
}

const INVITE = `
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [$peerport] RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
`;

const ACK = `
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0
`;

const BYE = `
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0
`;

const OK_TO_BYE = `
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:sipp@[local_ip]:[local_port]>
Content-Length: 0
`;

const cdata = (text: string): string => `<![CDATA[${text}\n]]>`;

export function uacScenario(s: UacScenario): string {
  const end = s.calleeHangsUp
    ? `  <recv request="BYE" timeout="${s.byeTimeoutMs}" />
  <send>${cdata(OK_TO_BYE)}</send>`
    : `  <pause milliseconds="${s.holdMs}" />
  <send retrans="500">${cdata(BYE)}</send>
  <recv response="200" crlf="true" />`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench sip-load uac">
  <Global variables="peerport" />
  <send retrans="500">${cdata(INVITE)}</send>
  <recv response="100" optional="true" />
  <recv response="180" optional="true" />
  <recv response="183" optional="true" />
  <recv response="200" rtd="true" />
  <send>${cdata(ACK)}</send>
${end}
</scenario>
`;
}

/** SIPp's final counters, read from the statistics screen it prints when it exits. */
export interface SippCounts {
  successful: number;
  failed: number;
}

export function parseSippCounts(output: string): SippCounts | null {
  // "  Successful call        |        0                  |        12        " (last column: cumulative)
  const last = (label: string): number | null => {
    const lines = output.split('\n').filter((l) => l.trimStart().startsWith(label));
    if (lines.length === 0) return null;
    const cells = lines[lines.length - 1].split('|').map((c) => c.trim());
    const n = Number(cells[cells.length - 1]);
    return Number.isFinite(n) ? n : null;
  };
  const successful = last('Successful call');
  const failed = last('Failed call');
  return successful === null || failed === null ? null : { successful, failed };
}
