import { AppError } from "../../../domain/errors.ts";
import { redisClient, type ServiceBindings } from "../../platform/clients.ts";
import { bearerToken, type CustomerSession, verifyToken } from "./token.ts";

/** The bindings a worker needs to check customer tokens. */
export interface CustomerAuthBindings extends ServiceBindings {
  CUSTOMER_TOKEN_SECRET?: string;
}

/** OpenAPI security requirement of customer routes (the scheme `customerToken` is registered per worker). */
export const customerSecurity = [{ customerToken: [] }];

/**
 * The customer of a request from `Authorization: Bearer <token>`; 401 `unauthorized` without a valid
 * one (missing, malformed, tampered, expired or signed out).
 */
export const requireCustomer = async (
  env: CustomerAuthBindings,
  authorization: string | undefined,
): Promise<CustomerSession> => {
  const token = bearerToken(authorization);
  if (!token) {
    throw new AppError("unauthorized", "a customer bearer token is required", {
      headers: { "WWW-Authenticate": 'Bearer realm="customer"' },
    });
  }
  return verifyToken({ secret: env.CUSTOMER_TOKEN_SECRET, redis: redisClient(env, { raw: true }) }, token);
};

/**
 * For routes a guest may call too: no `Authorization` header is a guest (null); a header with a token
 * that is not valid is refused, never silently treated as a guest.
 */
export const optionalCustomer = (
  env: CustomerAuthBindings,
  authorization: string | undefined,
): Promise<CustomerSession | null> =>
  authorization === undefined ? Promise.resolve(null) : requireCustomer(env, authorization);
