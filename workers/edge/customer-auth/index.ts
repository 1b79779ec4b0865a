export { type CustomerAuthBindings, customerSecurity, optionalCustomer, requireCustomer } from "./auth.ts";
export {
  type CustomerSession,
  DEFAULT_TOKEN_TTL_SECONDS,
  issueToken,
  revokedTokenKey,
  revokeToken,
  verifyToken,
} from "./token.ts";
