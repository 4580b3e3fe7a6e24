"""A person's own data: everything stored about them (/mydata), and forgetting them (/forget).

It reaches into every part of the domain (members, activities, attendance, notices, the
outbox, the inbox), so it lives above them all rather than in models.members, which
they import.

The modules, each re-exported here:
- export: export_member_data and export_data, the JSON-ready file; has_personal_data;
- forget: forget_member and forget_user (the right to be forgotten), one unit of work;
- coverage: which table holds what about a person, and what each of the two does with it
  (tests/domain/test_privacy.py fails when a table with a person's id is left out).
"""

from models.privacy.coverage import EXPORTED, NOT_EXPORTED, PERSON_COLUMNS
from models.privacy.export import export_data, export_member_data, has_personal_data
from models.privacy.forget import forget_member, forget_user

__all__ = [
    "EXPORTED",
    "NOT_EXPORTED",
    "PERSON_COLUMNS",
    "export_data",
    "export_member_data",
    "forget_member",
    "forget_user",
    "has_personal_data",
]
