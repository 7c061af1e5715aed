-- Triggers, named <table>_<order>_<when>, calling the stored logic's trigger functions.

create or replace trigger versions_10_before_update
  before update on strata.versions
  for each row execute function strata._versions_before_update();
