-- What is installed, for the loader to decide whether a database needs strata migrate:
-- readable by every Strata role (the tables it reads are the owner's).
create or replace function strata.installed()
returns table (applied integer, install_hash text)
language sql stable security definer set search_path = pg_catalog
as $$
select (select count(*)::int from strata.migrations), (select i.install_hash from strata._installs i order by i.id desc limit 1)
$$;
