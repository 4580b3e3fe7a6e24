"""Persistence and domain operations. Nothing here imports `telegram`."""

from models.account import Account
from models.base import Base
from models.inbox import InboundUpdate
from models.members import Member as Member
from models.members import Membership as Membership
from models.org import OrgUnit as OrgUnit
from models.permissions import RoleGrant as RoleGrant

__all__ = ["Account", "Base", "InboundUpdate"]
from models.activities import Activity as Activity
from models.activities import ActivitySeries as ActivitySeries
from models.activities import Participation as Participation
from models.attendance.tables import AttendanceChange as AttendanceChange
from models.attendance.tables import CheckInScreen as CheckInScreen
from models.attendance.tables import CodeAttempts as CodeAttempts
from models.notices.tables import FiguresMessage as FiguresMessage
from models.notices.tables import GroupLink as GroupLink
from models.notices.tables import Notice as Notice
from models.notices.tables import NoticeRecipient as NoticeRecipient
from models.outbox import Delivery as Delivery
from models.outbox import SchedulerLeadership as SchedulerLeadership
from models.staff import DigestDay as DigestDay
