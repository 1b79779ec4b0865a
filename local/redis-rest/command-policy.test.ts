import { describe, expect, it } from "vitest";
import { routeCommand } from "./command-policy.ts";

const route = (name: string, ...args: string[]) => routeCommand({ name, args }).kind;

describe("routeCommand", () => {
  it("keeps ordinary commands on the shared connection", () => {
    expect(route("GET", "k")).toBe("shared");
    expect(route("EVAL", "return 1", "0")).toBe("shared");
    expect(route("XREAD", "COUNT", "1", "STREAMS", "s", "0")).toBe("shared");
    expect(route("CLIENT", "LIST")).toBe("shared");
  });

  it("rejects commands that change or hold the connection", () => {
    for (const name of [
      "SELECT",
      "MULTI",
      "EXEC",
      "WATCH",
      "SUBSCRIBE",
      "PSUBSCRIBE",
      "MONITOR",
      "QUIT",
      "HELLO",
    ]) {
      expect(route(name, "x")).toBe("rejected");
    }
    expect(route("CLIENT", "reply", "off")).toBe("rejected");
  });

  it("rejects blocking forever and gives bounded blocking its own connection", () => {
    expect(route("BLPOP", "a", "b", "0")).toBe("rejected");
    expect(route("BLMPOP", "0", "1", "a", "LEFT")).toBe("rejected");
    expect(route("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")).toBe("rejected");
    expect(route("BLPOP", "a", "0.5")).toBe("dedicated");
    expect(route("BZMPOP", "2", "1", "z", "MIN")).toBe("dedicated");
    expect(route("XREAD", "BLOCK", "100", "STREAMS", "s", "$")).toBe("dedicated");
  });

  it("lets blocking commands run inside a transaction, where Redis never blocks", () => {
    expect(routeCommand({ name: "BLPOP", args: ["a", "0"] }, true).kind).toBe("shared");
    expect(routeCommand({ name: "SELECT", args: ["1"] }, true).kind).toBe("rejected");
  });
});
