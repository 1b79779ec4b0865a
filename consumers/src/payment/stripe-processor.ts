import Stripe from "stripe";
import {
  type AuthorizeRequest,
  type AuthorizeResult,
  type PaymentHandle,
  type PaymentProcessor,
  PaymentProcessorRequestError,
  PaymentProcessorUnavailableError,
  type ProcessorRecord,
} from "./processor.ts";

/**
 * The payment processor on Stripe, through the official SDK: one PaymentIntent per order with manual
 * capture, created and confirmed server-side with the shopper's payment method, then captured,
 * cancelled (the void) or refunded. Every call carries a Stripe idempotency key made of the order id
 * and the step (`<orderId>:authorize`, `:capture`, `:void`, `:refund`), so a retried step gets Stripe's
 * first answer and never acts twice, while two steps of one order never share a key.
 *
 * The payment method is a Stripe.js PaymentMethod id (`pm_…`) or a card token (`tok_…`, from
 * Stripe.js `createToken` or Stripe's test tokens), which is turned into a PaymentMethod first
 * (`POST /v1/payment_methods` with `card[token]`, under `<orderId>:payment-method`).
 *
 * An authorization that needs the shopper (3-D Secure) answers `requires_action` with the
 * PaymentIntent's client secret, which the frontend finishes with Stripe.js; its outcome comes back
 * as a webhook, and `lookup` reads it. Amounts are the order's minor units, which are Stripe's
 * "smallest currency unit" for every currency the storefront sells in.
 */

export interface StripeProcessorOptions {
  secretKey: string;
  /** Where the API answers (scheme, host, port); Stripe's own unless a test server stands in. */
  apiUrl?: string;
  /** Deadline of one HTTP attempt. */
  timeoutMs: number;
  /** Retries the SDK makes itself on a network error, a 409 conflict or a 5xx, with backoff. */
  maxNetworkRetries: number;
}

/** Stripe's status codes that mean "try again later": rate limits, conflicts, its own errors. */
const isTransientStatus = (status: number | undefined): boolean =>
  status === undefined || status === 409 || status === 429 || status >= 500;

/**
 * The SDK's error as this system's: a card error is an answer (declined), the rest is transient
 * (Stripe unreachable, rate-limited, failing, or refusing the account's key: an outage to wait out,
 * for every order alike) or a refusal of the request itself.
 */
const asProcessorError = (what: string, error: unknown): Error => {
  if (!(error instanceof Stripe.errors.StripeError)) return error as Error;
  const detail = `Stripe ${what}: ${error.type}${error.code ? ` ${error.code}` : ""} (${error.statusCode ?? "no answer"}): ${error.message}`;
  const transient =
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeAuthenticationError ||
    error instanceof Stripe.errors.StripePermissionError ||
    isTransientStatus(error.statusCode);
  return transient
    ? new PaymentProcessorUnavailableError(detail, { cause: error })
    : new PaymentProcessorRequestError(detail, { cause: error });
};

/** The Stripe error answered about a PaymentIntent in a state that does not allow the step, if it is one. */
const unexpectedState = (error: unknown): Stripe.PaymentIntent.Status | undefined =>
  error instanceof Stripe.errors.StripeInvalidRequestError && error.code === "payment_intent_unexpected_state"
    ? error.payment_intent?.status
    : undefined;

/**
 * The shopper's payment method refused: a card error (the issuer declined), or a payment method or
 * token Stripe does not know. Either is the order's answer, not a failure.
 */
const declineOf = (error: unknown): AuthorizeResult | undefined => {
  if (error instanceof Stripe.errors.StripeCardError) {
    return { status: "declined", code: error.decline_code || error.code || "card_declined" };
  }
  const param = error instanceof Stripe.errors.StripeInvalidRequestError ? error.param : undefined;
  if (param === "payment_method" || param?.startsWith("card")) {
    return {
      status: "declined",
      code: (error as Stripe.errors.StripeError).code || "invalid_payment_method",
    };
  }
  return undefined;
};

/** The issuer's or Stripe's reason of the PaymentIntent's last failed attempt, if it gives one. */
const declineCodeOf = (intent: Stripe.PaymentIntent): string | undefined =>
  intent.last_payment_error?.decline_code || intent.last_payment_error?.code || undefined;

/** Where a PaymentIntent's money is (a refund of a captured one is not told apart here). */
const recordOf = (intent: Stripe.PaymentIntent): ProcessorRecord => {
  switch (intent.status) {
    case "requires_capture":
      return { state: "authorized", ref: intent.id };
    case "succeeded":
      return { state: "captured", ref: intent.id };
    case "canceled":
      return { state: "voided", ref: intent.id };
    case "requires_payment_method": {
      const code = declineCodeOf(intent);
      return { state: "declined", ref: intent.id, ...(code ? { code } : {}) };
    }
    case "requires_action":
      return { state: "requires_action", ref: intent.id };
    default:
      return { state: "pending" };
  }
};

