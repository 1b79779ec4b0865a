import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KafkaConnectionSchema, kafkaSecurity } from "./security.ts";

const CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

const problems = (env: Record<string, string>): string[] => {
  const parsed = KafkaConnectionSchema.safeParse({ KAFKA_BROKERS: "b1.example.com:9092", ...env });
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("Kafka client security settings", () => {
  it("is plaintext without SASL, and TLS by default with it", () => {
    const plain = KafkaConnectionSchema.parse({ KAFKA_BROKERS: "127.0.0.1:9092" });
    expect(kafkaSecurity(plain)).toEqual({});
    const scram = KafkaConnectionSchema.parse({
      KAFKA_BROKERS: "b1.example.com:9092,b2.example.com:9092",
      KAFKA_SASL_MECHANISM: "SCRAM-SHA-256",
      KAFKA_SASL_USERNAME: "shop",
      KAFKA_SASL_PASSWORD: "secret",
    });
    expect(kafkaSecurity(scram)).toEqual({
      sasl: { mechanism: "SCRAM-SHA-256", username: "shop", password: "secret" },
      tls: {},
      tlsServerName: true,
    });
  });

  it("takes the CA as PEM text or as a file, and sends no host name to brokers given by address", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "kafka-ca-")), "ca.pem");
    await writeFile(file, CERT);
    for (const ca of [CERT, file]) {
      const settings = KafkaConnectionSchema.parse({
        KAFKA_BROKERS: "10.0.0.5:9093",
        KAFKA_TLS: "true",
        KAFKA_TLS_CA: ca,
      });
      expect(kafkaSecurity(settings)).toEqual({ tls: { ca: CERT }, tlsServerName: false });
    }
  });

  it("names each setting that is missing or contradicts another", () => {
    expect(problems({ KAFKA_SASL_MECHANISM: "SCRAM-SHA-512" })).toEqual([
      "KAFKA_SASL_USERNAME: required with SCRAM-SHA-512",
      "KAFKA_SASL_PASSWORD: required with SCRAM-SHA-512",
    ]);
    expect(problems({ KAFKA_SASL_USERNAME: "shop", KAFKA_SASL_PASSWORD: "x" })).toEqual([
      "KAFKA_SASL_MECHANISM: required with a SASL login: one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
    ]);
    expect(
      problems({
        KAFKA_SASL_MECHANISM: "PLAIN",
        KAFKA_SASL_USERNAME: "u",
        KAFKA_SASL_PASSWORD: "p",
        KAFKA_TLS: "false",
      }),
    ).toEqual(["KAFKA_TLS: PLAIN sends the password as it is: use it over TLS only"]);
    expect(problems({ KAFKA_SASL_MECHANISM: "OAUTH" })[0]).toMatch(/^KAFKA_SASL_MECHANISM: /);
    expect(problems({ KAFKA_TLS: "maybe" })[0]).toMatch(/^KAFKA_TLS: /);
    expect(problems({ KAFKA_TLS_CA: "/no/such/ca.pem" })[0]).toMatch(
      /^KAFKA_TLS_CA: not a PEM certificate, nor a readable file: ENOENT/,
    );
  });
});
