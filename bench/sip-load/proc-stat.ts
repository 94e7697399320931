/**
 * CPU time and resident memory of a process (SIPp, the RTP peer, the callee), and the machine's busy
 * CPU, from Linux's /proc. A process that is gone reads as null.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(out.stdout?.trim());
    ticksPerSecond = Number.isInteger(n) && n > 0 ? n : 100;
  }
  return ticksPerSecond;
}

export interface ProcSample {
  /** user + system CPU since the process started, ms. */
  cpuMs: number;
  /** Resident set size, bytes. */
  rss: number;
}

export function procSample(pid: number | undefined): ProcSample | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) : state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuMs: (ticks * 1000) / clockTicks(), rss: rssKb * 1024 };
  } catch {
    return null;
  }
}

/** The open-files limit this process inherited (`ulimit -n`), or null when it cannot be read. */
export function openFilesLimit(): number | null {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const m = /Max open files\s+(\d+)/.exec(limits);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The CPU time all cores spent busy and in all since boot (/proc/stat's first line), ms. */
export function machineSample(): { busyMs: number; totalMs: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = fields[3] + fields[4]; // idle, iowait
    const ms = 1000 / clockTicks();
    return { busyMs: (total - idle) * ms, totalMs: total * ms };
  } catch {
    return null;
  }
}

/** Threads of this process now (Node's own, libuv's pool, and any worker_threads). */
export function threadCount(): number {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return 0;
  }
}

/** Where the CPU of a step went, each in % of one core, over the step's wall time. */
export interface CpuSplit {
  /** Per named process (callee, RTP peer, SIPp...), % of one core. */
  processes: Record<string, number>;
  /** Every core's busy time, % of one core (the machine's ceiling is 100 × cores). */
  machine: number;
  /** machine − the named processes: other work on the machine (other agents, the kernel's softirqs). */
  others: number;
  cores: number;
}

/**
 * Samples named processes and the machine over a step: call sample() now and then (each process's
 * last reading while it lived is kept: SIPp exits before the step ends), split() at the end.
 */
export class CpuMeter {
  private readonly first = new Map<string, { t: number; cpuMs: number }>();
  private readonly last = new Map<string, { t: number; cpuMs: number }>();
  private readonly machine0 = machineSample();
  private machine1 = this.machine0;
  private readonly t0 = Date.now();
  private t1 = this.t0;

  constructor(
    private readonly pids: Record<string, number | undefined>,
    private readonly cores: number,
  ) {
    this.sample();
  }

  /** Adds a process met later (a SIPp started after the meter). */
  add(name: string, pid: number | undefined): void {
    this.pids[name] = pid;
    this.sample();
  }

  sample(): void {
    const t = Date.now();
    for (const [name, pid] of Object.entries(this.pids)) {
      const s = procSample(pid);
      if (!s) continue;
      if (!this.first.has(name)) this.first.set(name, { t, cpuMs: s.cpuMs });
      this.last.set(name, { t, cpuMs: s.cpuMs });
    }
    this.machine1 = machineSample() ?? this.machine1;
    this.t1 = t;
  }

  split(): CpuSplit {
    this.sample();
    const wall = Math.max(1, this.t1 - this.t0);
    const processes: Record<string, number> = {};
    let named = 0;
    for (const name of Object.keys(this.pids)) {
      const a = this.first.get(name);
      const b = this.last.get(name);
      processes[name] = a && b ? (100 * (b.cpuMs - a.cpuMs)) / wall : 0;
      named += processes[name];
    }
    const m0 = this.machine0;
    const m1 = this.machine1;
    // /proc/stat's total advances by cores × wall: busy / total × cores = cores' busy share.
    const machine = m0 && m1 && m1.totalMs > m0.totalMs ? (100 * this.cores * (m1.busyMs - m0.busyMs)) / (m1.totalMs - m0.totalMs) : 0;
    return { processes, machine, others: Math.max(0, machine - named), cores: this.cores };
  }
}
