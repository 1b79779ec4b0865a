import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

const USERS = JSON.stringify([
  { username: "workers", password: "w", produce: ["order-placed", "dev.*"] },
  { username: "prometheus", password: "p", metrics: true },
]);

/** The ConfigError `loadConfig(env)` throws (the test fails when it throws none). */
function problemsOf(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("loadConfig", () => {
  it("parses brokers and users, and applies defaults", () => {
    const config = loadConfig({
      KAFKA_BROKERS: " 127.0.0.1:9092, kafka-2:9092 ,",
      KAFKA_REST_USERS: USERS,
    });
    expect(config).toMatchObject({
      KAFKA_BROKERS: ["127.0.0.1:9092", "kafka-2:9092"],
      PORT: 8082,
      HOST: "127.0.0.1",
      KAFKA_REQUEST_TIMEOUT_MS: 5000,
    });
    expect(config.KAFKA_REST_USERS).toEqual([
      { username: "workers", password: "w", produce: ["order-placed", "dev.*"], consume: [], metrics: false },
      { username: "prometheus", password: "p", produce: [], consume: [], metrics: true },
    ]);
  });

  it("lists every missing or bad variable", () => {
    const message = problemsOf({ KAFKA_BROKERS: "no-port", PORT: "x" });
    for (const name of ["KAFKA_BROKERS.0", "KAFKA_REST_USERS", "PORT"]) {
      expect(message).toContain(`  - ${name}: `);
    }
  });

  it("refuses the single login of earlier versions, so no deployment believes it still works", () => {
    const message = problemsOf({
      KAFKA_BROKERS: "127.0.0.1:9092",
      KAFKA_REST_USERS: USERS,
      KAFKA_REST_USERNAME: "storefront",
      KAFKA_REST_PASSWORD: "secret",
    });
    expect(message).toContain("  - KAFKA_REST_USERNAME: KAFKA_REST_USERNAME is no longer read");
    expect(message).toContain("  - KAFKA_REST_PASSWORD: KAFKA_REST_PASSWORD is no longer read");
  });
});

describe("KAFKA_REST_USERS", () => {
  const problems = (users: unknown) =>
    problemsOf({
      KAFKA_BROKERS: "127.0.0.1:9092",
      KAFKA_REST_USERS: typeof users === "string" ? users : JSON.stringify(users),
    });

  it("names every problem of every user, under its index", () => {
    const message = problems([
      { username: "workers", password: "", produce: ["order-placed"] },
      { username: "workers", password: "p", produce: ["order placed"], consume: ["a?"] },
      { username: "a:b", password: "p", metrics: "yes" },
      { username: "nothing", password: "p" },
      { username: "typo", password: "p", produces: ["order-placed"] },
      { username: "café", password: "pässword", consume: ["x"] },
    ]);
    const lines = message.split("\n").slice(1);
    expect(lines).toEqual(
      expect.arrayContaining([
        "  - KAFKA_REST_USERS.0.password: is empty",
        '  - KAFKA_REST_USERS.1.username: duplicate username "workers" (user 0 has it too)',
        expect.stringMatching(/^ {2}- KAFKA_REST_USERS\.1\.produce\.0: expected a topic name or a glob/),
        expect.stringMatching(/^ {2}- KAFKA_REST_USERS\.1\.consume\.0: expected a topic name or a glob/),
        expect.stringMatching(/^ {2}- KAFKA_REST_USERS\.2\.username: .*no ':'/),
        expect.stringMatching(/^ {2}- KAFKA_REST_USERS\.2\.metrics: /),
        "  - KAFKA_REST_USERS.3: grants nothing: give produce, consume or metrics",
        expect.stringMatching(/^ {2}- KAFKA_REST_USERS\.4: Unrecognized key: "produces"/),
        "  - KAFKA_REST_USERS.4: grants nothing: give produce, consume or metrics",
        expect.stringMatching(/^ {2}- KAFKA_REST_USERS\.5\.username: /),
        expect.stringMatching(/^ {2}- KAFKA_REST_USERS\.5\.password: /),
      ]),
    );
    expect(lines).toHaveLength(11);
  });

  it("refuses an empty list, a list that is not one, and JSON that does not parse, quoting none of it", () => {
    expect(problems([])).toContain("  - KAFKA_REST_USERS: lists no user");
    expect(problems({ username: "a", password: "p", metrics: true })).toContain(
      "  - KAFKA_REST_USERS: Invalid input: expected array",
    );
    const broken = problems('[{"username":"workers","password":"hunter2-secret"');
    expect(broken).toMatch(/ {2}- KAFKA_REST_USERS: is not valid JSON/);
    expect(broken).not.toContain("hunter2");
    expect(problems("hunter2-secret")).not.toContain("hunter2");
  });
});
