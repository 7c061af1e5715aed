-- Up Migration
-- What the database cannot see, a push checks and fsck finds: a pack whose object is
-- missing, shorter or longer than recorded, or holds a chunk that does not hash to its
-- name is damaged. Its chunks count as missing, so the next push of the same content
-- uploads them again (into a new pack) and register_pack moves their rows there: old
-- versions become readable again. (restic's check and repair packs are the model.)
alter table strata.packs add column damaged_at timestamptz;
alter table strata.packs add column damage text;
create index packs_damaged on strata.packs (id) where damaged_at is not null;
