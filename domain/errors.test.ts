import { describe, expect, it } from "vitest";
import { AppError, ERROR_STATUS } from "./errors.ts";

describe("AppError", () => {
  it("maps each code to its contract status", () => {
    expect(new AppError("cart_not_found", "no cart").status).toBe(404);
    expect(new AppError("order_queue_unavailable", "down").status).toBe(503);
    expect(ERROR_STATUS.quantity_limit).toBe(422);
    expect(new AppError("precondition_failed", "changed since").status).toBe(412);
    expect(new AppError("insufficient_stock", "would go below zero").status).toBe(409);
    expect(new AppError("invalid_credentials", "wrong email or password").status).toBe(401);
    expect(new AppError("email_taken", "has an account").status).toBe(409);
  });

  it("builds the contract body, with details only when present", () => {
    expect(new AppError("cart_empty", "empty").toBody()).toEqual({
      error: { code: "cart_empty", message: "empty" },
    });
    expect(new AppError("invalid_request", "bad", { details: [{ path: ["qty"] }] }).toBody()).toEqual({
      error: { code: "invalid_request", message: "bad", details: [{ path: ["qty"] }] },
    });
  });

  it("keeps the cause and retry hint", () => {
    const cause = new Error("socket closed");
    const error = new AppError("dependency_unavailable", "redis down", { cause, retryAfter: 5 });
    expect(error.cause).toBe(cause);
    expect(error.retryAfter).toBe(5);
    const range = new AppError("range_not_satisfiable", "past the end", {
      headers: { "Content-Range": "bytes */9" },
    });
    expect({ status: range.status, headers: range.headers }).toEqual({
      status: 416,
      headers: { "Content-Range": "bytes */9" },
    });
  });
});
