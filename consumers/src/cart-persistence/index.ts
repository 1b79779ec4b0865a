import { CartUpdatedSchema } from "../../../domain/events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { type ConsumerDefinition, subscribe } from "../runtime/types.ts";
import { saveCartSnapshot } from "./store.ts";

/** `cart-updated` → `cart_snapshots`, the copy a cart is restored from when Redis has lost it. */
export const cartPersistenceConsumer: ConsumerDefinition = {
  name: "cart-persistence",
  subscriptions: [
    subscribe(TOPICS.cartUpdated, CartUpdatedSchema, async (event, ctx) => {
      const changed = await saveCartSnapshot(ctx.tx, event);
      if (!changed)
        ctx.log.debug({ cartId: event.cartId }, "older than the stored copy (or a tombstone); kept");
    }),
  ],
};
