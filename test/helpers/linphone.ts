/**
 * linphone (Debian's `linphone-cli`: liblinphone, mediastreamer2, and libsrtp2, the reference SRTP
 * implementation) as an interop peer on 127.0.0.1: `linphonec` headless, its own linphonerc and HOME
 * in a temp folder, no sound card (`soundcard use files`: it plays a WAV as its microphone and records
 * what it hears to a WAV), driven by its stdin commands, its state read from its stdout
 * (`Call 1 with <sip:...> connected.`, `Call 1 with <sip:...> error.`).
 *
 * Its call-log database folder ($HOME/.local/share/linphone) must exist: without it liblinphone 5.1
 * fails to open the database and its core never reaches the `On` state, so it opens no SIP socket and
 * answers every INVITE 503 (`Linphone core global state is not on`) — it seems to work, calling out only.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOOPBACK, PeerProcess, pickPorts, waitFor } from './sip-peers';

export interface LinphoneOptions {
  /** `[sip] media_encryption` (none / srtp) and whether linphone refuses a call without it. */
  mediaEncryption?: 'none' | 'srtp';
  encryptionMandatory?: boolean;
  /** `[sip] srtp_crypto_suites`, in linphone's order of preference (default: liblinphone's). */
  srtpSuites?: string[];
  /** A WAV (16-bit, 8 kHz mono) linphone plays as its microphone. */
  play?: string;
  /** A WAV linphone records what it hears to. */
  record?: string;
  /** Answer incoming calls automatically (`linphonec -a`). */
  autoAnswer?: boolean;
  /** More `[sip]` lines (`session_expires_value=90` ...). */
  sipConfig?: string[];
}

export class Linphone {
  /** Where in the output {@link waitOutput} searches from. */
  private cursor = 0;

  private constructor(
    readonly sipPort: number,
    readonly dir: string,
    readonly process: PeerProcess,
  ) {}

  static async start(options: LinphoneOptions = {}): Promise<Linphone> {
    // SIP on `base` (UDP only), audio RTP on base + 1 (RTCP base + 2).
    const base = await pickPorts(3);
    const dir = mkdtempSync(join(tmpdir(), 'linphone-'));
    const rc = [
      '[sip]',
      `sip_port=${base}`,
      'sip_tcp_port=-1',
      'sip_tls_port=-1',
      'bind_address=127.0.0.1',
      `media_encryption=${options.mediaEncryption ?? 'none'}`,
      `media_encryption_mandatory=${options.encryptionMandatory ? 1 : 0}`,
      ...(options.srtpSuites ? [`srtp_crypto_suites=${options.srtpSuites.join(',')}`] : []),
      ...(options.sipConfig ?? []),
      '[rtp]',
      `audio_rtp_port=${base + 1}`,
      '[net]',
      'firewall_policy=0',
      '[video]',
      'enabled=0',
      'capture=0',
      'display=0',
      // Only G.711 µ-law: the tones are compared by frequency, one codec both sides take.
      '[audio_codec_0]',
      'mime=PCMU',
      'rate=8000',
      'channels=1',
      'enabled=1',
    ];
    writeFileSync(join(dir, 'linphonerc'), rc.join('\n') + '\n');
    mkdirSync(join(dir, '.local', 'share', 'linphone'), { recursive: true });
    const args = ['-c', join(dir, 'linphonerc'), ...(options.autoAnswer ? ['-a'] : [])];
    // HOME in the temp folder: its call-log database and friends list go there, not to the user's.
    const proc = new PeerProcess('linphonec', 'env', [`HOME=${dir}`, 'linphonec', ...args], dir);
    const l = new Linphone(base, dir, proc);
    try {
      await l.waitOutput(/linphonec> /, 15_000);
      // IPv4 only (the rc's `use_ipv6=0` is not enough), or its SDP carries the host's IPv6 address.
      l.command('ipv6 disable');
      l.command('soundcard use files');
      if (options.play) l.command(`play ${options.play}`);
      if (options.record) l.command(`record ${options.record}`);
      l.command('ports');
      await l.waitOutput(new RegExp(`sip port = ${base}`), 5000);
    } catch (err) {
      await l.stop();
      throw err;
    }
    return l;
  }

  get address(): string {
    return `${LOOPBACK}:${this.sipPort}`;
  }

  /** One linphonec command line (`call sip:...`, `answer`, `terminate`, `calls` ...). */
  command(line: string): void {
    this.process.stdin?.write(`${line}\n`);
  }

  /**
   * Resolves with the first match of `re` in the output after what earlier calls matched (each match
   * consumed in order), waiting up to `timeoutMs`.
   */
  async waitOutput(re: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    let found: RegExpMatchArray | undefined;
    await waitFor(
      `linphonec printing ${re}`,
      () => {
        const text = this.process.text();
        const m = re.exec(text.slice(this.cursor));
        if (!m || m.index === undefined) return false;
        this.cursor += m.index + m[0].length;
        found = m;
        return true;
      },
      timeoutMs,
      () => this.process.running,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.process.text().slice(-2000)}`);
    });
    return found as RegExpMatchArray;
  }

  async stop(): Promise<void> {
    if (this.process.running) {
      this.command('quit');
      await Promise.race([this.process.exited, new Promise((r) => setTimeout(r, 2000))]);
    }
    await this.process.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
