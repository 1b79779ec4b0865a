CREATE TABLE "customers" (
	"customer_id" varchar(64) PRIMARY KEY NOT NULL,
	"email" varchar(254) NOT NULL,
	"name" varchar(200),
	"password_hash" text NOT NULL,
	"cart_id" varchar(64),
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "customers_email_normalised" CHECK ("customers"."email" = lower(btrim("customers"."email")))
);
--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "customer_id" varchar(64);--> statement-breakpoint
CREATE UNIQUE INDEX "customers_email_idx" ON "customers" USING btree ("email");--> statement-breakpoint
CREATE INDEX "orders_customer_created_idx" ON "orders" USING btree ("customer_id","created_at","order_id") WHERE "orders"."customer_id" is not null;