export const createStripeProcessor = (options: StripeProcessorOptions): PaymentProcessor => {
  const url = new URL(options.apiUrl ?? "https://api.stripe.com");
  const protocol = url.protocol === "http:" ? "http" : "https";
  const stripe = new Stripe(options.secretKey, {
    host: url.hostname,
    port: url.port || (protocol === "http" ? 80 : 443),
    protocol,
    timeout: options.timeoutMs,
    maxNetworkRetries: options.maxNetworkRetries,
    telemetry: false,
    appInfo: { name: "edge-storefront" },
  });

  const paymentMethodOf = async (request: AuthorizeRequest): Promise<string> => {
    if (request.token.startsWith("pm_")) return request.token;
    const method = await stripe.paymentMethods.create(
      { type: "card", card: { token: request.token } },
      { idempotencyKey: `${request.orderId}:payment-method` },
    );
    return method.id;
  };

  /** What a PaymentIntent's state means for the order; `undefined` while Stripe is still working on it. */
  const resultOf = (intent: Stripe.PaymentIntent): AuthorizeResult | undefined => {
    switch (intent.status) {
      case "requires_capture":
      case "succeeded":
        return { status: "authorized", ref: intent.id };
      case "processing":
        return undefined;
      case "requires_action":
        if (!intent.client_secret) return undefined;
        return { status: "requires_action", ref: intent.id, clientSecret: intent.client_secret };
      default:
        return { status: "declined", code: declineCodeOf(intent) ?? intent.status };
    }
  };

  const fail =
    (what: string) =>
    (error: unknown): never => {
      throw asProcessorError(what, error);
    };

  const authorize = async (request: AuthorizeRequest): Promise<AuthorizeResult> => {
    let intent: Stripe.PaymentIntent;
    try {
      intent = await stripe.paymentIntents.create(
        {
          amount: request.amountCents,
          currency: request.currency.toLowerCase(),
          capture_method: "manual",
          confirm: true,
          payment_method: await paymentMethodOf(request),
          automatic_payment_methods: { enabled: true, allow_redirects: "never" },
          metadata: { order_id: request.orderId },
        },
        { idempotencyKey: `${request.orderId}:authorize` },
      );
    } catch (error) {
      const declined = declineOf(error);
      if (declined) return declined;
      throw asProcessorError("authorize", error);
    }
    // A replay answers the first response, which may predate the end of the processing.
    const result =
      resultOf(intent) ?? resultOf(await stripe.paymentIntents.retrieve(intent.id).catch(fail("authorize")));
    if (!result)
      throw new PaymentProcessorUnavailableError(`Stripe authorize: ${intent.id} is still processing`);
    return result;
  };

  const refOf = (payment: PaymentHandle, what: string): string => {
    if (payment.ref) return payment.ref;
    throw new PaymentProcessorRequestError(
      `Stripe ${what}: the order ${payment.orderId} has no PaymentIntent`,
    );
  };

  return {
    authorize,
    capture: async (payment) => {
      try {
        await stripe.paymentIntents.capture(
          refOf(payment, "capture"),
          {},
          { idempotencyKey: `${payment.orderId}:capture` },
        );
      } catch (error) {
        if (unexpectedState(error) === "succeeded") return;
        fail("capture")(error);
      }
    },
    void: async (payment) => {
      // No PaymentIntent known: the authorization's own retry learns whether one exists (same
      // idempotency key), records it, and the order's cancellation is announced again to void it.
      if (!payment.ref) return;
      try {
        await stripe.paymentIntents.cancel(
          payment.ref,
          { cancellation_reason: "abandoned" },
          { idempotencyKey: `${payment.orderId}:void` },
        );
      } catch (error) {
        if (unexpectedState(error) === "canceled") return;
        fail("void")(error);
      }
    },
    refund: async (payment) => {
      try {
        await stripe.refunds.create(
          { payment_intent: refOf(payment, "refund") },
          { idempotencyKey: `${payment.orderId}:refund` },
        );
      } catch (error) {
        if (
          error instanceof Stripe.errors.StripeInvalidRequestError &&
          error.code === "charge_already_refunded"
        )
          return;
        fail("refund")(error);
      }
    },
    lookup: async (payment) => {
      try {
        if (payment.ref) return recordOf(await stripe.paymentIntents.retrieve(payment.ref));
        // No reference known: Stripe's search by the order id it was given (searchable within about a
        // minute of the creation; reconciliation asks only about older payments).
        const found = await stripe.paymentIntents.search({
          query: `metadata['order_id']:'${payment.orderId.replaceAll("'", "\\'")}'`,
        });
        const records = found.data.map(recordOf);
        // One PaymentIntent per order (its creation is idempotent); were there more, the one holding money counts.
        return (
          records.find((r) => r.state === "authorized" || r.state === "captured") ??
          records.find((r) => r.state === "pending") ??
          records[0] ?? { state: "none" }
        );
      } catch (error) {
        return fail("lookup")(error);
      }
    },
  };
};
