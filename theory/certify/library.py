"""The certifiable claims of the registry's statements (see :mod:`theory.certify.claims`)."""

from __future__ import annotations
