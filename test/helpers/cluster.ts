/**
 * A cluster on loopback (issue 14, docs/scale-out.md): Kamailio's dispatcher in front of Node-RED
 * instances, each a separate process (test/browser/editor-harness.ts `NodeRed`, as `npm start` runs
 * it) with this package and a flow that answers, plays a tone, records and hangs up. Used by
 * test/integration/scale-out.test.ts and bench/scale-out.ts.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeRed } from '../browser/editor-harness';
import { Kamailio, kamailioPreamble, KamailioOptions, LOOPBACK, sippErrorLog } from './sip-peers';

/** The dispatcher set every instance is in. */
export const DISPATCH_SET = 1;
/** Round-robin (Kamailio dispatcher algorithm 4). */
export const ROUND_ROBIN = 4;

/**
 * Kamailio as the cluster's front: every new INVITE goes to the next instance of set 1 (round-robin),
 * record-routed so that in-dialog requests come back through it; an instance that does not answer
 * within fr_timer (2 s) is marked inactive and the call goes to the next one (`ds_next_dst`), as does a
 * call refused 503 (a draining instance). The instances are probed with OPTIONS every second: only a
 * 2xx keeps one active, so a draining one (503) leaves the rotation and comes back when it answers 200.
 * The recipe in docs/scale-out.md is this configuration.
 */
export function dispatcherConfig(port: number, dir: string, _options: KamailioOptions): string {
  return `${kamailioPreamble(port, dir)}
loadmodule "dispatcher.so"
# A call to an instance that does not answer fails over after 2 s.
modparam("tm", "fr_timer", 2000)
modparam("tm", "fr_inv_timer", 30000)
modparam("dispatcher", "list_file", "${join(dir, 'dispatcher.list')}")
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "ds_ping_interval", 1)
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_probing_threshold", 1)
modparam("dispatcher", "ds_inactive_threshold", 1)
modparam("dispatcher", "ds_ping_reply_codes", "class=2")
modparam("dispatcher", "ds_ping_from", "sip:dispatcher@${LOOPBACK}:${port}")

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (!sanity_check("17895", "7")) { exit; }
  if (is_method("OPTIONS") && uri==myself && $rU==$null) { sl_send_reply("200", "Keepalive"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here"); exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  t_check_trans();
  if (!is_method("INVITE")) { sl_send_reply("405", "Method Not Allowed"); exit; }
  record_route();
  if (!ds_select_dst("${DISPATCH_SET}", "${ROUND_ROBIN}")) { sl_send_reply("503", "No instance available"); exit; }
  xlog("L_INFO", "dispatch $ci to $du\\n");
  t_on_failure("DISPATCH_NEXT");
  if (!t_relay()) { sl_reply_error(); }
}

failure_route[DISPATCH_NEXT] {
  if (t_is_canceled()) { exit; }
  # No answer at all: the instance is gone (mark it inactive and probing until it answers again).
  if (t_branch_timeout() && !t_branch_replied()) { ds_mark_dst("ip"); }
  if (t_check_status("503") || (t_branch_timeout() && !t_branch_replied())) {
    if (ds_next_dst()) {
      xlog("L_INFO", "failover $ci to $du\\n");
      t_on_failure("DISPATCH_NEXT");
      t_relay();
      exit;
    }
  }
}
`;
}

/** Kamailio with the dispatcher, its list holding `ports` (instances on 127.0.0.1). */
export async function startDispatcher(ports: number[]): Promise<Kamailio> {
  // The list must exist before Kamailio reads it: the config is written into a folder Kamailio.start
  // makes, so the list is written by the config function itself.
  return Kamailio.start({ users: {} }, (port, dir, options) => {
    writeDispatcherList(dir, ports);
    return dispatcherConfig(port, dir, options);
  });
}

/** Writes the dispatcher list (set 1, one line per instance). */
export function writeDispatcherList(dir: string, ports: number[]): void {
  writeFileSync(join(dir, 'dispatcher.list'), ports.map((p) => `${DISPATCH_SET} sip:${LOOPBACK}:${p} 0 0\n`).join(''));
}

/** Rewrites the list and has Kamailio read it again (`dispatcher.reload`): an instance added or removed. */
export async function setInstances(kamailio: Kamailio, ports: number[]): Promise<void> {
  writeDispatcherList(kamailio.dir, ports);
  await kamailio.kamcmd('dispatcher.reload');
}

