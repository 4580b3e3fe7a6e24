"""The outbox end to end: limits, retries, blocked users, quiet hours, the digest."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import outbox
from models.members import Member
from models.outbox import Delivery, DeliveryStatus, SchedulerLeadership
from sandbox import Emulator
from tests.e2e.conftest import RunningBot, grant, invite_payload_of, meet, onboard, seed_org
from tests.e2e.texts import said, t

WANDA = "Zhanjiang Wanda Plaza Commercial District Branch"
REGULAR = t("en", "member_type.regular")


def report_card(name: str, phone: str, sent: str) -> str:
    """The secretary's card for a report to Wanda Plaza by a regular member."""
    fields = {"type": REGULAR, "workplace": "—", "unit": WANDA, "time": sent}
    return said("en", "report.card", name=name, phone=phone, **fields)


async def enqueue_to(
    bot: RunningBot, chat_ids: list[int], text: str = "Notice", *, urgent: bool = False
) -> None:
    """One message each, due now ("<text> for <chat id>"), and the live sender woken."""
    async with bot.database.sessions.begin() as session:
        for chat_id in chat_ids:
            await outbox.enqueue(
                session,
                chat_id,
                f"{text} for {chat_id}",
                kind="test",
                due_at=bot.clock.now(),
                timezone="Asia/Shanghai",
                urgent=urgent,
            )
    assert bot.runtime.scheduler is not None
    bot.runtime.scheduler.wake()


async def deliveries(bot: RunningBot) -> list[Delivery]:
    async with bot.database.sessions() as session:
        return list(await session.scalars(select(Delivery).order_by(Delivery.id)))


async def test_a_burst_stays_within_the_flood_limits(bot: RunningBot) -> None:
    emu = bot.emulator
    emu.faults.enforce_flood_limits = True
    people = [emu.user(f"P{i}", language_code="en") for i in range(70)]
    await enqueue_to(bot, [p.id for p in people])
    assert bot.runtime.scheduler is not None
    await bot.runtime.scheduler.run_once()
    for person in people:
        assert (await person.next_message()).text == f"Notice for {person.id}"
    assert emu.stats.count_429 == 0
    assert emu.stats.max_rate_overall(window=1.0) <= 30
    assert [d.status for d in await deliveries(bot)] == [DeliveryStatus.sent] * len(people)


async def test_429_is_waited_out_and_nothing_is_lost_or_doubled(bot: RunningBot) -> None:
    emu = bot.emulator
    emu.faults.enforce_flood_limits = True
    emu.faults.global_per_second = 5  # Telegram in a bad mood: far below our pacing
    people = [emu.user(f"P{i}", language_code="en") for i in range(12)]
    await enqueue_to(bot, [p.id for p in people])
    for _ in range(20):
        await bot.runtime.scheduler.run_once()
        if all(d.status is DeliveryStatus.sent for d in await deliveries(bot)):
            break
        bot.clock.advance(timedelta(seconds=2))
        await asyncio.sleep(1.1)  # the emulator's window is real time
    assert emu.stats.count_429 > 0
    for person in people:
        assert len([m for m in emu.messages(person.chat) if m.from_bot]) == 1


async def test_network_errors_are_retried_with_backoff(bot: RunningBot) -> None:
    emu = bot.emulator
    alice = emu.user("Alice", language_code="en")
    emu.faults.fail_next("sendMessage", 2, status=502, description="Bad Gateway")
    await enqueue_to(bot, [alice.id])
    await bot.runtime.scheduler.run_once()
    (row,) = await deliveries(bot)
    assert row.status is DeliveryStatus.pending and "Bad Gateway" in (row.last_error or "")
    first_retry = row.due_at
    bot.clock.set(first_retry)
    await bot.runtime.scheduler.run_once()
    (row,) = await deliveries(bot)
    assert row.status is DeliveryStatus.pending and row.due_at > first_retry  # backing off
    bot.clock.set(row.due_at)
    await bot.runtime.scheduler.run_once()
    assert (await alice.next_message()).text.startswith("Notice")
    (row,) = await deliveries(bot)
    assert row.status is DeliveryStatus.sent and row.attempts == 3


