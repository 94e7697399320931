/**
 * Log lines about traffic we did not ask for (malformed SIP, malformed RTP) without letting that
 * traffic write the log: per source, the first `burst` lines of a window are written as they come,
 * the rest only counted, and when the window ends one line says how many were left out
 * ("1995 more malformed SIP messages from 10.0.0.7:5060 in the last 10 s"). A source that goes on
 * gets `burst` lines again in each new window, so a long flood writes about `burst + 1` lines per
 * 10 s, not one per message.
 *
 * Written here rather than taken from a library: the logging libraries' samplers (pino, winston)
 * drop lines without saying how many, and this is the one thing wanted, in 60 lines.
 *
 * One timer at most, and only while a count waits to be written (unref'd: it never keeps the
 * process up); {@link LogRateLimiter.close} writes what is pending and stops it.
 */

export interface LogRateLimitOptions {
  /** Where a line goes (e.g. `log.warn`). */
  write: (line: string) => void;
  /** What is counted, in the plural, for the summary line: "malformed SIP messages". */
  what: string;
  /** Lines written per source and window before counting starts. Default 5. */
  burst?: number;
  /** The window. Default 10 s. */
  windowMs?: number;
  /** The clock (tests). Default `Date.now`. */
  now?: () => number;
}

interface Window {
  started: number;
  written: number;
  left: number;
}

export class LogRateLimiter {
  private readonly write: (line: string) => void;
  private readonly what: string;
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly windows = new Map<string, Window>();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: LogRateLimitOptions) {
    this.write = options.write;
    this.what = options.what;
    this.burst = options.burst ?? 5;
    this.windowMs = options.windowMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * One event from `source` (an address, or any key). `line` is called only when the line is
   * written. Returns true when it was.
   */
  note(source: string, line: () => string): boolean {
    const now = this.now();
    let w = this.windows.get(source);
    if (w && now - w.started >= this.windowMs) {
      this.summarise(source, w);
      w = undefined;
    }
    if (!w) {
      w = { started: now, written: 0, left: 0 };
      this.windows.set(source, w);
    }
    if (w.written < this.burst) {
      w.written++;
      this.write(line());
      return true;
    }
    w.left++;
    this.schedule();
    return false;
  }

  /** Writes the counts still pending and stops the timer. The limiter can be used again after. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [source, w] of this.windows) this.summarise(source, w);
    this.windows.clear();
  }

  /** Ends every window that is over (writing its count), and waits for the next one to end. */
  private flush(): void {
    this.timer = undefined;
    const now = this.now();
    for (const [source, w] of this.windows) {
      if (now - w.started < this.windowMs) continue;
      this.summarise(source, w);
      this.windows.delete(source);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    let next: number | undefined;
    for (const w of this.windows.values()) {
      if (w.left > 0) next = Math.min(next ?? Infinity, w.started + this.windowMs);
    }
    if (next === undefined) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, next - this.now()));
    this.timer.unref();
  }

  private summarise(source: string, w: Window): void {
    if (w.left === 0) return;
    this.write(`${w.left} more ${this.what} from ${source} in the last ${this.windowMs % 1000 === 0 ? `${this.windowMs / 1000} s` : `${this.windowMs} ms`}`);
    w.left = 0;
  }
}
