ALTER TABLE "products" ADD COLUMN "version" bigint DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "inventory" ADD COLUMN "version" bigint DEFAULT 1 NOT NULL;