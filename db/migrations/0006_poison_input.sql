CREATE TABLE "dead_letters" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"consumer" varchar(64) NOT NULL,
	"topic" text NOT NULL,
	"key" text NOT NULL,
	"event_id" varchar(128),
	"error" text NOT NULL,
	"attempts" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- Money columns become 64-bit. Each ALTER rewrites its table under an exclusive lock: on a large
-- store, run this migration in a quiet window.
ALTER TABLE "products" ALTER COLUMN "price_cents" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "order_lines" ALTER COLUMN "unit_price_cents" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "order_lines" ALTER COLUMN "line_total_cents" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "orders" ALTER COLUMN "subtotal_cents" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "payments" ALTER COLUMN "amount_cents" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "parked_events" ALTER COLUMN "value" SET DATA TYPE bytea USING convert_to("value", 'UTF8');--> statement-breakpoint
CREATE INDEX "dead_letters_key_idx" ON "dead_letters" USING btree ("consumer","key");