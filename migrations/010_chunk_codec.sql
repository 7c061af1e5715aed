-- Up Migration
-- Chunks may be stored compressed: codec 0 keeps the chunk's bytes as they are (stored_size
-- = size), codec 1 stores one zstd frame of them (stored_size is the frame's length). A
-- chunk's hash is always the SHA-256 of its raw bytes, so identity and dedup do not depend
-- on how it is stored; readers decode, then verify.
alter table strata.chunks drop constraint chunks_codec_check;
alter table strata.chunks add constraint chunks_codec_check check (codec in (0, 1));
alter table strata.chunks add constraint chunks_raw_stored_size check (codec <> 0 or stored_size = size);

-- Down Migration
alter table strata.chunks drop constraint chunks_raw_stored_size;
alter table strata.chunks drop constraint chunks_codec_check;
alter table strata.chunks add constraint chunks_codec_check check (codec = 0);
