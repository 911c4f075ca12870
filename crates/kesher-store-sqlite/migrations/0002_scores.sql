-- Analysis results (kesher analyze): the latest score per customer, replaced wholesale, and
-- each customer's lifecycle stage per month, kept as history.
CREATE TABLE customer_scores (
    customer_id        BLOB PRIMARY KEY,
    as_of              INTEGER NOT NULL,
    model              TEXT NOT NULL,
    stage              TEXT NOT NULL,
    frequency          REAL NOT NULL,
    recency            REAL NOT NULL,
    t                  REAL NOT NULL,
    monetary           REAL NOT NULL,
    revenue            INTEGER NOT NULL,
    margin             INTEGER,
    p_alive            REAL,
    expected_purchases REAL,
    clv                REAL,
    rfm                TEXT,
    segment            TEXT,
    tier               TEXT
) WITHOUT ROWID;
CREATE TABLE customer_stages (
    customer_id BLOB NOT NULL,
    month       TEXT NOT NULL,
    stage       TEXT NOT NULL,
    PRIMARY KEY (customer_id, month)
) WITHOUT ROWID;
CREATE INDEX customer_stages_month ON customer_stages(month, stage);
