-- Up Migration
-- Which object store holds this database's chunks. The store keeps the same id in its
-- object strata.json; a loader pointed at another store (whose chunks the database does
-- not describe) is stopped before it dedups against chunks that are not there.

create table strata.settings (
  key   text primary key,
  value text not null
);