async def test_a_message_telegram_refuses_fails_for_good(bot: RunningBot) -> None:
    emu = bot.emulator
    alice = emu.user("Alice", language_code="en")
    await enqueue_to(bot, [alice.id], text="<b>broken")  # unclosed tag: 400
    await bot.runtime.scheduler.run_once()
    (row,) = await deliveries(bot)
    assert row.status is DeliveryStatus.failed and "parse entities" in row.last_error
    await alice.expect_no_message(within=0.3)
    assert len(emu.violations) == 1  # the one we caused on purpose
    emu.violations.clear()


async def test_blocked_and_deactivated_members_are_listed_for_the_secretary(
    bot: RunningBot,
) -> None:
    emu = bot.emulator
    await seed_org(bot.database)
    secretary = emu.user("Sec", language_code="en")
    await grant(bot.database, secretary, "secretary", "wanda-plaza")
    await meet(secretary)
    payload = await invite_payload_of(bot.database, "wanda-plaza")
    members = []
    for index, name in enumerate(("Blocker", "Gone", "Fine")):
        person = emu.user(name, language_code="en", phone=f"+86139000000{index}")
        await onboard(person, name, REGULAR, payload=payload)
        await person.next_message()
        await secretary.next_message()
        await secretary.press(t("en", "report.approve_button"))
        await secretary.next_event()
        await person.next_message()
        members.append(person)
    blocker, gone, fine = members

    emu.block(blocker)  # Telegram sends my_chat_member: the bot learns at once
    emu.deactivate(gone)  # no update: the bot learns when a send fails with 403
    await enqueue_to(bot, [blocker.id, gone.id, fine.id])
    await bot.runtime.scheduler.run_once()
    assert (await fine.next_message()).text.startswith("Notice")

    async with bot.database.sessions() as session:
        unreachable = {
            m.real_name
            for m in await session.scalars(select(Member).where(Member.unreachable_at.is_not(None)))
        }
    assert unreachable == {"Blocker", "Gone"}
    await secretary.send("/unreachable")
    listing = await secretary.next_message()
    assert "Blocker" in listing.text and "Gone" in listing.text and "Fine" not in listing.text
    assert "+861390000000" in listing.text  # a number to call instead

    emu.block(blocker, blocked=False)  # they unblock: reachable again
    for _ in range(50):
        async with bot.database.sessions() as session:
            member = await session.scalar(select(Member).where(Member.real_name == "Blocker"))
        if member.unreachable_at is None:
            break
        await asyncio.sleep(0.05)
    assert member.unreachable_at is None


def silent(emu: Emulator, chat_id: int) -> list[bool]:
    """Whether each message sent to this chat was sent without a sound, in order."""
    return [
        call.params.get("disable_notification") in (True, "true")
        for call in emu.calls("sendMessage")
        if str(call.params.get("chat_id")) == str(chat_id) and call.status == 200
    ]


async def test_quiet_hours_send_a_report_card_silently_and_hold_the_rest(bot: RunningBot) -> None:
    """A report card is one message to one secretary, who wants it promptly: at night it
    comes at once, without a sound; what is not a card (a notice, the decision) waits."""
    emu = bot.emulator
    await seed_org(bot.database)
    secretary = emu.user("Sec", language_code="en")
    await grant(bot.database, secretary, "secretary", "wanda-plaza")
    await meet(secretary)
    bot.clock.set(bot.clock.now().replace(hour=15, minute=0))  # 23:00 in Zhanjiang
    member = emu.user("Night Owl", language_code="en", phone="+8613700000009")
    payload = await invite_payload_of(bot.database, "wanda-plaza")
    await onboard(member, "Night Owl", REGULAR, payload=payload)
    assert (await member.next_message()).text == said("en", "report.sent", unit=WANDA)
    card = report_card("Night Owl", "+8613700000009", sent="2026-03-10 23:00")
    assert (await secretary.next_message()).text == card
    assert silent(emu, secretary.id) == [False, True]  # /help's answer, then the card

    # The secretary approves at once; the member hears of it in the morning.
    await secretary.press(t("en", "report.approve_button"))
    await secretary.next_event()
    await bot.runtime.scheduler.run_once()
    await member.expect_no_message(within=0.3)
    (decided,) = [d for d in await deliveries(bot) if d.kind == "report_decided"]
    assert decided.status is DeliveryStatus.pending
    assert decided.due_at == bot.clock.now().replace(hour=0) + timedelta(days=1)  # 08:00 local

    bot.clock.advance(timedelta(hours=9))  # 08:00
    await bot.runtime.scheduler.run_once()
    assert (await member.next_message()).text == said("en", "report.approved", unit=WANDA)
    assert silent(emu, member.id)[-1] is False  # by day, with a sound


