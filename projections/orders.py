"""The orders the board can be sorted in, declared apart from the read side that sorts by
them (``projections.read``, which loads SQLAlchemy), so that a command offering them loads
only what it uses."""

BOARD_SORTS = ("task", "deadline", "unit", "overdue", "state", "assigned")
