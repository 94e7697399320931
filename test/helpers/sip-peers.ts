/**
 * Real SIP peers for integration tests, all on 127.0.0.1, on ports the test picks (design §6):
 * - Kamailio as registrar + proxy with digest auth and no database (a generated config, users in a
 *   hash table), run in the foreground;
 * - SIPp (`sipp -sn uas` and friends);
 * - baresip, driven over its `ctrl_tcp` module (netstring-framed JSON commands and events).
 *
 * Every peer runs in its own process group, killed as a group on stop (and at exit, should a test
 * forget or crash). A test needing a peer calls `requirePeer(this, 'kamailio')` in `before`: the test
 * is skipped (saying why) when the program is missing, except on CI (`CI=true`), where that fails.
 */
import { ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readChannels } from './audio-spectrum';

export const LOOPBACK = '127.0.0.1';

/** The programs, and the Debian package each comes from. */
export const PEER_PACKAGES = { kamailio: 'kamailio', kamcmd: 'kamailio', sipp: 'sip-tester', baresip: 'baresip-core', linphonec: 'linphone-cli' } as const;
export type PeerProgram = keyof typeof PEER_PACKAGES;

const found = new Map<string, boolean>();

/** True when `program` can be run. */
export function havePeer(program: PeerProgram): boolean {
  if (!found.has(program)) {
    const probe = spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    found.set(program, probe.status === 0);
  }
  return found.get(program) as boolean;
}

/**
 * For a `before` hook: skips the tests (saying why) when a program is missing; on CI (`CI=true`) a
 * missing program is a failure, not a silent skip.
 */
export function requirePeer(ctx: Mocha.Context, ...programs: PeerProgram[]): void {
  const missing = programs.filter((p) => !havePeer(p));
  if (missing.length === 0) return;
  const install = `apt-get install ${[...new Set(missing.map((p) => PEER_PACKAGES[p]))].join(' ')}`;
  if (process.env.CI === 'true') throw new Error(`${missing.join(', ')} required on CI (${install}) but not found`);
  // eslint-disable-next-line no-console
  console.warn(`      skipped: ${missing.join(', ')} not installed (${install})`);
  ctx.skip();
}

/**
 * A self-signed certificate for 127.0.0.1 (IP SAN), made with openssl, for TLS / WSS tests. For a
 * `before` hook: skips when openssl is missing (fails on CI).
 */
