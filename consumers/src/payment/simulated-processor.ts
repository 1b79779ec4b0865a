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
 * declined, `tok_threeDSecure2Required` waits for the shopper's 3-D Secure step (`completeAction`:
 * locally `POST /simulator/payments/<orderId>/action` on the consumers' operations port), any other
 * `tok_*` authorizes. `tok_processorSlow` (this simulator's own) makes the
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
/** Stripe's test token of a card that needs 3-D Secure: the payment waits for `completeAction`. */
export const THREE_D_SECURE_TOKEN = "tok_threeDSecure2Required";
export const AUTHENTICATION_FAILED_CODE = "payment_intent_authentication_failure";

type SimulatedPayment = {
  amountCents: number;
  currency: string;
  result: AuthorizeResult;
  state: "requires_action" | "authorized" | "declined" | "captured" | "voided" | "refunded";
};

export interface SimulatedProcessor extends PaymentProcessor {
  /** How many authorizations (distinct holds on a card) the processor created for the order. */
  authorizationsOf(orderId: string): number;
  stateOf(orderId: string): SimulatedPayment["state"] | undefined;
  /** From now on, for `forMs` (0: for good), every call answers `byMs` late (its effect lands then). */
  answerLate(byMs: number, forMs: number): void;
  /**
   * The shopper finishes (or fails) the 3-D Secure step of an order waiting for it: the payment is
   * then authorized (or declined). False when the order's payment is not waiting for the shopper.
   */
  completeAction(orderId: string, succeeded: boolean): boolean;
}

/** The simulator's reference of an order's payment: derived from the order id, so stable across restarts. */
const refOf = (orderId: string): string =>
  `sim_auth_${createHash("sha256").update(orderId).digest("hex").slice(0, 24)}`;

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
    const ref = refOf(request.orderId);
    const result: AuthorizeResult =
      request.token === DECLINED_TOKEN
        ? { status: "declined", code: DECLINE_CODE }
        : request.token === THREE_D_SECURE_TOKEN
          ? { status: "requires_action", ref, clientSecret: `${ref}_secret_${refOf(ref).slice(9, 25)}` }
          : { status: "authorized", ref };
    payments.set(request.orderId, { ...request, result, state: result.status });
    if (result.status === "authorized")
      authorizations.set(request.orderId, (authorizations.get(request.orderId) ?? 0) + 1);
    return result;
  };

  const transition = (orderId: string, to: "captured" | "voided" | "refunded"): void => {
    const payment = payments.get(orderId);
    if (!payment || payment.state === to) return;
    const from =
      to === "refunded" ? ["captured"] : to === "voided" ? ["authorized", "requires_action"] : ["authorized"];
    if (!from.includes(payment.state)) {
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
        const { result } = payment;
        return result.status === "declined"
          ? { state: payment.state, ref: null, code: result.code }
          : { state: payment.state, ref: result.ref };
      }),
    completeAction: (orderId, succeeded) => {
      const payment = payments.get(orderId);
      if (payment?.state !== "requires_action" || payment.result.status !== "requires_action") return false;
      const { ref } = payment.result;
      payment.result = succeeded
        ? { status: "authorized", ref }
        : { status: "declined", code: AUTHENTICATION_FAILED_CODE };
      payment.state = payment.result.status;
      if (succeeded) authorizations.set(orderId, (authorizations.get(orderId) ?? 0) + 1);
      return true;
    },
    authorizationsOf: (orderId) => authorizations.get(orderId) ?? 0,
    stateOf: (orderId) => payments.get(orderId)?.state,
    answerLate: (byMs, forMs) => {
      late = { byMs, until: forMs > 0 ? Date.now() + forMs : Number.POSITIVE_INFINITY };
    },
  };
};
