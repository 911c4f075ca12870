-- kesher schema on PostgreSQL, version 14: the customer search's indexes. (Version 13 belongs to
-- another change.)
--
-- A search matches the start of the normalised name, or of its part after the first word (the
-- family name: "coh" finds "dana cohen"), and the start of an identifier, each probe a range of
-- one index read in order and stopped after the page (kesher_store::search). Prefix ranges are
-- compared in code point order (`COLLATE "C"`, as SQLite's BINARY), which only an index in that
-- collation serves whatever the database's own: the name's index is rebuilt in it, and the
-- family name and the identifiers get one each (their unique indexes keep the database's
-- collation for equality).
DROP INDEX customers_name_norm;
CREATE INDEX customers_name_norm ON customers (name_norm COLLATE "C");
CREATE INDEX customers_surname ON customers ((substr(name_norm, strpos(name_norm, ' ') + 1)) COLLATE "C");
CREATE INDEX customers_member_prefix ON customers (member_no COLLATE "C");
CREATE INDEX customers_card_prefix ON customers (card COLLATE "C");
CREATE INDEX customers_email_prefix ON customers (email COLLATE "C");
CREATE INDEX customers_phone_prefix ON customers (phone COLLATE "C");
