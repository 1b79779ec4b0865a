DROP INDEX "emails_one_final_per_order";--> statement-breakpoint
ALTER TABLE "inventory" ADD COLUMN "shipped" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "carrier" varchar(64);--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "tracking_number" varchar(128);--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "shipped_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "emails_one_per_order_and_kind" ON "emails" USING btree ("order_id","kind");--> statement-breakpoint
CREATE INDEX "orders_status_created_idx" ON "orders" USING btree ("status","created_at","order_id");--> statement-breakpoint
CREATE INDEX "orders_created_idx" ON "orders" USING btree ("created_at","order_id");--> statement-breakpoint
ALTER TABLE "inventory" ADD CONSTRAINT "inventory_shipped_nonnegative" CHECK ("inventory"."shipped" >= 0);--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_shipment_only_when_shipped" CHECK (("orders"."status" = 'shipped') = ("orders"."shipped_at" is not null and "orders"."carrier" is not null and "orders"."tracking_number" is not null));