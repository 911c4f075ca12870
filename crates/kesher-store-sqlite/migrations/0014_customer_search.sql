-- Version 14: the customer search's index of the family name. (Version 13 belongs to another
-- change.)
--
-- A search matches the start of the normalised name, or of its part after the first word (the
-- family name: "coh" finds "dana cohen"), and the start of an identifier, each probe a range of
-- one index read in order and stopped after the page (kesher_store::search). The name and the
-- identifiers have their indexes already; this is the family name's, an index on the same
-- expression the search names (the whole name when it has one word).
CREATE INDEX customers_surname ON customers(substr(name_norm, instr(name_norm, ' ') + 1));
