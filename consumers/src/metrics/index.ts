import { Admin } from "@platformatic/kafka";
import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { type KafkaConnectionShape, kafkaSecurity } from "../../../services/kafka-client/security.ts";
import type { Settings } from "../config.ts";
import type { PaymentActions } from "../payment/simulator-actions.ts";
import { kafkaClientOptions } from "../runtime/kafka.ts";
import type { ConsumerMetrics } from "./consumer-metrics.ts";
import { checkReadiness, startOpsServer } from "./ops-server.ts";
import { type ConsumerGroupRef, createProcessMetrics } from "./process-metrics.ts";

export type { ConsumerMetrics } from "./consumer-metrics.ts";
export type { ConsumerGroupRef } from "./process-metrics.ts";

export interface Operations {
  /** The runner's counters (`RunnerDeps.metrics`); absent when METRICS_PORT is off. */
  metrics?: ConsumerMetrics;
  /** Base URL of /healthz, /readyz and /metrics; absent when METRICS_PORT is off. */
  url?: string;
  close(): Promise<void>;
}

/**
 * Starts the operator's endpoints of a consumers process (see ops-server.ts) with the metrics of
 * process-metrics.ts, on METRICS_HOST:METRICS_PORT. Rejects when the port is taken.
 */
export const startOperations = async (o: {
  settings: Pick<
    Settings,
    "METRICS_PORT" | "METRICS_HOST" | "PROBE_TIMEOUT_MS" | keyof typeof KafkaConnectionShape
  >;
  db: Db;
  consumers: () => readonly ConsumerGroupRef[];
  log: Logger;
  /** See ProcessMetricsOptions.ackedUnrecorded. */
  ackedUnrecorded?: () => Promise<number>;
  /** See OpsServerOptions.paymentActions. */
  paymentActions?: PaymentActions;
}): Promise<Operations> => {
  const { METRICS_PORT: port, METRICS_HOST: host, PROBE_TIMEOUT_MS: timeoutMs } = o.settings;
  if (port === "off") return { close: async () => {} };
  const admin = new Admin({
    ...kafkaClientOptions(o.settings.KAFKA_BROKERS, kafkaSecurity(o.settings)),
    clientId: "consumers-operations",
  });
  const { registry, consumer } = createProcessMetrics({
    db: o.db,
    admin,
    consumers: o.consumers,
    timeoutMs,
    log: o.log,
    ...(o.ackedUnrecorded ? { ackedUnrecorded: o.ackedUnrecorded } : {}),
  });
  try {
    const server = await startOpsServer({
      port,
      host,
      registry,
      readiness: () => checkReadiness({ db: o.db, admin, timeoutMs }, o.log),
      log: o.log,
      ...(o.paymentActions ? { paymentActions: o.paymentActions } : {}),
    });
    return {
      metrics: consumer,
      url: server.url,
      close: async () => {
        await server.close();
        await admin.close();
      },
    };
  } catch (error) {
    await admin.close();
    throw error;
  }
};
