CREATE TABLE "product_variants" (
	"id" varchar(64) PRIMARY KEY NOT NULL,
	"product_id" varchar(64) NOT NULL,
	"sku" varchar(64) NOT NULL,
	"options" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"price_cents" bigint NOT NULL,
	"image_key" text,
	"position" integer DEFAULT 0 NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "product_variants_price_nonnegative" CHECK ("product_variants"."price_cents" >= 0)
);
--> statement-breakpoint
-- Every product becomes its one variant, whose id is the product's (filled before the indexes are built).
INSERT INTO "product_variants" ("id", "product_id", "sku", "price_cents")
SELECT "id", "id", "sku", "price_cents" FROM "products";--> statement-breakpoint
ALTER TABLE "inventory" RENAME COLUMN "product_id" TO "variant_id";--> statement-breakpoint
ALTER TABLE "stock_reservations" RENAME COLUMN "product_id" TO "variant_id";--> statement-breakpoint
ALTER TABLE "inventory" DROP CONSTRAINT "inventory_product_id_products_id_fk";
--> statement-breakpoint
ALTER TABLE "stock_reservations" DROP CONSTRAINT "stock_reservations_product_id_products_id_fk";
--> statement-breakpoint
ALTER TABLE "price_list_prices" DROP CONSTRAINT "price_list_prices_variant_id_products_id_fk";
--> statement-breakpoint
ALTER TABLE "stock_reservations" RENAME CONSTRAINT "stock_reservations_order_id_product_id_pk" TO "stock_reservations_order_id_variant_id_pk";--> statement-breakpoint
ALTER TABLE "order_lines" DROP CONSTRAINT "order_lines_order_id_product_id_pk";--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "options" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
-- Every order line sold its product's one variant.
ALTER TABLE "order_lines" ADD COLUMN "variant_id" varchar(64);--> statement-breakpoint
UPDATE "order_lines" SET "variant_id" = "product_id" WHERE "variant_id" IS NULL;--> statement-breakpoint
ALTER TABLE "order_lines" ALTER COLUMN "variant_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "order_lines" ADD COLUMN "options" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "order_lines" ADD CONSTRAINT "order_lines_order_id_variant_id_pk" PRIMARY KEY("order_id","variant_id");--> statement-breakpoint
ALTER TABLE "product_variants" ADD CONSTRAINT "product_variants_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "product_variants_live_idx" ON "product_variants" USING btree ("product_id","position") WHERE "product_variants"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "product_variants_product_idx" ON "product_variants" USING btree ("product_id");--> statement-breakpoint
CREATE UNIQUE INDEX "product_variants_live_sku_idx" ON "product_variants" USING btree ("sku") WHERE "product_variants"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "product_variants_options_idx" ON "product_variants" USING gin ("options" jsonb_path_ops);--> statement-breakpoint
ALTER TABLE "inventory" ADD CONSTRAINT "inventory_variant_id_product_variants_id_fk" FOREIGN KEY ("variant_id") REFERENCES "public"."product_variants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stock_reservations" ADD CONSTRAINT "stock_reservations_variant_id_product_variants_id_fk" FOREIGN KEY ("variant_id") REFERENCES "public"."product_variants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "price_list_prices" ADD CONSTRAINT "price_list_prices_variant_id_product_variants_id_fk" FOREIGN KEY ("variant_id") REFERENCES "public"."product_variants"("id") ON DELETE cascade ON UPDATE no action;
