import pg from "pg";

/** Queries that reached PostgreSQL, from pg_stat_statements (the bench cluster loads it). */
export interface QueryCount {
  /** Statements on the catalog tables (products, categories, inventory reads of the catalog). */
  catalog: number;
  all: number;
}

export const pgStats = (databaseUrl: string) => {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  return {
    async reset(): Promise<void> {
      await pool.query("select pg_stat_statements_reset()");
    },
    async count(): Promise<QueryCount> {
      const { rows } = await pool.query<{ catalog: string; all: string }>(
        `select coalesce(sum(calls) filter (where query ~* '\\m(products|categories)\\M'), 0) as catalog,
                coalesce(sum(calls), 0) as all
           from pg_stat_statements
          where dbid = (select oid from pg_database where datname = current_database())
            and query !~* 'pg_stat_statements'`,
      );
      return { catalog: Number(rows[0]?.catalog ?? 0), all: Number(rows[0]?.all ?? 0) };
    },
    close: () => pool.end(),
  };
};
