// what the kernel says about a process: cpu time (all threads: leveldb, libuv pool, gc) and memory, from /proc.
import { closeSync, fdatasyncSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** user and system cpu of a process so far, in ms (resolution 1 clock tick, 10 ms on linux) */
export function cpuSplitMs(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name, which may hold spaces and parentheses: utime is field 14, stime 15
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(rest[11]) * 1000) / clockTicks(), sys: (Number(rest[12]) * 1000) / clockTicks() };
}

/** user + system cpu of a process so far, in ms */
export function cpuMs(pid: number): number {
  const { user, sys } = cpuSplitMs(pid);
  return user + sys;
}

function statusKb(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : NaN;
}

/** peak resident set size so far (VmHWM), MiB */
export function peakRssMiB(pid: number): number {
  return statusKb(pid, 'VmHWM') / 1024;
}

/** resident set size now (VmRSS), MiB */
export function rssMiB(pid: number): number {
  return statusKb(pid, 'VmRSS') / 1024;
}

/** this process's own cpu (user + system) so far, in ms */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** cpu ms of each thread of a process, summed by thread name (node's main thread is named after the process) */
export function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended
    }
    const name = tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).trim();
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = ((Number(rest[11]) + Number(rest[12])) * 1000) / clockTicks();
    out.set(name, (out.get(name) ?? 0) + ms);
  }
  return out;
}

/** b - a per thread name */
export function threadDelta(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of b) out.set(k, v - (a.get(k) ?? 0));
  return out;
}

/** p50 and p99 of `n` fdatasync calls after 600-byte appends in `dir`, ms: how fast this disk makes data durable now */
export function fsyncLatency(dir: string, n = 200): { p50: number; p99: number } {
  const file = `${dir}/fsync-probe.bin`;
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(600, 0x61);
  const lat: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint();
      writeSync(fd, buf);
      fdatasyncSync(fd);
      lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
  lat.sort((a, b) => a - b);
  return { p50: lat[Math.floor(n / 2)]!, p99: lat[Math.min(n - 1, Math.ceil(n * 0.99) - 1)]! };
}

export interface MachineCpu {
  /** ms of all cores: busy (user, nice, system, irq, softirq), idle (idle, iowait), steal (taken by the hypervisor) */
  busy: number;
  idle: number;
  steal: number;
}

/** the whole machine's cpu time so far (first line of /proc/stat), ms summed over cores */
export function machineCpu(): MachineCpu {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const t = 1000 / clockTicks();
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { busy: (user + nice + system + irq + softirq) * t, idle: (idle + iowait) * t, steal: steal * t };
}

export interface MachineShares {
  /** shares of all cores' time (0..1) */
  busy: number;
  idle: number;
  steal: number;
  /** cores kept busy, on average, by processes other than `oursMs` accounts for (other people's tests, ...) */
  otherCores: number;
}

/** the machine's cpu between two readings; `oursMs` is the cpu of the processes under test in that time */
export function machineShares(a: MachineCpu, b: MachineCpu, oursMs = 0, wallMs = 0): MachineShares {
  const busy = b.busy - a.busy;
  const idle = b.idle - a.idle;
  const steal = b.steal - a.steal;
  const all = busy + idle + steal || 1;
  return {
    busy: busy / all,
    idle: idle / all,
    steal: steal / all,
    otherCores: wallMs > 0 ? Math.max(0, busy - oursMs) / wallMs : NaN,
  };
}
