import type { Currency } from "../../../domain/money.ts";

/**
 * What the payment step needs of a card processor (Stripe-like). The order id is the idempotency
 * key of every call (with the step: one key per order and step): authorizing the same order again
 * returns the first result and never creates a second authorization; capturing or voiding twice is
 * a no-op.
 */
export interface PaymentProcessor {
  authorize(request: AuthorizeRequest): Promise<AuthorizeResult>;
  /** Takes the money of the order's authorization. */
  capture(payment: PaymentHandle): Promise<void>;
  /**
   * Cancels the order's authorization (the compensation of `authorize`); the hold on the card ends.
   * Without a `ref` (the authorization's answer was never received) a processor that can find the
   * authorization by the order id voids it; one that cannot does nothing, and the authorization's
   * retry learns its answer (see payment-steps.ts).
   */
  void(payment: PaymentHandle): Promise<void>;
  /** Gives the captured money of the order back (a merchant cancelled it before it shipped). */
  refund(payment: PaymentHandle): Promise<void>;
  /**
   * What the processor holds for the order (by its `ref`, or else by the order id): reconciliation
   * asks it about payments whose authorization's answer was never recorded.
   */
  lookup(payment: PaymentHandle): Promise<ProcessorRecord>;
}

/**
 * The processor's record of an order's payment: `none` when it has none, `pending` while it is still
 * deciding; `requires_action` while it waits for the shopper; otherwise where the money is, with the
 * processor's reference.
 */
export type ProcessorRecord =
  | { state: "none" | "pending" }
  | {
      state: "requires_action" | "authorized" | "captured" | "voided" | "refunded" | "declined";
      ref: string | null;
      /** With `declined`: the processor's reason, when it gives one. */
      code?: string;
    };

/** An order's payment at the processor: the order, and the processor's reference once answered. */
export interface PaymentHandle {
  orderId: string;
  ref: string | null;
}

export interface AuthorizeRequest {
  /** The idempotency key. */
  orderId: string;
  amountCents: number;
  currency: Currency;
  token: string;
}

/**
 * The processor's answer: authorized, declined, or waiting for the shopper (3-D Secure), who finishes
 * it in the frontend with `clientSecret`; its outcome comes later (a webhook, then `lookup`).
 */
export type AuthorizeResult =
  | { status: "authorized"; ref: string }
  | { status: "declined"; code: string }
  | { status: "requires_action"; ref: string; clientSecret: string };

/** The processor could not be reached or failed in a way worth retrying (timeouts, 5xx, rate limits). */
export class PaymentProcessorUnavailableError extends Error {
  readonly transient = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PaymentProcessorUnavailableError";
  }
}

/** The processor refused the request itself (reused idempotency key, capture of a voided payment ...). */
export class PaymentProcessorRequestError extends Error {
  readonly transient = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PaymentProcessorRequestError";
  }
}
