import type { SessionDelegate } from 'sip.js';
import type { Call } from '../call/call';
import type { Logger } from '../backend';
import type { SipCallFeature, SipSessionHooks } from './sip-call-context';

/** The session delegate callbacks sip.js 0.21 has (api/session-delegate.d.ts). */
const CALLBACKS = ['onAck', 'onBye', 'onCancel', 'onInfo', 'onInvite', 'onMessage', 'onNotify', 'onRefer', 'onSessionDescriptionHandler'] as const satisfies readonly (keyof SessionDelegate)[];

/** A request sip.js hands to a delegate: answered with accept() / reject(). */
interface Answerable {
  accept(options?: unknown): Promise<void>;
  reject(options?: unknown): Promise<void>;
}

function isAnswerable(value: unknown): value is Answerable {
  return typeof value === 'object' && value !== null && typeof (value as Answerable).accept === 'function' && typeof (value as Answerable).reject === 'function';
}

/**
 * The one delegate of a call's sip.js session: each callback goes to every feature that has it, in
 * order, then to `own` (the backend's own handling, last). Object spread of delegates let a second
 * `onBye` silently replace the first; this does not.
 *
 * A request (BYE, INFO, REFER, NOTIFY, MESSAGE) is answered once: each hook gets a view of it
 * whose accept() / reject() go through for the first caller only (later ones resolve, logged at
 * debug); when no hook answered it, sip.js's own default is sent (accept, except INFO 469 and REFER
 * 405, as sip.js does without a delegate).
 */
export function fanOutDelegate(call: Call, features: () => readonly SipCallFeature[], own: SipSessionHooks, log: Logger): SessionDelegate {
  const delegate: Record<string, (...args: unknown[]) => void> = {};
  for (const name of CALLBACKS) {
    delegate[name] = (...args: unknown[]) => {
      const hooks = [...features().map((f) => f.session), own];
      const first = args[0];
      const request = isAnswerable(first) ? answerOnce(first, call, name, log) : undefined;
      for (const h of hooks) {
        const fn = h?.[name] as ((call: Call, ...a: unknown[]) => void) | undefined;
        if (!fn) continue;
        try {
          fn(call, ...(request ? [request.view, ...args.slice(1)] : args));
        } catch (err) {
          log.warn(`sip: call ${call.id}, ${name}: ${(err as Error).message}`);
        }
      }
      if (request && !request.answered()) defaultAnswer(name, first as Answerable).catch(() => undefined);
    };
  }
  return delegate as SessionDelegate;
}

function answerOnce(request: Answerable, call: Call, name: string, log: Logger): { view: Answerable; answered(): boolean } {
  let answered = false;
  // A view of sip.js's object (its prototype is the request, so every other member reads through).
  const view = Object.create(request) as Answerable;
  const once =
    (method: 'accept' | 'reject') =>
    (options?: unknown): Promise<void> => {
      if (answered) {
        log.debug(`sip: call ${call.id}, ${name}: answered already, a second ${method}() is ignored`);
        return Promise.resolve();
      }
      answered = true;
      return request[method](options);
    };
  view.accept = once('accept');
  view.reject = once('reject');
  return { view, answered: () => answered };
}

function defaultAnswer(name: string, request: Answerable): Promise<void> {
  if (name === 'onInfo') return request.reject({ statusCode: 469, extraHeaders: ['Recv-Info:'] });
  if (name === 'onRefer') return request.reject({ statusCode: 405 });
  return request.accept();
}
