-- Sales get an explicit integer key (`seq`: the rowid, kept stable by VACUUM because it is
-- declared) and their lines are keyed by it instead of the sale's 16-byte UUID: a bulk import
-- writes each line with an integer comparison per index step instead of a blob comparison, and
-- binds one blob fewer. Ids, external ids and everything the store returns stay as they were.
-- Run with foreign keys off (the migration runner's rule for table rebuilds) and checked with
-- `PRAGMA foreign_key_check` before it commits.
CREATE TABLE transactions_new (
    seq         INTEGER PRIMARY KEY,
    id          BLOB NOT NULL UNIQUE,
    external_id TEXT NOT NULL UNIQUE,
    customer_id BLOB REFERENCES customers(id),
    branch_id   BLOB NOT NULL REFERENCES branches(id),
    employee_id BLOB REFERENCES employees(id),
    occurred_at INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    total       INTEGER NOT NULL,
    refund_of   BLOB REFERENCES transactions(id),
    cost        INTEGER
);
INSERT INTO transactions_new (seq, id, external_id, customer_id, branch_id, employee_id, occurred_at, currency, total, refund_of, cost)
    SELECT rowid, id, external_id, customer_id, branch_id, employee_id, occurred_at, currency, total, refund_of, cost
    FROM transactions ORDER BY rowid;
CREATE TABLE transaction_lines_new (
    sale       INTEGER NOT NULL REFERENCES transactions(seq),
    line_no    INTEGER NOT NULL,
    product_id BLOB REFERENCES products(id),
    quantity   INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    discount   INTEGER NOT NULL,
    PRIMARY KEY (sale, line_no)
) WITHOUT ROWID;
INSERT INTO transaction_lines_new (sale, line_no, product_id, quantity, unit_price, discount)
    SELECT t.seq, l.line_no, l.product_id, l.quantity, l.unit_price, l.discount
    FROM transaction_lines l JOIN transactions_new t ON t.id = l.transaction_id
    ORDER BY t.seq, l.line_no;
DROP TABLE transaction_lines;
DROP TABLE transactions;
ALTER TABLE transactions_new RENAME TO transactions;
ALTER TABLE transaction_lines_new RENAME TO transaction_lines;
CREATE INDEX transactions_customer ON transactions(customer_id, occurred_at);
