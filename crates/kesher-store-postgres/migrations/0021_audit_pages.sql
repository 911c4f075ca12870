-- The audit log's page (`Store::audit_page`): newest first by (at, seq), filtered by actor,
-- action or a date range, each read along one of these indexes from the previous page's last
-- entry, however long the log grows.
CREATE INDEX audit_log_at ON audit_log(at, seq);
CREATE INDEX audit_log_actor_at ON audit_log(actor, at, seq);
CREATE INDEX audit_log_action_at ON audit_log(action, at, seq);
