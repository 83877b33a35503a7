"""Fleet benchmark (`make bench`): plan generated fleets against a served sandbox."""
