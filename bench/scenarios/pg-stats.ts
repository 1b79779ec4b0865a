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
    /** The statements called most, with their call counts and total execution time. */
    async top(limit: number): Promise<Array<{ query: string; calls: number; totalMs: number }>> {
      const { rows } = await pool.query<{ query: string; calls: string; total_ms: number }>(
        `select query, calls, total_exec_time as total_ms
           from pg_stat_statements
          where dbid = (select oid from pg_database where datname = current_database())
            and query !~* 'pg_stat_statements'
          order by calls desc
          limit $1`,
        [limit],
      );
      return rows.map((r) => ({ query: r.query, calls: Number(r.calls), totalMs: Number(r.total_ms) }));
    },
    close: () => pool.end(),
  };
};
