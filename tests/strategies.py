"""The statements' domains, shared with the tests (see theory/statements/domains.py)."""

from theory.statements.domains import (  # noqa: F401
    finite,
    finite32,
    ks,
    nonzero_vectors,
    scales,
    teacher_student_pairs,
)
