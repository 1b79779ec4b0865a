import type { CustomerRow } from "../../../../db/schema/index.ts";
import { AppError } from "../../../../domain/errors.ts";
import { randomToken } from "../../../../domain/ids.ts";
import { type CustomerSession, issueToken, revokeToken } from "../../../edge/customer-auth/index.ts";
import { log } from "../../../platform/log.ts";
import { type Cart, mergeCart, priceCart } from "../cart/index.ts";
import { listOrders, type OrdersPage } from "../orders/index.ts";
import { isCommonPassword } from "./common-passwords.ts";
import { customerCart } from "./customer-cart.ts";
import type { CustomersDeps } from "./deps.ts";
import { DUMMY_PASSWORD_HASH, hashPassword, needsRehash, verifyPassword } from "./password.ts";
import type { Customer, NotMerged, Session, SignIn, SignUp } from "./schemas.ts";
import { takeSignInAttempt } from "./sign-in-limit.ts";

export const toCustomer = (row: CustomerRow): Customer => ({
  customerId: row.customerId,
  email: row.email,
  name: row.name,
  createdAt: row.createdAt.toISOString(),
});

const weakPassword = (message: string) =>
  new AppError("invalid_request", message, {
    details: [{ path: ["password"], code: "weak_password", message }],
  });

/** Creates an account (email normalised by the schema) and signs it in. */
export const signUp = async (
  deps: CustomersDeps,
  input: SignUp,
): Promise<{ customer: Customer; token: string }> => {
  const lowered = input.password.toLowerCase();
  if (isCommonPassword(input.password)) throw weakPassword("this password is too common; choose another");
  if (lowered === input.email || lowered === input.email.split("@")[0])
    throw weakPassword("the password must not be the email address");
  const row = await deps.accounts.insert({
    customerId: `cus_${randomToken()}`,
    email: input.email,
    name: input.name ?? null,
    passwordHash: await hashPassword(input.password),
  });
  if (!row) throw new AppError("email_taken", "an account with this email exists already");
  const { token } = await issueToken(deps.tokenSecret, row.customerId, deps.settings.tokenTtlSeconds);
  return { customer: toCustomer(row), token };
};

/**
 * Signs in: an unknown email and a wrong password get the same answer after the same work (an
 * unknown email is checked against a dummy hash). Failed attempts are limited per account and per
 * client. The guest cart, if any, is merged into the customer's cart.
 */
export const signIn = async (deps: CustomersDeps, input: SignIn, client: string): Promise<Session> => {
  const attempt = await takeSignInAttempt(deps.redis, deps.settings.signIn, input.email, client);
  const row = await deps.accounts.byEmail(input.email);
  const valid = await verifyPassword(input.password, row?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!row || !valid) throw new AppError("invalid_credentials", "the email or the password is wrong");
  deps.cart.background(
    attempt.succeeded().catch((error: unknown) => log("warn", "sign-in limit not released", { error })),
  );
  if (needsRehash(row.passwordHash)) {
    // Made with weaker parameters than today's: replaced now that the password is known.
    deps.cart.background(
      hashPassword(input.password)
        .then((next) => deps.accounts.upgradeHash(row.customerId, row.passwordHash, next))
        .catch((error: unknown) => log("warn", "password hash not upgraded", { error })),
    );
  }
  let cart = await customerCart(deps, row.customerId, row.cartId);
  let notMerged: NotMerged[] | undefined;
  if (input.cartId && input.cartId !== cart.cartId) {
    const merged = await mergeCart(deps.cart, input.cartId, cart.cartId);
    if (merged) {
      cart = merged.cart;
      notMerged = merged.notMerged;
    }
  }
  const { token } = await issueToken(deps.tokenSecret, row.customerId, deps.settings.tokenTtlSeconds);
  return {
    customer: toCustomer(row),
    token,
    cart: await priceCart(deps.cart, cart),
    ...(notMerged ? { notMerged } : {}),
  };
};

export const signOut = (deps: CustomersDeps, session: CustomerSession): Promise<void> =>
  revokeToken(deps.redis, session);

const account = async (deps: CustomersDeps, session: CustomerSession): Promise<CustomerRow> => {
  const row = await deps.accounts.byId(session.customerId);
  if (!row) throw new AppError("unauthorized", "the account of this token no longer exists");
  return row;
};

export const getMe = async (deps: CustomersDeps, session: CustomerSession): Promise<Customer> =>
  toCustomer(await account(deps, session));

export const getMyCart = async (deps: CustomersDeps, session: CustomerSession): Promise<Cart> => {
  const row = await account(deps, session);
  return priceCart(deps.cart, await customerCart(deps, row.customerId, row.cartId));
};

export const getMyOrders = (
  deps: CustomersDeps,
  session: CustomerSession,
  query: { cursor?: string | undefined; limit: number },
): Promise<OrdersPage> => listOrders(deps.db(), { customerId: session.customerId }, query);
