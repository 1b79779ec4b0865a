ALTER TABLE "order_progress" ADD COLUMN "steps" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
-- Each step's known outcome moves from its column into the map, keyed by the step's name.
UPDATE "order_progress" SET "steps" = jsonb_strip_nulls(jsonb_build_object(
  'recorded', CASE WHEN "recorded_at" IS NOT NULL THEN 'recorded' END,
  'inventory', "inventory",
  'payment', "payment"
)) WHERE "recorded_at" IS NOT NULL OR "inventory" IS NOT NULL OR "payment" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "order_progress" DROP COLUMN "recorded_at";--> statement-breakpoint
ALTER TABLE "order_progress" DROP COLUMN "inventory";--> statement-breakpoint
ALTER TABLE "order_progress" DROP COLUMN "payment";
