import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type CancelAnswer,
  type FulfillmentProvider,
  FulfillmentProviderUnavailableError,
  type FulfillmentRequest,
  type WarehouseStatus,
} from "./provider.ts";

/**
 * A stand-in for a third-party warehouse, for local runs and tests: it ships an order `shipDelayMs`
 * after its first request, with carrier `SimPost` and a tracking number derived from the order id.
 * Like a real one it keeps its own record per order (in memory; after a restart it answers `unknown`
 * and the fulfillment step requests the order again). A cancelled order is never shipped; a
 * cancellation after the ship time is refused (`shipped`). Every call can be slowed (`latencyMs`) and
 * fail transiently (`failureRate`, half before and half after its effect), like the payment simulator.
 */
export interface SimulatedWarehouseOptions {
  /** Added to every call, in milliseconds. */
  latencyMs?: number;
  /** Probability (0..1) that a call fails with a transient error. */
  failureRate?: number;
  /** Time from the first request to shipping. */
  shipDelayMs?: number;
  /** Source of randomness for the failures (tests pass a fixed one). */
  random?: () => number;
  /** The clock (tests move it). */
  now?: () => number;
}

export const SIMULATED_CARRIER = "SimPost";

export interface SimulatedWarehouse extends FulfillmentProvider {
  /** How many fulfillments (distinct parcels) the warehouse created for the order. */
  fulfillmentsOf(orderId: string): number;
}

type Parcel = { requestedAt: number; cancelled: boolean; requests: number };

export const trackingNumberOf = (orderId: string): string =>
  `SP${createHash("sha256").update(orderId).digest("hex").slice(0, 16).toUpperCase()}`;

export const createSimulatedWarehouse = (options: SimulatedWarehouseOptions = {}): SimulatedWarehouse => {
  const { latencyMs = 0, failureRate = 0, shipDelayMs = 2_000, random = Math.random } = options;
  const now = options.now ?? Date.now;
  const parcels = new Map<string, Parcel>();

  const call = async <T>(what: string, effect: () => T): Promise<T> => {
    if (latencyMs > 0) await sleep(latencyMs);
    const fails = random() < failureRate;
    const beforeEffect = random() < 0.5;
    if (fails && beforeEffect)
      throw new FulfillmentProviderUnavailableError(`simulated outage before ${what}`);
    const result = effect();
    if (fails) throw new FulfillmentProviderUnavailableError(`simulated timeout after ${what}`);
    return result;
  };

  const shipsAt = (parcel: Parcel): number => parcel.requestedAt + shipDelayMs;

  const request = (req: FulfillmentRequest): void => {
    const known = parcels.get(req.orderId);
    if (known) {
      known.requests++;
      return;
    }
    parcels.set(req.orderId, { requestedAt: now(), cancelled: false, requests: 1 });
  };

  const status = (orderId: string): WarehouseStatus => {
    const parcel = parcels.get(orderId);
    if (!parcel) return { state: "unknown" };
    if (parcel.cancelled) return { state: "cancelled" };
    if (now() < shipsAt(parcel)) return { state: "in_progress" };
    return {
      state: "shipped",
      shipment: {
        carrier: SIMULATED_CARRIER,
        trackingNumber: trackingNumberOf(orderId),
        shippedAt: new Date(shipsAt(parcel)).toISOString(),
      },
    };
  };

  const cancel = (orderId: string): CancelAnswer => {
    const parcel = parcels.get(orderId);
    if (!parcel) {
      // Never requested here: recorded as cancelled, so a late request of it ships nothing.
      parcels.set(orderId, { requestedAt: now(), cancelled: true, requests: 0 });
      return "cancelled";
    }
    if (!parcel.cancelled && now() >= shipsAt(parcel)) return "shipped";
    parcel.cancelled = true;
    return "cancelled";
  };

  return {
    request: (req) => call("request", () => request(req)),
    status: (orderId) => call("status", () => status(orderId)),
    cancel: (orderId) => call("cancel", () => cancel(orderId)),
    fulfillmentsOf: (orderId) => ((parcels.get(orderId)?.requests ?? 0) > 0 ? 1 : 0),
  };
};