export function selfSignedCertificate(ctx: Mocha.Context): { cert: Buffer; key: Buffer } {
  if (spawnSync('openssl', ['version'], { stdio: 'ignore' }).status !== 0) {
    if (process.env.CI === 'true') throw new Error('openssl is required on CI to make a test certificate');
    // eslint-disable-next-line no-console
    console.warn('      skipped: openssl is not installed');
    ctx.skip();
  }
  const dir = mkdtempSync(join(tmpdir(), 'sip-cert-'));
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${LOOPBACK}`, '-addext', `subjectAltName=IP:${LOOPBACK}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    { stdio: 'pipe' },
  );
  if (made.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl could not make a certificate: ${made.stderr.toString()}`);
  }
  const cert = readFileSync(join(dir, 'cert.pem'));
  const key = readFileSync(join(dir, 'key.pem'));
  rmSync(dir, { recursive: true, force: true });
  return { cert, key };
}

// ───────────────────────────── ports ─────────────────────────────

/** True when nothing listens on `port` (UDP and TCP) on loopback. */
export async function portFree(port: number): Promise<boolean> {
  const udp = await new Promise<boolean>((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, LOOPBACK, () => s.close(() => resolve(true)));
  });
  if (!udp) return false;
  return new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, LOOPBACK, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free ports (UDP and TCP) from a random base in 20000–32767: below Linux's
 * ephemeral range (32768–60999), where any socket bound to port 0 could take a port between this
 * check and the peer's bind (SIPp once failed with errno 98 that way).
 */
export async function pickPorts(count = 1): Promise<number> {
  const now = Date.now();
  for (const [port, at] of picked) if (now - at > PICKED_MS) picked.delete(port);
  for (let tries = 0; tries < 50; tries++) {
    const base = 20000 + Math.floor(Math.random() * (32768 - 20000 - count));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = !picked.has(p) && (await portFree(p));
    if (ok) {
      for (let p = base; p < base + count; p++) picked.set(p, now);
      return base;
    }
  }
  throw new Error('no free ports found on 127.0.0.1');
}

/**
 * The ports {@link pickPorts} handed out lately, and when. A port is free when it is picked, but its
 * user binds it later (a peer's process starts, a line opens its socket): until then another pick in
 * this process could hand it out again. Not for {@link PICKED_MS}, then. CI once saw SIPp exit at
 * its start (its reason was cut from the output then): its video port (`-mp` + 2) was never
 * checked, and picks were not kept apart, and either makes its bind fail.
 */
const picked = new Map<number, number>();
const PICKED_MS = 120_000;

/**
 * A base for SIPp's `-mp`: SIPp binds that port (audio RTP) and the one 2 above (video), and
 * +1 and +3 are their RTCP by convention. All four are free and kept apart from other picks.
 */
export function pickSippMediaPort(): Promise<number> {
  return pickPorts(4);
}

// ───────────────────────────── processes ─────────────────────────────

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** A program in its own process group, its output kept for diagnostics. */
export class PeerProcess {
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    cwd?: string,
  ) {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const c of live) killGroup(c, 'SIGKILL');
      });
    }
    this.child = spawn(command, args, { cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(this.child);
    const keep = (d: Buffer): void => {
      this.output.push(d.toString());
      if (this.output.length > 2000) this.output.splice(0, 1000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('error', (err) => this.output.push(`spawn error: ${err.message}`));
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        live.delete(this.child);
        resolve({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The program's stdin (SIPp takes keyboard commands there). */
  get stdin(): NodeJS.WritableStream | null {
    return this.child.stdin;
  }

  text(): string {
    return this.output.join('');
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running) return;
    killGroup(this.child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(this.child, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    killGroup(this.child, 'SIGKILL'); // children that outlived their parent
  }

  /** SIGKILL to the group: a crash. */
  async kill(): Promise<void> {
    killGroup(this.child, 'SIGKILL');
    await this.exited;
  }
}

/** Polls `check` every 50 ms until it is true; throws `what` after `timeoutMs` or when `alive()` is false. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (!alive()) throw new Error(`${what}: the program exited`);
    if (Date.now() > deadline) throw new Error(`${what}: timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends an OPTIONS over UDP and resolves with the status line of the answer (or undefined). */
export function udpOptions(port: number, timeoutMs = 300): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const done = (answer?: string): void => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(), timeoutMs);
    socket.on('error', () => done());
    socket.on('message', (data) => done(data.toString().split('\r\n')[0]));
    socket.bind(0, LOOPBACK, () => {
      const local = socket.address().port;
      const tag = Math.random().toString(36).slice(2);
      const msg = [
        `OPTIONS sip:${LOOPBACK}:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${LOOPBACK}:${local};branch=z9hG4bK${tag};rport`,
        'Max-Forwards: 70',
        `From: <sip:probe@${LOOPBACK}>;tag=${tag}`,
        `To: <sip:${LOOPBACK}:${port}>`,
        `Call-ID: ${tag}@probe`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(msg, port, LOOPBACK);
    });
  });
}

// ───────────────────────────── Kamailio ─────────────────────────────

export interface KamailioOptions {
  /** Accounts: user name → password. */
  users: Record<string, string>;
  /** Smallest registration expiry accepted (seconds; default 1, so tests can refresh quickly). */
  minExpires?: number;
  /** Keep-alive OPTIONS to Kamailio itself are challenged (401) unless they carry valid credentials, as some registrars do. */
  challengeOptions?: boolean;
}

const KAMAILIO_MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules/';

/**
 * What every Kamailio configuration of the tests starts with: the listening socket(s) on loopback,
 * the modules of a stateful proxy (tm, sl, rr, sanity...) and the control socket `kamcmd` talks to.
 */