/** The dispatcher's view: each destination's port and flags (`AP` active and probing, `IP` inactive...). */
export async function destinations(kamailio: Kamailio): Promise<Map<number, string>> {
  const out = await kamailio.kamcmd('dispatcher.list');
  const found = new Map<number, string>();
  const re = /URI:\s*sip:[^:\s]+:(\d+)\s+FLAGS:\s*(\w+)/g;
  for (let m = re.exec(out); m; m = re.exec(out)) found.set(Number(m[1]), m[2]);
  return found;
}

/** One event an instance's flow logged: `{ t: Date.now(), topic, id, calls }`. */
export interface InstanceEvent {
  t: number;
  topic: string;
  id?: string;
  calls?: number;
}

const MARK = 'CLUSTER-EVENT ';

/**
 * An instance's flow: a trunk-mode SIP line whose server is the proxy, a flow that answers every call
 * (`incoming`, and `waiting`: a call that comes while another is in progress is a waiting call on a
 * line, which a server answering many callers answers all the same),
 * plays a tone of `toneMs`, records the call (autoRecord) and hangs up; every call and line event logged
 * (a function node: `CLUSTER-EVENT {json}`), and `POST /api/drain` / `/api/undrain` for voice-control.
 */
export function instanceFlow(proxy: string, sipPort: number, rtpBase: number, toneMs: number): unknown[] {
  // Ids unlike any property value: Node-RED reads a property equal to a node's id as a reference to it.
  const line = 'cluster-line';
  return [
    { id: 'cluster-tab', type: 'tab', label: 'cluster instance' },
    {
      id: line,
      type: 'voice-line',
      name: `instance ${sipPort}`,
      backend: 'sip',
      server: proxy,
      transport: 'udp',
      username: 'app',
      register: false,
      localPort: sipPort,
      localAddress: LOOPBACK,
      trustedSources: '',
      rtpPortMin: rtpBase,
      rtpPortMax: rtpBase + 199,
      codecs: 'PCMU,PCMA',
      dtmfMode: 'rfc4733',
      maxCalls: 0,
      incomingRefer: 'refuse',
      autoAnswer: 0,
      autoReject: false,
    },
    { id: 'cluster-incoming', z: 'cluster-tab', type: 'voice-events', line, events: ['incoming', 'waiting'], wires: [['cluster-answer']] },
    { id: 'cluster-answer', z: 'cluster-tab', type: 'voice-answer', line, wires: [['cluster-play']] },
    { id: 'cluster-play', z: 'cluster-tab', type: 'voice-play', line, source: `beep:${toneMs}`, sourceType: 'str', bargeIn: false, folder: '', pathFromMsg: false, maxSizeMB: 50, wires: [['cluster-hangup']] },
    { id: 'cluster-hangup', z: 'cluster-tab', type: 'voice-hangup', line, mode: 'hangup', cause: 'normal', wires: [[]] },
    { id: 'cluster-record', z: 'cluster-tab', type: 'voice-record', line, mode: 'file', format: 'wav', direction: 'rx', chunkMs: 100, folder: '', autoRecord: true, pathFromMsg: false, wires: [[]] },
    { id: 'cluster-events', z: 'cluster-tab', type: 'voice-events', line, events: ['incoming', 'waiting', 'answered', 'ended', 'line-up', 'line-down', 'draining', 'drained'], wires: [['cluster-log']] },
    {
      id: 'cluster-log',
      z: 'cluster-tab',
      type: 'function',
      name: 'log',
      func: `node.log(${JSON.stringify(MARK)} + JSON.stringify({ t: Date.now(), topic: msg.topic, id: msg.call && msg.call.id, calls: msg.payload && msg.payload.calls }));\nreturn null;`,
      outputs: 1,
      wires: [[]],
    },
    // voice-control answers true / false; an http response sends a string.
    { id: 'cluster-text', z: 'cluster-tab', type: 'function', name: 'as text', func: 'msg.payload = String(msg.payload);\nreturn msg;', outputs: 1, wires: [['cluster-http-out']] },
    { id: 'cluster-http-out', z: 'cluster-tab', type: 'http response', statusCode: '', headers: {}, wires: [] },
    { id: 'cluster-drain-in', z: 'cluster-tab', type: 'http in', url: '/drain', method: 'post', wires: [['cluster-drain']] },
    { id: 'cluster-drain', z: 'cluster-tab', type: 'voice-control', line, action: 'drain', value: '', wires: [['cluster-text']] },
    { id: 'cluster-undrain-in', z: 'cluster-tab', type: 'http in', url: '/undrain', method: 'post', wires: [['cluster-undrain']] },
    { id: 'cluster-undrain', z: 'cluster-tab', type: 'voice-control', line, action: 'undrain', value: '', wires: [['cluster-text']] },
  ];
}

