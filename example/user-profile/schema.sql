-- Tables the candidate reads (user-read path). Applied by migrations in production and
-- by tests/functions/conftest.py against embedded PostgreSQL.
CREATE TABLE IF NOT EXISTS users (
    user_id      text PRIMARY KEY,
    display_name text        NOT NULL,
    email        text        NOT NULL,
    plan         text        NOT NULL CHECK (plan IN ('free', 'pro', 'team')),
    created_at   timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS user_items (
    user_id  text           NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    position integer        NOT NULL,
    sku      text           NOT NULL,
    name     text           NOT NULL,
    price    numeric(12, 2) NOT NULL,
    quantity integer        NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (user_id, position)
);
