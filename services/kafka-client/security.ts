import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { z } from "zod";

/**
 * How the Node processes (the consumers, Kafka REST, the topic and dead-letter tools) log in to a
 * managed Kafka: SASL over TLS, as Confluent Cloud, MSK, Aiven and Redpanda Cloud require. One set
 * of settings, read by every process the same way.
 */
export const SASL_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface KafkaSecurity {
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
  /** TLS to every broker: `ca` when the cluster's certificates are not signed by a public CA. */
  tls?: ConnectionOptions;
  /** Send the broker's host name (SNI): managed clusters route on it. Not for brokers given by IP. */
  tlsServerName?: boolean;
}

const PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----";

/** A PEM certificate given as its text, or as the path of a file holding it. */
const CaSchema = z.string().transform((value, ctx) => {
  if (value.includes(PEM_CERTIFICATE)) return value;
  try {
    const text = readFileSync(value, "utf8");
    if (text.includes(PEM_CERTIFICATE)) return text;
    ctx.addIssue({ code: "custom", message: `${value} holds no PEM certificate` });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    ctx.addIssue({ code: "custom", message: `not a PEM certificate, nor a readable file: ${reason}` });
  }
  return z.NEVER;
});

const BrokerSchema = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, "expected host:port");

/**
 * The settings, to spread into a process's environment schema (check them with
 * `checkKafkaSecurity`; a schema with a refinement can no longer be picked from).
 */
export const KafkaConnectionShape = {
  KAFKA_BROKERS: z
    .string({ error: "KAFKA_BROKERS is required: comma-separated host:port list" })
    .transform((s) =>
      s
        .split(",")
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .pipe(z.array(BrokerSchema).min(1, "KAFKA_BROKERS lists no broker")),
  /** Unset: no SASL (a local or private plaintext cluster). */
  KAFKA_SASL_MECHANISM: z.enum(SASL_MECHANISMS).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  /** TLS to the brokers; on by default whenever SASL is set. */
  KAFKA_TLS: z.stringbool().optional(),
  /** The CA of the brokers' certificates, as PEM text or a file path; unset: the system's CAs. */
  KAFKA_TLS_CA: CaSchema.optional(),
};

type ConnectionSettings = z.output<z.ZodObject<typeof KafkaConnectionShape>>;
type SecuritySettings = Omit<ConnectionSettings, "KAFKA_BROKERS">;

/** What the settings cannot say together, each under the setting to fix. */
export const checkKafkaSecurity = (s: SecuritySettings, ctx: z.RefinementCtx): void => {
  const issue = (path: keyof SecuritySettings, message: string) =>
    ctx.addIssue({ code: "custom", path: [path], message });
  if (s.KAFKA_SASL_MECHANISM) {
    if (!s.KAFKA_SASL_USERNAME) issue("KAFKA_SASL_USERNAME", `required with ${s.KAFKA_SASL_MECHANISM}`);
    if (!s.KAFKA_SASL_PASSWORD) issue("KAFKA_SASL_PASSWORD", `required with ${s.KAFKA_SASL_MECHANISM}`);
    if (s.KAFKA_SASL_MECHANISM === "PLAIN" && s.KAFKA_TLS === false)
      issue("KAFKA_TLS", "PLAIN sends the password as it is: use it over TLS only");
  } else if (s.KAFKA_SASL_USERNAME || s.KAFKA_SASL_PASSWORD) {
    issue("KAFKA_SASL_MECHANISM", `required with a SASL login: one of ${SASL_MECHANISMS.join(", ")}`);
  }
  if (s.KAFKA_TLS_CA && s.KAFKA_TLS === false) issue("KAFKA_TLS_CA", "given, but KAFKA_TLS is false");
};

const isAddress = (broker: string): boolean => /^[\d.]+:\d+$/.test(broker) || broker.startsWith("[");

/** The client options the settings give (spread into every @platformatic/kafka client's options). */
export const kafkaSecurity = (s: ConnectionSettings): KafkaSecurity => {
  const security: KafkaSecurity = {};
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = s;
  if (mechanism && username && password) security.sasl = { mechanism, username, password };
  if (s.KAFKA_TLS ?? Boolean(mechanism)) {
    security.tls = s.KAFKA_TLS_CA ? { ca: s.KAFKA_TLS_CA } : {};
    security.tlsServerName = !s.KAFKA_BROKERS.some(isAddress);
  }
  return security;
};

/** For logs: how the processes reach Kafka, without the password. */
export const describeSecurity = (security: KafkaSecurity): string =>
  [
    security.sasl ? `SASL ${security.sasl.mechanism} as ${security.sasl.username}` : "no SASL",
    security.tls ? `TLS${security.tls.ca ? " (own CA)" : ""}` : "plaintext",
  ].join(", ");

/** Brokers and login of the tools that need nothing else (topic creation, the dead-letter tool). */
export const KafkaConnectionSchema = z.object(KafkaConnectionShape).superRefine(checkKafkaSecurity);
