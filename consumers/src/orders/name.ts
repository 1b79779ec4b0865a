/** The orders consumer's name: its consumer group, and the `consumer` of its processed events and dead letters. */
export const ORDERS_CONSUMER = "orders";
