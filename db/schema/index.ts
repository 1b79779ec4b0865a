export * from "./carts.ts";
export * from "./catalog.ts";
export * from "./emails.ts";
export * from "./events.ts";
export * from "./inventory.ts";
export * from "./orders.ts";
export * from "./payments.ts";
export * from "./pipeline.ts";
