import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

const KNOWN = ["orders", "payment", "email", "order-state"];
const ENV = { DATABASE_URL: "postgres://u@db:5432/shop", KAFKA_BROKERS: "k1:9092, k2:9092" };

const problems = (argv: string[], env: Record<string, string | undefined>): string => {
  try {
    loadConfig(argv, env, KNOWN);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("expected a ConfigError");
};

describe("consumers configuration", () => {
  it("runs the consumers named on the command line with their replica counts", () => {
    const config = loadConfig(
      ["orders", "payment,email", "--replicas", "payment=10", "--replicas=email=2"],
      { ...ENV, REPLICAS_ORDERS: "3" },
      KNOWN,
    );
    expect(config.consumers).toEqual([
      { name: "orders", replicas: 3 },
      { name: "payment", replicas: 10 },
      { name: "email", replicas: 2 },
    ]);
    expect(config.settings.KAFKA_BROKERS).toEqual(["k1:9092", "k2:9092"]);
    expect(config.settings).toMatchObject({ RETRY_MAX_ATTEMPTS: 5, RETRY_INITIAL_DELAY_MS: 200 });
  });

  it("takes CONSUMERS and `all`, REPLICAS as the default and REPLICAS_<NAME> per consumer", () => {
    const config = loadConfig(
      [],
      { ...ENV, CONSUMERS: "all", REPLICAS: "2", REPLICAS_ORDER_STATE: "4" },
      KNOWN,
    );
    expect(config.consumers).toEqual([
      { name: "orders", replicas: 2 },
      { name: "payment", replicas: 2 },
      { name: "email", replicas: 2 },
      { name: "order-state", replicas: 4 },
    ]);
  });

  it("serves the operations endpoints on 9464 unless METRICS_PORT says another port, 0 or off", () => {
    const port = (value: string | undefined) =>
      loadConfig(["orders"], { ...ENV, METRICS_PORT: value }, KNOWN).settings.METRICS_PORT;
    expect(port(undefined)).toBe(9464);
    expect(port("9500")).toBe(9500);
    expect(port("0")).toBe(0);
    expect(port("off")).toBe("off");
    expect(problems(["orders"], { ...ENV, METRICS_PORT: "none" })).toContain("METRICS_PORT");
    expect(problems(["orders"], { ...ENV, METRICS_PORT: "70000" })).toContain("METRICS_PORT");
  });

  it("lists every problem at once", () => {
    const message = problems(["orders", "bogus", "--replicas", "orders=0", "--verbose"], {});
    expect(message).toContain("DATABASE_URL is required");
    expect(message).toContain("KAFKA_BROKERS is required");
    expect(message).toContain('unknown consumer "bogus"; known: orders, payment, email, order-state');
    expect(message).toContain("replicas of orders must be an integer from 1 to 256");
    expect(message).toContain("unknown option --verbose");
  });

  it("needs Stripe's key to run the payment consumer on Stripe, and refuses a value that is not a key", () => {
    const stripe = { ...ENV, PAYMENT_PROCESSOR: "stripe" };
    expect(problems(["payment"], stripe)).toContain(
      "STRIPE_SECRET_KEY is required with PAYMENT_PROCESSOR=stripe",
    );
    expect(loadConfig(["orders"], stripe, KNOWN).settings.PAYMENT_PROCESSOR).toBe("stripe");
    expect(problems(["payment"], { ...stripe, STRIPE_SECRET_KEY: "pk_test_abc" })).toContain(
      "expected a Stripe secret key",
    );
    expect(
      loadConfig(["payment"], { ...stripe, STRIPE_SECRET_KEY: "sk_test_abc123" }, KNOWN).settings,
    ).toMatchObject({ STRIPE_API_URL: "https://api.stripe.com", STRIPE_MAX_NETWORK_RETRIES: 2 });
    expect(problems(["payment"], { ...ENV, PAYMENT_PROCESSOR: "paypal" })).toContain("PAYMENT_PROCESSOR");
  });

  it("refuses to start with no consumer named", () => {
    expect(problems([], ENV)).toContain('no consumer named: pass names or "all"');
  });
});