export function kamailioPreamble(port: number, dir: string, options: { tcp?: boolean } = {}): string {
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=${options.tcp ? 2 : 1}
auto_aliases=no
listen=udp:${LOOPBACK}:${port}
${options.tcp ? `listen=tcp:${LOOPBACK}:${port}\n` : ''}alias="${LOOPBACK}:${port}"
mpath="${process.env.KAMAILIO_MODULES ?? KAMAILIO_MODULES}"
loadmodule "ctl.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "tmx.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
modparam("ctl", "binrpc", "unix:${join(dir, 'ctl.sock')}")`;
}

/**
 * Kamailio as registrar and proxy, digest auth against a hash table filled from the config, no
 * database. Listens on UDP and TCP on the same port.
 */
export function kamailioConfig(port: number, dir: string, options: KamailioOptions): string {
  const users = Object.entries(options.users)
    .map(([user, password]) => `  $sht(users=>${user}) = "${password.replace(/["\\$]/g, '')}";`)
    .join('\n');
  return `${kamailioPreamble(port, dir, { tcp: true })}
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "htable.so"
modparam("usrloc", "db_mode", 0)
modparam("registrar", "min_expires", ${options.minExpires ?? 1})
modparam("registrar", "max_expires", 3600)
modparam("htable", "htable", "users=>size=4;")

event_route[htable:mod-init] {
${users}
}

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (!sanity_check("17895", "7")) { exit; }
  xlog("L_INFO", "request $rm $ru from $si:$sp ($pr)\\n");
  # Keep-alives to the proxy itself.
  if (is_method("OPTIONS") && uri==myself && $rU==$null) {
${options.challengeOptions ? `    $var(pw) = $sht(users=>$fU);
    if ($var(pw) == $null || !pv_www_authenticate("$td", "$var(pw)", "0")) { auth_challenge("$td", "1"); exit; }
` : ''}    sl_send_reply("200", "Keepalive"); exit;
  }
  # In-dialog requests follow the Record-Route set.
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here"); exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  t_check_trans();
  # Registrar: digest auth against the users table; a wrong password is challenged again (401).
  if (is_method("REGISTER")) {
    $var(pw) = $sht(users=>$fU);
    if ($var(pw) == $null || !pv_www_authenticate("$td", "$var(pw)", "0")) { auth_challenge("$td", "1"); exit; }
    consume_credentials();
    if (!save("location")) { sl_reply_error(); }
    exit;
  }
  if (is_method("INVITE|SUBSCRIBE|REFER")) { record_route(); }
  if ($rU == $null) { sl_send_reply("484", "Address Incomplete"); exit; }
  if (uri==myself) {
    if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
  }
  if (!t_relay()) { sl_reply_error(); }
}
`;
}

export class Kamailio {
  private process: PeerProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  /**
   * Starts Kamailio on free ports (another base if it could not bind), with the registrar and proxy
   * configuration above or another one (`config`: the text for a port and a folder, e.g. the
   * dispatcher of test/helpers/cluster.ts).
   */
  static async start(options: KamailioOptions, config: (port: number, dir: string, options: KamailioOptions) => string = kamailioConfig): Promise<Kamailio> {
    let lastError: unknown;
    for (let tries = 0; tries < 5; tries++) {
      const port = await pickPorts(1);
      const dir = mkdtempSync(join(tmpdir(), 'kamailio-'));
      writeFileSync(join(dir, 'kamailio.cfg'), config(port, dir, options));
      const k = new Kamailio(port, dir);
      try {
        await k.launch();
        return k;
      } catch (err) {
        lastError = err;
        await k.stop();
      }
    }
    throw lastError;
  }

