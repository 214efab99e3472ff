-- Stored argon2 hashes move to the PHC standard parameter order: node-argon2 wrote
-- `$argon2id$v=19$m=…,p=…,t=…$salt$hash`, the PHC format (and every libargon2-based verifier)
-- wants `m=…,t=…,p=…`. A pure reordering: salt, digest and parameters are kept, so every
-- password still verifies and no password is needed. Idempotent: only rows still in the old order
-- match, so a second run changes nothing; NULL (password-less) and other hashes are left alone.
-- On a large table: the UPDATE takes row locks only (reads and other writes go on); the lock
-- timeout stops it from waiting long behind a sign-in that holds one row. To keep the release
-- step short on millions of rows, run the same statement beforehand in batches, e.g. with
-- `AND "id" IN (SELECT "id" FROM "users" WHERE <the same condition> LIMIT 10000)` until it
-- updates 0 rows; this migration then finds nothing left to do. The service itself reads both
-- orders and rewrites an old-order hash at the owner's next sign-in.
SET LOCAL lock_timeout = '5s';--> statement-breakpoint
UPDATE "users"
SET "password_hash" = regexp_replace(
  "password_hash",
  '^(\$argon2(id|i|d)\$v=[0-9]+\$m=[0-9]+),p=([0-9]+),t=([0-9]+)\$',
  '\1,t=\4,p=\3$'
)
WHERE "password_hash" ~ '^\$argon2(id|i|d)\$v=[0-9]+\$m=[0-9]+,p=[0-9]+,t=[0-9]+\$';
