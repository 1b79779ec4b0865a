export { readStock, type StockLevel, setAvailable } from "./store.ts";
