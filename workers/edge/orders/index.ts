export { type OwnedOrder, orderFromPostgres } from "./read.ts";
