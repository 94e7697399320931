/**
 * The scheduling priority of a media worker thread: the line setting `mediaPriority`
 * (docs/media-engine.md, "Priority").
 *
 * Why: on a machine whose cores are all busy (the flow's thread computing, SIPp, other programs),
 * a media worker that wakes for its 20 ms tick waits for a core behind them; measured with kernel
 * timestamps (docs/benchmarks.md, "Send timing from kernel timestamps"), that wait, not the worker's
 * own work, is what makes packets late. A thread with a higher priority gets the core first:
 *
 * - `normal`: the thread runs as every other (default).
 * - `high`: the thread's nice value −10 (`os.setPriority` on its thread id: Linux's setpriority
 *   takes a thread's id and sets that thread alone). Only against the other threads of the same
 *   scheduling group (with autogroup, the same session): other programs keep their share.
 * - `realtime`: SCHED_RR, priority 10: the thread runs before every normal thread of the machine
 *   as soon as it wakes (what Asterisk's `-p` and FreeSWITCH's `-rp` do for their media). A media
 *   worker works ~1 ms a tick, and the kernel keeps 5 % of each second for normal threads whatever
 *   real-time threads do (`sched_rt_runtime_us`), so a bug cannot freeze the machine.
 *
 * Both need the right to raise a priority: root, `CAP_SYS_NICE` (e.g. systemd's
 * `AmbientCapabilities=CAP_SYS_NICE`), or `RLIMIT_NICE` / `RLIMIT_RTPRIO` (`LimitNICE=`,
 * `LimitRTPRIO=`, /etc/security/limits.conf). Without it the thread keeps its priority and the
 * line's log says why.
 *
 * Node has no call for a thread's scheduling policy (sched_setscheduler), and no maintained npm
 * package offers one without a native build; `chrt` (util-linux, on every Linux distribution) does
 * it for a thread id, once per thread start, so it is run for that.
 */
import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import os from 'node:os';

export const MEDIA_PRIORITIES = ['normal', 'high', 'realtime'] as const;
export type MediaPriority = (typeof MEDIA_PRIORITIES)[number];

/** The nice value of `high`. */
export const HIGH_NICE = -10;
/** The SCHED_RR priority of `realtime` (1–99; low: a driver's or the kernel's own real-time threads come first). */
export const REALTIME_PRIORITY = 10;

/** The rank of a priority (a pool runs at the highest its lines ask for). */
export function priorityRank(p: MediaPriority): number {
  return MEDIA_PRIORITIES.indexOf(p);
}

/** The calling thread's id (Linux: /proc/thread-self → /proc/<pid>/task/<tid>). */
function threadId(): number {
  return Number(readlinkSync('/proc/thread-self').split('/').pop());
}

/**
 * Gives the CALLING thread `priority`. Returns null once done, else why not (the thread runs on
 * at its priority). Never throws.
 */
export function applyThreadPriority(priority: MediaPriority): string | null {
  if (priority === 'normal') return null;
  if (process.platform !== 'linux') return `a media thread's priority is set on Linux only (this is ${process.platform})`;
  let tid: number;
  try {
    tid = threadId();
  } catch (err) {
    return `the thread's id could not be read (${(err as Error).message})`;
  }
  if (priority === 'high') {
    try {
      os.setPriority(tid, HIGH_NICE);
      return null;
    } catch (err) {
      return `nice ${HIGH_NICE} was refused (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): the process needs CAP_SYS_NICE or a RLIMIT_NICE of ${-HIGH_NICE + 20}`;
    }
  }
  const r = spawnSync('chrt', ['--rr', '--pid', String(REALTIME_PRIORITY), String(tid)], { encoding: 'utf8', timeout: 5000 });
  if (r.error) return `chrt could not run (${r.error.message}; it is in util-linux)`;
  if (r.status !== 0) {
    const said = (r.stderr || '').trim().split('\n').pop() ?? '';
    return `SCHED_RR ${REALTIME_PRIORITY} was refused (${said || `chrt exited ${r.status}`}): the process needs CAP_SYS_NICE or a RLIMIT_RTPRIO of ${REALTIME_PRIORITY}`;
  }
  return null;
}
