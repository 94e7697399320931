/**
 * Initialising a module on a fresh channel (design §4): `AT` sync, echo off, error mode, identity and
 * profile, SIM, call-related settings, then the call-state URCs the profile prefers (`AT^DSCI=1`,
 * `AT+QINDCFG="ccinfo",1,1`) with `AT+CLCC` polling as the fallback.
 */
import { Logger } from '../backend';
import { AtChannel, AtError } from './at-channel';
import type { AtTiming } from './modem-backend';
import { CallReport, ModemIdentity, ModemProfile, detectProfile, profileByName, voiceSupport } from './modem-profile';
import { unlockSim } from './sim-unlock';

/** The module answered nothing at all, not even `AT` (as opposed to refusing a command). */
export class ModemSilentError extends Error {}

export interface InitOptions {
  log: Logger;
  timing: AtTiming;
  /** `auto` or a profile name. */
  modem: string;
  pin?: string;
  /** The serial port's path: a PIN the SIM refused is remembered for it (sim-unlock.ts). */
  port: string;
}

/** The init sequence of design §4; `identified` learns the module and its profile as soon as they are known. */
export async function initialiseModule(
  ch: AtChannel,
  o: InitOptions,
  identified: (identity: ModemIdentity, profile: ModemProfile) => void,
): Promise<CallReport> {
  await sync(ch, o.timing.resyncTimeoutMs, o.log);
  await ch.send('ATE0');
  await optional(ch.send('AT+CMEE=1'));
  const identity = await identify(ch);
  const configured = o.modem && o.modem !== 'auto' ? profileByName(o.modem) : null;
  if (o.modem && o.modem !== 'auto' && !configured) {
    throw new Error(`unknown modem profile "${o.modem}"`);
  }
  const profile = configured ?? detectProfile(identity);
  identified(identity, profile);
  const voice = voiceSupport(identity); // a module without voice is refused, saying so
  if (!voice.voice) throw new Error(voice.reason);
  o.log.info(`modem ${identity.manufacturer} ${identity.model} (${identity.revision}): profile ${profile.name}`);
  await unlockSim(ch, { pin: o.pin, profile, log: o.log, port: o.port });
  await optional(ch.send('ATS0=0')); // auto-answer is a host timer (ATS0 counts rings, not seconds)
  await optional(ch.send('AT+CLIP=1'));
  await optional(ch.send('AT+CRC=1'));
  await optional(ch.send('AT+CCWA=1'));
  await optional(ch.send('AT+COLP=0'));
  let report: CallReport = 'poll';
  for (const r of profile.callReports) {
    if (r === 'poll') break;
    const cmd = r === 'dsci' ? 'AT^DSCI=1' : 'AT+QINDCFG="ccinfo",1,1';
    if (await optional(ch.send(cmd))) {
      report = r;
      break;
    }
  }
  o.log.debug(`call state: ${report === 'poll' ? 'AT+CLCC polling' : report + ' URCs'}`);
  return report;
}

/**
 * `AT` until the module answers: one that just opened may still be booting or mid-line. `ERROR` or
 * `+CME ERROR` is an answer too: the module speaks AT (oFono's phonesim refuses a bare `AT`, so do
 * real modules at boot or with a SIM error; ModemManager's port probe counts it as an AT port).
 */
async function sync(ch: AtChannel, timeoutMs: number, log: Logger): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 5; i++) {
    try {
      await ch.send('AT', { timeoutMs });
      return;
    } catch (err) {
      last = err;
      if (err instanceof AtError && err.kind === 'error') {
        log.debug(`AT: ${err.final}: the module speaks AT`);
        return;
      }
      // The channel's own resync probes with AT too: when they all go unanswered, it is a hang.
      if (err instanceof AtError && err.kind === 'unresponsive') throw new ModemSilentError('no answer to AT');
      if (err instanceof AtError && err.kind === 'closed') break;
    }
  }
  throw new Error(`no answer to AT (${(last as Error)?.message ?? 'no reply'})`);
}

/**
 * `ATI`, `AT+CGMM`, `AT+CGMR`. Quectel answers with bare lines (`Quectel` / `EC200U` /
 * `Revision: EC200UCNAAR02A01M08`); other firmware prefixes and quotes them (`+CGMR: "..."`) or
 * labels the lines of `ATI` (`Manufacturer: ...`, `Model: ...`). A command the module refuses
 * leaves its part to the others.
 */
async function identify(ch: AtChannel): Promise<ModemIdentity> {
  const ask = async (cmd: string, prefix?: string): Promise<string[]> => {
    try {
      const { lines } = await ch.send(cmd, { expectBare: true, expect: prefix ? [prefix] : [] });
      return lines.map((l) => unquote(prefix && l.startsWith(prefix) ? l.slice(prefix.length) : l)).filter((l) => l !== '');
    } catch {
      return [];
    }
  };
  const ati = await ask('ATI');
  const cgmm = await ask('AT+CGMM', '+CGMM:');
  const cgmr = await ask('AT+CGMR', '+CGMR:');
  const labelled = (label: RegExp): string | undefined => {
    const line = ati.find((l) => label.test(l));
    return line === undefined ? undefined : unquote(line.replace(label, ''));
  };
  const plain = ati.filter((l) => !/^[A-Za-z][A-Za-z ]*:/.test(l));
  return {
    manufacturer: labelled(/^Manufacturer:/i) ?? plain[0] ?? '',
    model: cgmm[0] ?? labelled(/^Model:/i) ?? plain[1] ?? '',
    revision: (cgmr[0] ?? labelled(/^Revision:/i) ?? '').replace(/^Revision:\s*/i, ''),
  };
}

/** `"EC200U"` → `EC200U` (and trims). */
function unquote(text: string): string {
  const t = text.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
}

/** Resolves to true when the command succeeded, false when the modem refused it. */
async function optional(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (err) {
    if (err instanceof AtError && (err.kind === 'closed' || err.kind === 'unresponsive')) throw err;
    return false;
  }
}
