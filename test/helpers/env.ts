// Names shared by the test runner (test/run.ts) and the per-file helpers.

export const TEMPLATE_DB = "strata_template";

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}
