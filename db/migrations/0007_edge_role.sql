-- The role the workers query Postgres as (their DATABASE_URL), with a server-side statement_timeout:
-- the workers' HTTP deadline (DATABASE_TIMEOUT_MS, 2.5 s) aborts only the request, so the query
-- itself must end in Postgres too. Created without a login; an operator gives it one, once:
--   ALTER ROLE storefront_edge WITH LOGIN PASSWORD '<a long random value>';
-- (the local stack does this with its development password). The consumers, migrations and seed
-- keep the owner's role.
DO $$
BEGIN
  CREATE ROLE storefront_edge NOLOGIN;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN NULL; -- another database of the cluster made it
END
$$;--> statement-breakpoint
DO $$
BEGIN
  EXECUTE format('ALTER ROLE storefront_edge IN DATABASE %I SET statement_timeout = %L', current_database(), '2s');
END
$$;--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO storefront_edge;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO storefront_edge;--> statement-breakpoint
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO storefront_edge;--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO storefront_edge;--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO storefront_edge;
