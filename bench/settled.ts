import type pg from "pg";

/**
 * Whether each order is settled, the whole saga done: confirmed, captured, its email written and its
 * fulfillment requested; or cancelled with nothing held or authorized and its email written. With
 * when it was placed and when the saga decided it (order_progress.finalized_at), in ms.
 */
const SETTLED = `
select o.order_id, o.status,
  extract(epoch from o.placed_at) * 1000 as placed_ms,
  extract(epoch from pr.finalized_at) * 1000 as finalized_ms,
  case
    when o.status in ('fulfilling', 'shipped') then p.status = 'captured'
      and exists (select 1 from emails e where e.order_id = o.order_id and e.kind = 'order_confirmed')
    when o.status = 'cancelled' then coalesce(p.status, 'none') not in ('requested', 'requires_action', 'authorized')
      and not exists (select 1 from stock_reservations r where r.order_id = o.order_id and r.status = 'held')
      and exists (select 1 from emails e where e.order_id = o.order_id and e.kind = 'order_cancelled')
    else false
  end as settled
from orders o
left join payments p using (order_id)
left join order_progress pr using (order_id)
where o.order_id = any($1)`;

export interface OrderState {
  orderId: string;
  status: string;
  settled: boolean;
  placedMs: number;
  finalizedMs: number | null;
}

export const orderStates = async (
  db: Pick<pg.Pool, "query"> | Pick<pg.Client, "query">,
  orderIds: readonly string[],
): Promise<OrderState[]> => {
  const { rows } = await db.query<{
    order_id: string;
    status: string;
    placed_ms: number;
    finalized_ms: number | null;
    settled: boolean;
  }>(SETTLED, [orderIds]);
  return rows.map((r) => ({
    orderId: r.order_id,
    status: r.status,
    settled: r.settled,
    placedMs: Number(r.placed_ms),
    finalizedMs: r.finalized_ms === null ? null : Number(r.finalized_ms),
  }));
};
