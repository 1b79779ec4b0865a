import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

describe("loadConfig", () => {
  it("parses brokers and applies defaults", () => {
    const config = loadConfig({
      KAFKA_BROKERS: " 127.0.0.1:9092, kafka-2:9092 ,",
      KAFKA_REST_USERNAME: "u",
      KAFKA_REST_PASSWORD: "p",
    });
    expect(config).toMatchObject({
      KAFKA_BROKERS: ["127.0.0.1:9092", "kafka-2:9092"],
      PORT: 8082,
      HOST: "127.0.0.1",
      KAFKA_REQUEST_TIMEOUT_MS: 5000,
    });
  });

  it("lists every missing or bad variable", () => {
    let error: unknown;
    try {
      loadConfig({ KAFKA_BROKERS: "no-port", PORT: "x" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ["KAFKA_BROKERS", "KAFKA_REST_USERNAME", "KAFKA_REST_PASSWORD", "PORT"]) {
      expect(message).toContain(name);
    }
  });
});
