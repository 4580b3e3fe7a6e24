"""Notices (通知) from secretaries and organizers, with acknowledgement (签阅).

A notice is composed (compose: its text with the author's formatting, an optional photo
or document, its audience, whether and by when to acknowledge), then sent now or at a
time (lifecycle). Sending fixes its recipients and queues one copy each through the one
notification path and the outbox, within Telegram's flood limits, at most one per member,
ever. Recipients press Received (reading); the author follows up (follow_up): live
figures, who has not acknowledged, Remind at most once per period, the reminder before
the deadline, the acknowledgement sheet. A unit may have a linked group chat (groups)
where a notice is also posted.

The modules, each re-exported here:
- tables: Notice, NoticeRecipient, FiguresMessage, GroupLink;
- audience: who each audience is (one query of member ids);
- compose: the limits of the text, the attachment and the times; NoticeDraft;
- lifecycle: create, send (also a scheduled one), withdraw;
- reading: acknowledge, /notices;
- follow_up: figures, Remind, deadlines, the sheet, the live figures messages;
- groups: group chats linked to units.
"""

from models.notices.audience import (
    ABOUT_ACTIVITY,
    AudienceChoice,
    AudienceSize,
    activities_to_address,
    audience_size,
    check_choice,
    earlier_notices,
)
from models.notices.compose import (
    ATTACHMENT_MAX_BYTES,
    CAPTION_TEXT_MAX,
    TEXT_MAX,
    Attachment,
    NoticeDraft,
    TooLong,
    check_attachment,
    check_deadline,
    check_send_at,
    clean_body,
    visible_length,
)
from models.notices.follow_up import (
    DueFigures,
    Figures,
    RemindTooSoon,
    SheetRow,
    Silent,
    acknowledgement_sheet,
    deadline_reminder_at,
    figures_due,
    figures_of,
    figures_refreshed,
    figures_shown,
    follow_up_deadlines,
    not_acknowledged_page,
    notice_figures,
    open_figures,
    remind,
    settle_deliveries,
)
from models.notices.groups import linked_group
from models.notices.lifecycle import (
    check_draft,
    create_notice,
    delivery_key,
    due_notices,
    get_notice,
    managed_notice,
    send_notice,
    withdraw_notice,
)
from models.notices.reading import (
    Acknowledged,
    AcknowledgementCounts,
    NoticeItem,
    acknowledge,
    acknowledgements_of,
    notices_page,
    recipient_of,
)
from models.notices.tables import (
    AttachmentKind,
    Audience,
    FiguresMessage,
    GroupLink,
    Notice,
    NoticeRecipient,
)

__all__ = [
    "ABOUT_ACTIVITY",
    "ATTACHMENT_MAX_BYTES",
    "CAPTION_TEXT_MAX",
    "TEXT_MAX",
    "Acknowledged",
    "AcknowledgementCounts",
    "Attachment",
    "AttachmentKind",
    "Audience",
    "AudienceChoice",
    "AudienceSize",
    "DueFigures",
    "Figures",
    "FiguresMessage",
    "GroupLink",
    "Notice",
    "NoticeDraft",
    "NoticeItem",
    "NoticeRecipient",
    "RemindTooSoon",
    "SheetRow",
    "Silent",
    "TooLong",
    "acknowledge",
    "acknowledgement_sheet",
    "acknowledgements_of",
    "activities_to_address",
    "audience_size",
    "check_attachment",
    "check_choice",
    "check_deadline",
    "check_draft",
    "check_send_at",
    "clean_body",
    "create_notice",
    "deadline_reminder_at",
    "delivery_key",
    "due_notices",
    "earlier_notices",
    "figures_due",
    "figures_of",
    "figures_refreshed",
    "figures_shown",
    "follow_up_deadlines",
    "get_notice",
    "linked_group",
    "managed_notice",
    "not_acknowledged_page",
    "notice_figures",
    "notices_page",
    "open_figures",
    "recipient_of",
    "remind",
    "send_notice",
    "settle_deliveries",
    "visible_length",
    "withdraw_notice",
]
