import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Redis } from "@upstash/redis";
import { describe, expect, it } from "vitest";

const TSX = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));
const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

const run = (env: Record<string, string>): { child: ChildProcess; lines: () => string[] } => {
  const child = spawn(TSX, [MAIN], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, lines: () => output.split("\n").filter((line) => line.length > 0) };
};

const waitFor = async <T>(probe: () => T | undefined, timeoutMs = 15_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe("main.ts", () => {
  it("serves with the token from the environment, logs JSON, and stops cleanly on SIGTERM", async () => {
    const token = "main-test-token";
    const { child, lines } = run({
      REDIS_URL: "redis://127.0.0.1:6379/15",
      UPSTASH_REDIS_REST_TOKEN: token,
      REDIS_REST_PORT: "0",
    });
    try {
      const url = await waitFor(() => {
        const listening = lines()
          .map((line) => JSON.parse(line) as { msg?: string; url?: string })
          .find((entry) => entry.msg === "redis REST endpoint listening");
        return listening?.url;
      });
      expect(await new Redis({ url, token }).ping()).toBe("PONG");
      await expect(new Redis({ url, token: "wrong" }).ping()).rejects.toThrow(/Unauthorized/);
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const [code] = await exited;
      expect(code).toBe(0);
      expect(lines().some((line) => line.includes('"msg":"stopped"'))).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("exits with a clear message when the environment is invalid", async () => {
    const { child, lines } = run({
      REDIS_URL: "http://not-redis",
      REDIS_REST_HOST: "0.0.0.0",
      REDIS_REST_PORT: "x",
    });
    const [code] = await once(child, "exit");
    expect(code).toBe(1);
    const output = lines().join("\n");
    expect(output).toContain("must be a redis:// or rediss:// URL");
    expect(output).toContain("REDIS_REST_PORT");
  });

  it("requires a token when listening beyond loopback", async () => {
    const { child, lines } = run({ REDIS_REST_HOST: "0.0.0.0", REDIS_REST_PORT: "0" });
    const [code] = await once(child, "exit");
    expect(code).toBe(1);
    expect(lines().join("\n")).toContain("required when REDIS_REST_HOST is not a loopback address");
  });
});
