import { and, eq, isNull } from "drizzle-orm";
import { type CustomerRow, customers } from "../../../../db/schema/index.ts";
import { type EdgeDb, withDb } from "../../../platform/clients.ts";

export type NewCustomer = Pick<CustomerRow, "customerId" | "email" | "name" | "passwordHash">;

/** Postgres access for customer accounts. */
export const customerStore = (db: () => EdgeDb) => ({
  /** The new account, or null when the (normalised) email has one already, even under a race. */
  insert: (customer: NewCustomer): Promise<CustomerRow | null> =>
    withDb("the account store", async () => {
      const [row] = await db()
        .insert(customers)
        .values(customer)
        .onConflictDoNothing({ target: customers.email })
        .returning();
      return row ?? null;
    }),

  byEmail: (email: string): Promise<CustomerRow | null> =>
    withDb("the account store", async () => {
      const [row] = await db().select().from(customers).where(eq(customers.email, email));
      return row ?? null;
    }),

  byId: (customerId: string): Promise<CustomerRow | null> =>
    withDb("the account store", async () => {
      const [row] = await db().select().from(customers).where(eq(customers.customerId, customerId));
      return row ?? null;
    }),

  /** Replaces a password hash made with older parameters, unless the hash changed meanwhile. */
  upgradeHash: (customerId: string, previous: string, next: string): Promise<void> =>
    withDb("the account store", async () => {
      await db()
        .update(customers)
        .set({ passwordHash: next })
        .where(and(eq(customers.customerId, customerId), eq(customers.passwordHash, previous)));
    }),

  /**
   * Points the customer at cart `next` if its cart is still `expected` (compare-and-set, so of two
   * requests creating the customer's cart at once exactly one wins). Answers whether it did.
   */
  replaceCart: (customerId: string, expected: string | null, next: string): Promise<boolean> =>
    withDb("the account store", async () => {
      const rows = await db()
        .update(customers)
        .set({ cartId: next })
        .where(
          and(
            eq(customers.customerId, customerId),
            expected === null ? isNull(customers.cartId) : eq(customers.cartId, expected),
          ),
        )
        .returning({ customerId: customers.customerId });
      return rows.length === 1;
    }),
});

export type CustomerStore = ReturnType<typeof customerStore>;
