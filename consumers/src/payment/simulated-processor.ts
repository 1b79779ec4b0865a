import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type AuthorizeRequest,
  type AuthorizeResult,
  type PaymentProcessor,
  PaymentProcessorRequestError,
  PaymentProcessorUnavailableError,
  type ProcessorRecord,
} from "./processor.ts";

/**
 * A stand-in for a card processor, following the common test tokens: `tok_chargeDeclined` is
 * declined, any other `tok_*` authorizes. `tok_processorSlow` (this simulator's own) makes the
 * processor unresponsive about that order for `slowForMs` after its first authorization request:
 * every call in that window answers only when the window ends (its effect lands late), so callers
 * with a deadline time out until then. Like a real processor it keeps its own record per
 * idempotency key (the order id), here in memory. Its answers are also derived from the request
 * alone (the ref is a hash of the order id), so after a restart a repeated authorization answers the
 * same ref and outcome. Capture and void of an order it has no record of (authorized before a
 * restart) succeed: the simulation cannot tell, and the `payments` row is the system's record. It
 * finds an order's payment by the order id alone (a void without a `ref` voids it).
 *
 * `answerLate(byMs, forMs)` makes it a processor that answers after its callers' deadlines: for
 * `forMs` from then on, every call waits `byMs`, then has its effect and answers (the caller has
 * given up by then, so an authorization exists that the caller does not know of).
 */

export interface SimulatedProcessorOptions {
  /** Added to every call, in milliseconds. */
  latencyMs?: number;
  /** Probability (0..1) that a call fails with a transient error, half before and half after the effect. */
  failureRate?: number;
  /** Source of randomness for the failures (tests pass a fixed one). */
  random?: () => number;
  /** How long the processor stays unresponsive about an order paid with `SLOW_TOKEN`. */
  slowForMs?: number;
}

export const DECLINED_TOKEN = "tok_chargeDeclined";
export const DECLINE_CODE = "card_declined";
export const SLOW_TOKEN = "tok_processorSlow";

type SimulatedPayment = {
  amountCents: number;
  currency: string;
  result: AuthorizeResult;
  state: "authorized" | "declined" | "captured" | "voided" | "refunded";
};

export interface SimulatedProcessor extends PaymentProcessor {
  /** How many authorizations (distinct holds on a card) the processor created for the order. */
  authorizationsOf(orderId: string): number;
  stateOf(orderId: string): SimulatedPayment["state"] | undefined;
  /** From now on, for `forMs` (0: for good), every call answers `byMs` late (its effect lands then). */
  answerLate(byMs: number, forMs: number): void;
}

export const createSimulatedProcessor = (options: SimulatedProcessorOptions = {}): SimulatedProcessor => {
  const { latencyMs = 0, failureRate = 0, random = Math.random, slowForMs = 60_000 } = options;
  const payments = new Map<string, SimulatedPayment>();
  const authorizations = new Map<string, number>();
  /** When the processor answers again about a slow order. */
  const slowUntil = new Map<string, number>();
  let late = { byMs: 0, until: 0 };

  const waitIfSlow = async (request: AuthorizeRequest): Promise<void> => {
    if (request.token !== SLOW_TOKEN) return;
    const until = slowUntil.get(request.orderId) ?? Date.now() + slowForMs;
    slowUntil.set(request.orderId, until);
    if (until > Date.now()) await sleep(until - Date.now());
  };

  /** Runs `effect` like a remote call: latency, then maybe a failure before or after the effect. */
  const call = async <T>(what: string, effect: () => T): Promise<T> => {
    if (latencyMs > 0) await sleep(latencyMs);
    if (late.byMs > 0 && Date.now() < late.until) await sleep(late.byMs);
    const fails = random() < failureRate;
    const beforeEffect = random() < 0.5;
    if (fails && beforeEffect) throw new PaymentProcessorUnavailableError(`simulated outage before ${what}`);
    const result = effect();
    if (fails) throw new PaymentProcessorUnavailableError(`simulated timeout after ${what}`);
    return result;
  };

  const authorize = (request: AuthorizeRequest): AuthorizeResult => {
    const known = payments.get(request.orderId);
    if (known) {
      if (known.amountCents !== request.amountCents || known.currency !== request.currency) {
        throw new PaymentProcessorRequestError(
          `idempotency key ${request.orderId} reused with another amount`,
        );
      }
      return known.result;
    }
    const result: AuthorizeResult =
      request.token === DECLINED_TOKEN
        ? { status: "declined", code: DECLINE_CODE }
        : {
            status: "authorized",
            ref: `sim_auth_${createHash("sha256").update(request.orderId).digest("hex").slice(0, 24)}`,
          };
    payments.set(request.orderId, { ...request, result, state: result.status });
    if (result.status === "authorized")
      authorizations.set(request.orderId, (authorizations.get(request.orderId) ?? 0) + 1);
    return result;
  };

  const transition = (orderId: string, to: "captured" | "voided" | "refunded"): void => {
    const payment = payments.get(orderId);
    if (!payment || payment.state === to) return;
    if (payment.state !== (to === "refunded" ? "captured" : "authorized")) {
      throw new PaymentProcessorRequestError(
        `cannot move payment of ${orderId} from ${payment.state} to ${to}`,
      );
    }
    payment.state = to;
  };

  return {
    authorize: async (request) => {
      await waitIfSlow(request);
      return call("authorize", () => authorize(request));
    },
    capture: ({ orderId }) => call("capture", () => transition(orderId, "captured")),
    void: ({ orderId }) => call("void", () => transition(orderId, "voided")),
    refund: ({ orderId }) => call("refund", () => transition(orderId, "refunded")),
    lookup: ({ orderId }) =>
      call("lookup", (): ProcessorRecord => {
        const payment = payments.get(orderId);
        if (!payment) return { state: "none" };
        return {
          state: payment.state,
          ref: payment.result.status === "authorized" ? payment.result.ref : null,
        };
      }),
    authorizationsOf: (orderId) => authorizations.get(orderId) ?? 0,
    stateOf: (orderId) => payments.get(orderId)?.state,
    answerLate: (byMs, forMs) => {
      late = { byMs, until: forMs > 0 ? Date.now() + forMs : Number.POSITIVE_INFINITY };
    },
  };
};
