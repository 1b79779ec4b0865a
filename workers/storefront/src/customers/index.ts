export { customerRoutes } from "./routes.ts";
export { type Customer, CustomerSchema } from "./schemas.ts";
