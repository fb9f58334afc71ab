"""search by digit runs: on PostgreSQL, an index of the four-digit sequences in message
texts and customer names, so a search for a number reads the rows that have its digits
rather than every row sharing one of its trigrams

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every four-digit sequence of every run of four digits or more: "order 500017" gives
# {5000, 0001, 0017}. A text that contains a number contains every sequence of the
# number's runs, so these are a necessary condition that `desk.search` checks first,
# before the ILIKE that decides. ASCII digits only, here and in `desk.search.digit_grams`.
DIGIT_GRAMS = """
CREATE FUNCTION digit_grams(value text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    run bytea;
    grams text[] := '{}';
BEGIN
    IF value !~ '[0-9]{4}' THEN
        RETURN grams;  -- most texts: one test, no loop
    END IF;
    -- each run as bytes: substr on text counts characters from the start every time,
    -- which made 100,000 digits take 16 s; on bytes it is 30 ms
    FOR run IN SELECT convert_to((regexp_matches(value, '[0-9]{4,}', 'g'))[1], 'UTF8') LOOP
        FOR i IN 1 .. length(run) - 3 LOOP
            grams := grams || encode(substring(run FROM i FOR 4), 'escape');
        END LOOP;
    END LOOP;
    RETURN grams;
END
$$
"""

# Not partial: a condition on the index would have to be in every search too, and the
# planner estimates a regular expression by trying it on the column's statistics (0.1 ms
# a lookup). A row without a run of four digits is one empty entry.
DIGIT_INDEXES = (
    ("ix_messages_text_digits", "messages", "text"),
    ("ix_contacts_name_digits", "contacts", "name"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite reads every row for a substring anyway
    op.execute(DIGIT_GRAMS)
    for name, table, column in DIGIT_INDEXES:
        op.execute(f"CREATE INDEX {name} ON {table} USING gin (digit_grams({column}))")
        # No statistics of the sequences: with them the planner plans every search again
        # for its values (0.4 ms), where without them one plan serves every number, and
        # it is the same plan (this index, then the ILIKE on the few rows it gives).
        op.execute(f"ALTER INDEX {name} ALTER COLUMN 1 SET STATISTICS 0")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _table, _column in DIGIT_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP FUNCTION IF EXISTS digit_grams(text)")