/** One Node-RED instance of the cluster, on its SIP port. */
export class Instance {
  private constructor(
    readonly sipPort: number,
    readonly nodeRed: NodeRed,
  ) {}

  static async start(proxy: string, sipPort: number, rtpBase: number, toneMs: number): Promise<Instance> {
    // Loading the palette alone took 15 s with three starting at once on a busy 2-core machine.
    const nr = await NodeRed.start(instanceFlow(proxy, sipPort, rtpBase, toneMs), 120_000);
    return new Instance(sipPort, nr);
  }

  /** The flow's events so far, in order. */
  events(): InstanceEvent[] {
    const out: InstanceEvent[] = [];
    for (const line of this.nodeRed.log) {
      const i = line.indexOf(MARK);
      if (i >= 0) out.push(JSON.parse(line.slice(i + MARK.length)) as InstanceEvent);
    }
    return out;
  }

  /** Calls that came in (`incoming` or `waiting`) at or after `from` (Date.now()). */
  arrived(from = 0): InstanceEvent[] {
    return this.events().filter((e) => (e.topic === 'incoming' || e.topic === 'waiting') && e.t >= from);
  }

  /** Calls answered (in `[from, to)` of Date.now() when given). */
  answered(from = 0, to = Infinity): InstanceEvent[] {
    return this.events().filter((e) => e.topic === 'answered' && e.t >= from && e.t < to);
  }

  /** The recordings the flow wrote (WAV files in the user directory's voice-recordings). */
  recordings(): string[] {
    const dir = join(this.nodeRed.userDir, 'voice-recordings');
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.wav')) : [];
  }

  /** POSTs to the flow's /api/drain or /api/undrain (voice-control); resolves with its answer. */
  async control(action: 'drain' | 'undrain'): Promise<string> {
    const res = await fetch(`${this.nodeRed.url}api/${action}`, { method: 'POST' });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST /api/${action}: ${res.status} ${text}`);
    return text;
  }

  kill(): Promise<void> {
    return this.nodeRed.kill();
  }

  stop(): Promise<void> {
    return this.nodeRed.stop();
  }
}

/**
 * test/fixtures/sipp/cluster-caller.xml's messages 6–8 (from 0; SIPp names the first of the group) are
 * the wait for the instance's BYE after the ACK: a call whose wait timed out there was answered, and
 * its instance went away during it.
 */
export function lostInProgress(f: FailedCall): boolean {
  return /receive timeout on message cluster caller:[678]\b/.test(f.text);
}

/** A SIPp call that failed, from its error log: when (ms since the epoch), its Call-ID and why. */
export interface FailedCall {
  t: number;
  callId: string;
  text: string;
}

/**
 * The failed calls in SIPp's error log (`-trace_err`, in its folder), one per Call-ID (its first
 * entry). Each entry starts with the date, the time and the epoch seconds (`2026-12-05	10:50:01.123456
 * 1796460601.123456: Aborting call on unexpected message for Call-Id '…'`), sometimes right after the
 * previous one on the same line; "Dead call" entries (a message for a call already failed) are left out.
 */
export function sippFailures(dir: string): FailedCall[] {
  const byCall = new Map<string, FailedCall>();
  for (const entry of sippErrorLog(dir).split(/(?=\d{4}-\d\d-\d\d\t[\d:.]+\t\d+\.\d+: )/)) {
    const m = /^\d{4}-\d\d-\d\d\t[\d:.]+\t(\d+\.\d+): (.*)/s.exec(entry.trim());
    if (!m || /^Dead call/.test(m[2])) continue;
    const callId = /Call-Id[:]?\s*'?([^',\s]+)/i.exec(m[2])?.[1] ?? m[2];
    if (!byCall.has(callId)) byCall.set(callId, { t: Math.round(Number(m[1]) * 1000), callId, text: m[2].split('\n')[0].slice(0, 200) });
  }
  return [...byCall.values()].sort((x, y) => x.t - y.t);
}