  /** `sip:127.0.0.1:<port>` as a `server` option. */
  get address(): string {
    return `${LOOPBACK}:${this.port}`;
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  /** Everything Kamailio wrote (for a failing test's message). */
  log(): string {
    return this.process?.text() ?? '';
  }

  /** Kills Kamailio at once (SIGKILL): the registrar loses every binding, as in a crash. */
  async kill(): Promise<void> {
    await this.process?.kill();
  }

  /** Starts it again with the same configuration, on the same port. */
  async restart(): Promise<void> {
    if (this.running) await this.kill();
    await waitFor('port released', () => portFree(this.port), 10_000);
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.process?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs a `kamcmd` command on this Kamailio (its ctl socket); resolves with what it printed. */
  kamcmd(...args: string[]): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      execFile('kamcmd', ['-s', `unix:${join(this.dir, 'ctl.sock')}`, ...args], { timeout: 5000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
  }

  /** The contacts the registrar holds for `user` (via `kamcmd ul.dump`). */
  async contacts(user: string): Promise<string[]> {
    const out = await this.kamcmd('ul.dump');
    const contacts: string[] = [];
    let current: string | undefined;
    for (const line of out.split('\n')) {
      const aor = /^\s*AoR:\s*(\S+)/.exec(line);
      if (aor) current = aor[1];
      const address = /^\s*Address:\s*(\S+)/.exec(line);
      if (address && current === user) contacts.push(address[1]);
    }
    return contacts;
  }

  private async launch(): Promise<void> {
    this.process = new PeerProcess('kamailio', 'kamailio', ['-f', join(this.dir, 'kamailio.cfg'), '-DD', '-E', '-Y', this.dir, '-P', join(this.dir, 'kamailio.pid'), '-m', '32', '-M', '4']);
    const proc = this.process;
    try {
      await waitFor('kamailio answering OPTIONS', async () => (await udpOptions(this.port)) !== undefined, 15_000, () => proc.running);
    } catch (err) {
      await proc.stop();
      throw new Error(`${(err as Error).message}\n${proc.text().slice(-2000)}`);
    }
  }
}

// ───────────────────────────── SIPp ─────────────────────────────

export interface SippOptions {
  /** A built-in scenario (`uas`, `uac`...) or the path of an XML scenario. */
  scenario: string;
  /** Where a UAC sends (`host:port`). */
  remote?: string;
  /** Local port (default: picked). */
  port?: number;
  /** Stop after this many calls. */
  calls?: number;
  extraArgs?: string[];
  /**
   * Files written into SIPp's working folder before it starts (name → content): what a scenario
   * names by a relative path, such as a pcap for `<exec play_pcap_audio="dtmf.pcap"/>`.
   */
  files?: Record<string, Buffer | string>;
}

/** What SIPp wrote into its error log (`-trace_err`: `<scenario>_<pid>_errors.log` in its folder); '' when none. */
export function sippErrorLog(dir: string): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir)
    .filter((f) => f.endsWith('_errors.log'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('');
}

/**
 * Why SIPp ended at its start, as it said it: its error lines ("Unable to bind video RTP socket
 * (IP=..., port=...)"), printed before the statistics screens that fill the end of its output, and
 * its `-trace_err` file. Empty when it said nothing of the kind.
 */
function sippErrors(output: string, dir: string): string {
  const lines = output.split('\n').filter((l) => /unable|error|cannot|can't|failed to/i.test(l) && !/^\s*(Failed call|.*\|)/.test(l));
  const said = [...lines.slice(0, 10), ...sippErrorLog(dir).split('\n').filter(Boolean).slice(-10)];
  return said.length ? `SIPp said:\n${said.join('\n')}\n` : '';
}

/** SIPp on loopback, UDP. */
export class Sipp {
  private constructor(
    readonly port: number,
    readonly process: PeerProcess,
    readonly dir: string,
  ) {}

  static async start(options: SippOptions): Promise<Sipp> {
    const port = options.port ?? (await pickPorts(1));
    const scenario = /^[a-z_]+$/.test(options.scenario) ? ['-sn', options.scenario] : ['-sf', options.scenario];
    const args = [...scenario, '-i', LOOPBACK, '-p', String(port), '-nostdin', '-trace_err', ...(options.calls ? ['-m', String(options.calls)] : []), ...(options.extraArgs ?? [])];
    if (options.remote) args.push(options.remote);
    // SIPp writes its error trace (-trace_err) into its working folder.
    const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
    for (const [name, content] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), content);
    const proc = new PeerProcess('sipp', 'sipp', args, dir);
    const sipp = new Sipp(port, proc, dir);
    // SIPp has bound its port when we can no longer bind it.
    try {
      await waitFor('sipp listening', async () => !(await portFree(port)), 10_000, () => proc.running);
    } catch (err) {
      await proc.stop();
      const why = sippErrors(proc.text(), dir);
      await sipp.stop();
      throw new Error(`${(err as Error).message}\n${why}${proc.text().slice(-2000)}`);
    }
    return sipp;
  }

  get address(): string {
    return `${LOOPBACK}:${this.port}`;
  }

  /** Resolves with SIPp's exit code (0: every call succeeded). */
  async exitCode(): Promise<number | null> {
    return (await this.process.exited).code;
  }

  async stop(): Promise<void> {
    await this.process.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The path of a SIPp scenario kept in test/fixtures/sipp/. The build compiles TypeScript only, so a
 * compiled test looks beside its own tree first (a build that copied the fixtures), then in the
 * repository above dist/, then in the folder the tests run from (the repository, for npm test / mocha).
 */
export function sippScenario(name: string): string {
  const places = [
    join(__dirname, '..', 'fixtures', 'sipp'),
    join(__dirname, '..', '..', '..', 'test', 'fixtures', 'sipp'),
    join(process.cwd(), 'test', 'fixtures', 'sipp'),
  ];
  const found = places.map((dir) => join(dir, name)).find((path) => existsSync(path));
  if (!found) throw new Error(`SIPp scenario ${name} not found in ${places.join(', ')}`);
  return found;
}

// ───────────────────────────── baresip ─────────────────────────────

export interface BaresipOptions {
  /** The account line (accounts file), e.g. `<sip:bob@127.0.0.1:5060>;regint=0`. */
  account: string;
  /** A WAV file baresip plays as its microphone (aufile). */
  audioSource?: string;
  /** Folder where baresip records both directions of each call (sndfile). */
  recordDir?: string;
  /** Answer incoming calls automatically. */
  autoAnswer?: boolean;
  /** More config lines (`module srtp.so`, `sip_certificate <pem>` for its TLS listener on base + 1...). */
  extraConfig?: string[];
}

export interface BaresipEvent {
  type: string;
  class?: string;
  param?: string;
  peeruri?: string;
  [key: string]: unknown;
}

/**
 * What baresip received and decoded in a call, from its sndfile recording in `recordDir`: sndfile
 * writes one file per direction, `dump-<time>-dec.wav` the decoded audio (`-enc.wav` its own
 * microphone). Waits until its header is complete (once the call closed) and it holds at least 1 s.
 */
export async function baresipDecoded(recordDir: string, timeoutMs = 20_000): Promise<{ samples: Int16Array; rate: number }> {
  let heard: { samples: Int16Array; rate: number } | undefined;
  await waitFor(
    'baresip\'s recording of what it received (-dec.wav)',
    () => {
      const name = readdirSync(recordDir).find((n) => n.endsWith('-dec.wav'));
      if (!name) return false;
      try {
        const { info, mono } = readChannels(join(recordDir, name));
        if (mono.length < info.sampleRate) return false;
        heard = { samples: mono, rate: info.sampleRate };
        return true;
      } catch {
        return false; // its header is not written yet
      }
    },
    timeoutMs,
  );
  return heard as { samples: Int16Array; rate: number };
}

/**
 * baresip with `ctrl_tcp`: `command('dial', 'sip:...')` resolves with baresip's answer; `events`
 * emits every event (`CALL_INCOMING`, `CALL_ESTABLISHED`, `CALL_CLOSED`, ...) as `event`.
 */
export class Baresip {
  readonly events = new EventEmitter();
  /** Every event received, in order. */
  readonly seen: BaresipEvent[] = [];
  private readonly unread: BaresipEvent[] = [];
  private readonly pending = new Map<string, (reply: { ok: boolean; data: string }) => void>();
  private buffer = Buffer.alloc(0);
  private tokens = 0;

  private constructor(
    readonly sipPort: number,
    readonly ctrlPort: number,
    readonly dir: string,
    readonly process: PeerProcess,
    private readonly ctrl: Socket,
  ) {
    ctrl.on('data', (d: Buffer) => this.onData(d));
    ctrl.on('error', () => undefined);
  }

  static async start(options: BaresipOptions): Promise<Baresip> {
    // baresip listens for SIP on `base` (UDP, TCP) and base + 1 (TLS); ctrl_tcp on base + 2.
    const base = await pickPorts(3);
    const dir = mkdtempSync(join(tmpdir(), 'baresip-'));
    const lines = [
      `sip_listen ${LOOPBACK}:${base}`,
      // Only loopback: its Via, Contact and SDP then carry 127.0.0.1, never the host's address.
      `net_interface ${LOOPBACK}`,
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module aufile.so',
      'module ausine.so',
      ...(options.recordDir ? ['module sndfile.so', `snd_path ${options.recordDir}`] : []),
      'module_app account.so',
      'module_app menu.so', // the commands (dial, accept, hangup, hold, resume, sndcode...)
      'module_app ctrl_tcp.so',
      `ctrl_tcp_listen ${LOOPBACK}:${base + 2}`,
      `audio_source ${options.audioSource ? `aufile,${options.audioSource}` : 'ausine,440'}`,
      // No sound card: the received audio goes to aubridge (a sink nobody reads) and to sndfile.
      'module aubridge.so',
      'audio_player aubridge,nowhere',
      'audio_alert aubridge,nowhere',
      // ausine only runs at 48 kHz stereo; baresip resamples to the codec's 8 kHz mono.
      ...(options.audioSource ? [] : ['ausrc_srate 48000', 'ausrc_channels 2']),
      'rtp_ports 30000-39999',
      'dns_server 127.0.0.1:53',
      'call_local_timeout 120',
      ...(options.extraConfig ?? []),
    ];
    writeFileSync(join(dir, 'config'), lines.join('\n') + '\n');
    const answer = options.autoAnswer ? ';answermode=auto' : '';
    writeFileSync(join(dir, 'accounts'), `${options.account}${answer}\n`);
    const proc = new PeerProcess('baresip', 'baresip', ['-f', dir], dir);
    let ctrl: Socket | undefined;
    try {
      await waitFor(
        'baresip ctrl_tcp',
        () =>
          new Promise<boolean>((resolve) => {
            const s = netConnect(base + 2, LOOPBACK);
            s.once('connect', () => {
              ctrl = s;
              resolve(true);
            });
            s.once('error', () => resolve(false));
          }),
        15_000,
        () => proc.running,
      );
    } catch (err) {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`${(err as Error).message}\n${proc.text().slice(-2000)}`);
    }
    return new Baresip(base, base + 2, dir, proc, ctrl as Socket);
  }

  get address(): string {
    return `${LOOPBACK}:${this.sipPort}`;
  }

  /** Sends a command (`dial`, `accept`, `hangup`, `hold`, `resume`, `sndcode`, `reginfo`...). */
  command(command: string, params = '', timeoutMs = 5000): Promise<{ ok: boolean; data: string }> {
    const token = String(++this.tokens);
    const json = Buffer.from(JSON.stringify({ command, params, token }));
    this.ctrl.write(Buffer.concat([Buffer.from(`${json.length}:`), json, Buffer.from(',')]));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new Error(`baresip: no answer to ${command} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(token, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
  }

  /**
   * Resolves with the oldest event of `type` not yet taken, waiting for it if none came yet (events
   * often arrive before the answer to the command that caused them).
   */
  nextEvent(type: string, timeoutMs = 10_000): Promise<BaresipEvent> {
    const index = this.unread.findIndex((e) => e.type === type);
    if (index >= 0) return Promise.resolve(this.unread.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off('event', on);
        reject(new Error(`baresip: no ${type} event within ${timeoutMs} ms (got ${this.seen.map((e) => e.type).join(', ') || 'none'})`));
      }, timeoutMs);
      const on = (e: BaresipEvent): void => {
        if (e.type !== type) return;
        clearTimeout(timer);
        this.events.off('event', on);
        this.unread.splice(this.unread.indexOf(e), 1);
        resolve(e);
      };
      this.events.on('event', on);
    });
  }

  async stop(): Promise<void> {
    this.ctrl.destroy();
    await this.process.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Netstrings: `<length>:<bytes>,`. */
  private onData(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      const colon = this.buffer.indexOf(':');
      if (colon < 0) return;
      const length = Number(this.buffer.subarray(0, colon).toString());
      if (!Number.isInteger(length)) {
        this.buffer = Buffer.alloc(0);
        return;
      }
      if (this.buffer.length < colon + 1 + length + 1) return;
      const body = this.buffer.subarray(colon + 1, colon + 1 + length).toString();
      this.buffer = this.buffer.subarray(colon + 1 + length + 1);
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(body);
      } catch {
        continue;
      }
      if (message.response) {
        const settle = this.pending.get(String(message.token));
        this.pending.delete(String(message.token));
        settle?.({ ok: message.ok === true, data: String(message.data ?? '') });
      } else if (message.event) {
        this.seen.push(message as BaresipEvent);
        this.unread.push(message as BaresipEvent);
        this.events.emit('event', message as BaresipEvent);
      }
    }
  }
}
