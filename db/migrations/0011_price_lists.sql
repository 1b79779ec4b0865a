CREATE TABLE "price_list_prices" (
	"price_list_id" varchar(64) NOT NULL,
	"variant_id" varchar(64) NOT NULL,
	"price_cents" bigint NOT NULL,
	CONSTRAINT "price_list_prices_price_list_id_variant_id_pk" PRIMARY KEY("price_list_id","variant_id"),
	CONSTRAINT "price_list_prices_nonnegative" CHECK ("price_list_prices"."price_cents" >= 0)
);
--> statement-breakpoint
CREATE TABLE "price_lists" (
	"id" varchar(64) PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"currency" varchar(3) NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone,
	"version" bigint DEFAULT 1 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "price_lists_ends_not_before_start" CHECK ("price_lists"."ends_at" is null or "price_lists"."ends_at" >= "price_lists"."starts_at")
);
--> statement-breakpoint
ALTER TABLE "order_lines" ADD COLUMN "compare_at_price_cents" bigint;--> statement-breakpoint
ALTER TABLE "order_lines" ADD COLUMN "price_list_id" varchar(64);--> statement-breakpoint
ALTER TABLE "price_list_prices" ADD CONSTRAINT "price_list_prices_price_list_id_price_lists_id_fk" FOREIGN KEY ("price_list_id") REFERENCES "public"."price_lists"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "price_list_prices" ADD CONSTRAINT "price_list_prices_variant_id_products_id_fk" FOREIGN KEY ("variant_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "price_list_prices_variant_idx" ON "price_list_prices" USING btree ("variant_id");