CREATE TABLE "effects" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"scope" text DEFAULT '' NOT NULL,
	"kind" varchar(64) NOT NULL,
	"key" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"last_error" text,
	"parked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "parked_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"consumer" varchar(64) NOT NULL,
	"topic" text NOT NULL,
	"key" text NOT NULL,
	"partition" integer NOT NULL,
	"offset" bigint NOT NULL,
	"event_id" varchar(128),
	"value" text NOT NULL,
	"headers" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"reason" varchar(16) NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"first_failed_at" timestamp with time zone,
	"last_error" text,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "emails" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "emails" ADD COLUMN "next_attempt_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "emails" ADD COLUMN "last_error" text;--> statement-breakpoint
ALTER TABLE "emails" ADD COLUMN "parked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "emails" ADD COLUMN "claimed_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "requested_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "next_attempt_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "last_error" text;--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "parked_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "effects_due_idx" ON "effects" USING btree ("scope","id") WHERE "effects"."parked_at" is null;--> statement-breakpoint
CREATE INDEX "parked_events_key_idx" ON "parked_events" USING btree ("consumer","topic","key","id");--> statement-breakpoint
CREATE INDEX "emails_unsent_idx" ON "emails" USING btree ("created_at") WHERE "emails"."sent_at" is null and "emails"."parked_at" is null;--> statement-breakpoint
CREATE INDEX "emails_parked_idx" ON "emails" USING btree ("parked_at") WHERE "emails"."parked_at" is not null;--> statement-breakpoint
CREATE INDEX "processed_events_processed_at_idx" ON "processed_events" USING brin ("processed_at");--> statement-breakpoint
CREATE INDEX "payments_requested_idx" ON "payments" USING btree ("requested_at") WHERE "payments"."status" = 'requested';--> statement-breakpoint
CREATE INDEX "outbox_failing_idx" ON "outbox" USING btree ("topic","key") WHERE "outbox"."published_at" is null and "outbox"."attempts" > 0;