import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

export interface RestMetrics {
  registry: Registry;
  /** Counts and times every request by method, route pattern and status. */
  middleware: MiddlewareHandler;
  /** One produce request to Kafka (several REST requests coalesced) of `messages`, taking `seconds`. */
  observeSend(messages: number, seconds: number, ok: boolean): void;
}

const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000];

/**
 * The service's Prometheus metrics: requests (by route pattern, never the raw path, so topic names
 * in paths do not multiply the series), their latency, and each produce request sent to Kafka
 * (latency and messages per request: how much the coalescing of concurrent requests gathers).
 */
export function createRestMetrics(): RestMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: "kafka_rest_requests_total",
    help: "HTTP requests by method, route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    registers,
  });
  const duration = new Histogram({
    name: "kafka_rest_request_duration_seconds",
    help: "HTTP request latency by method and route pattern (for POST /produce: until Kafka acknowledged)",
    labelNames: ["method", "route"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const produce = new Histogram({
    name: "kafka_rest_produce_seconds",
    help: "Latency of each produce request to Kafka (acks=all), by outcome (ok, error)",
    labelNames: ["outcome"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const batch = new Histogram({
    name: "kafka_rest_produce_batch_messages",
    help: "Messages in each produce request to Kafka (concurrent REST requests are sent together)",
    buckets: BATCH_BUCKETS,
    registers,
  });

  const middleware: MiddlewareHandler = async (c, next) => {
    const started = performance.now();
    await next();
    // The route of the handler: the last match that is not a catch-all middleware.
    const route =
      matchedRoutes(c)
        .map((r) => r.path)
        .filter((path) => path !== "*" && path !== "/*")
        .at(-1) ?? "unmatched";
    const method = c.req.method;
    requests.inc({ method, route, status: String(c.res.status) });
    duration.observe({ method, route }, (performance.now() - started) / 1000);
  };

  return {
    registry,
    middleware,
    observeSend(messages, seconds, ok) {
      produce.observe({ outcome: ok ? "ok" : "error" }, seconds);
      batch.observe(messages);
    },
  };
}