async def test_urgent_messages_ignore_quiet_hours(bot: RunningBot) -> None:
    alice = bot.emulator.user("Alice", language_code="en")
    bot.clock.set(bot.clock.now().replace(hour=16))  # midnight in Zhanjiang
    async with bot.database.sessions.begin() as session:
        await outbox.enqueue(
            session,
            alice.id,
            "Today's meeting is cancelled",
            kind="cancellation",
            due_at=bot.clock.now(),
            timezone="Asia/Shanghai",
            urgent=True,
        )
    await bot.runtime.scheduler.run_once()
    assert (await alice.next_message()).text == "Today's meeting is cancelled"


async def test_the_daily_digest(bot: RunningBot) -> None:
    emu = bot.emulator
    await seed_org(bot.database)
    secretary = emu.user("Sec", language_code="en")
    await grant(bot.database, secretary, "secretary", "wanda-plaza")
    await meet(secretary)
    quiet_secretary = emu.user("Quiet Sec", language_code="en")
    await grant(bot.database, quiet_secretary, "secretary", "huaduhui")
    await meet(quiet_secretary)

    bot.clock.set(bot.clock.now().replace(hour=3))  # 11:00 local
    member = emu.user("Waiting", language_code="en", phone="+8613700000010")
    payload = await invite_payload_of(bot.database, "wanda-plaza")
    await onboard(member, "Waiting", REGULAR, payload=payload)
    await member.next_message()

    card = report_card("Waiting", "+8613700000010", sent="2026-03-10 11:30")
    assert (await secretary.next_message()).text == card
    bot.clock.set(bot.clock.now().replace(hour=11, minute=59))  # 19:59: not yet
    await bot.runtime.scheduler.run_once()
    assert [d.kind for d in await deliveries(bot)] == ["report_card"]

    bot.clock.advance(timedelta(minutes=1))  # 20:00, the digest hour (in these tests)
    await bot.runtime.scheduler.run_once()
    digest = await secretary.next_message()
    assert digest.text.startswith(said("en", "digest.title"))
    assert said("en", "digest.pending_reports", count=1) in digest.text

    bot.clock.advance(timedelta(hours=1))  # later the same day: not again
    await bot.runtime.scheduler.run_once()
    await secretary.expect_no_message(within=0.3)
    await quiet_secretary.expect_no_message(within=0.1)  # nothing to say: no message
    assert [d.kind for d in await deliveries(bot)].count("digest") == 1


async def test_a_leader_whose_term_is_over_stops_and_leads_again_in_a_new_one(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Another leader counted the term up (as one that took a cut lock would): this
    process's sender stops at once, and takes the lead again in a new term."""
    emu = bot.emulator
    first = [emu.user(f"First {n}", started=True) for n in range(5)]
    later = [emu.user(f"Later {n}", started=True) for n in range(5)]
    scheduler = bot.runtime.scheduler
    assert scheduler is not None
    await enqueue_to(bot, [p.id for p in first], "Before", urgent=True)
    for person in first:
        assert (await person.next_message()).text == f"Before for {person.id}"
    term = scheduler.leadership.term
    assert term is not None
    async with bot.database.sessions.begin() as session:
        await session.execute(update(SchedulerLeadership).values(term=SchedulerLeadership.term + 1))
    await enqueue_to(bot, [p.id for p in later], "After", urgent=True)
    for person in later:
        assert (await person.next_message(timeout=30)).text == f"After for {person.id}"
    assert f"scheduler term {term.number} is over" in caplog.text
    new_term = scheduler.leadership.term
    assert new_term is not None and new_term.number == term.number + 2
    assert Counter(chat_id for _, chat_id in emu.stats.sends) == Counter(
        p.id for p in first + later
    )
    for _ in range(100):  # the sender records `sent` just after Telegram answers
        if {d.status for d in await deliveries(bot)} == {DeliveryStatus.sent}:
            break
        await asyncio.sleep(0.05)
    assert {d.status for d in await deliveries(bot)} == {DeliveryStatus.sent}
