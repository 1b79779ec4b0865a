import { describe, expect, it } from "vitest";
import { parseCommandBody, parseCommandListBody, parseJson, parsePathCommand } from "./request.ts";
import { RestError } from "./rest-error.ts";

describe("request parsing", () => {
  it("reads a JSON command, upper-casing the name and stringifying numbers and booleans", () => {
    expect(parseCommandBody(["set", "k", 1.5, true])).toEqual({ name: "SET", args: ["k", "1.5", "true"] });
    expect(
      parseCommandListBody([
        ["get", "a"],
        ["incrby", "b", 2],
      ]),
    ).toEqual([
      { name: "GET", args: ["a"] },
      { name: "INCRBY", args: ["b", "2"] },
    ]);
  });

  it("answers 400 for bodies that are not commands", () => {
    for (const body of [[], {}, [null], [["GET"], "x"], "GET"]) {
      expect(() => parseCommandBody(body)).toThrow(RestError);
    }
    expect(() => parseCommandListBody([])).toThrow(/JSON array of commands/);
    expect(() => parseJson("{")).toThrow(/not valid JSON/);
  });

  it("reads the path form: decoded segments, then the body, then query parameters", () => {
    const body = Buffer.from([0, 1, 255]);
    const command = parsePathCommand("/set/a%2Fb/", new URLSearchParams("EX=10&NX&_token=t"), body);
    expect(command).toEqual({ name: "SET", args: ["a/b", body, "EX", "10", "NX"] });
    expect(parsePathCommand("/get/k", new URLSearchParams(), undefined)).toEqual({
      name: "GET",
      args: ["k"],
    });
    expect(() => parsePathCommand("/get/%E0%A4%A", new URLSearchParams(), undefined)).toThrow(/malformed/);
  });
});
