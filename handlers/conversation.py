"""The one engine for every multi-step question: the profile, /new, reasons, pledges, check-in.

A conversation is a name and its steps, declared in one place in the feature's
module. The open step is stored on the account ("<conversation>.<step>", its data
beside it; see models.account), so a half-answered question survives a restart and
works whichever process gets the next update. A step says how it is asked and which
answers it takes (text, a shared contact, a location, a file, a moment picked on the
date picker); any other answer gets the
step's hint. A refusal of an answer (a domain error) keeps the question open when
the answer was malformed (InvalidInput: try again) and closes it otherwise (the
thing asked about has gone away); see handlers.errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import Contact, Location, Message, ReplyKeyboardMarkup, Update

from handlers.context import BotContext
from handlers.ui import say
from models.account import close_question, get_question, set_question
from views.buttons import StaleButton

Data = dict[str, Any]
Ask = Callable[[Update, BotContext, "State"], Awaitable[None]]


@dataclass(frozen=True)
class Step:
    name: str
    ask: Ask
    on_text: Callable[[Update, BotContext, State, str], Awaitable[None]] | None = None
    on_contact: Callable[[Update, BotContext, State, Contact], Awaitable[None]] | None = None
    on_location: Callable[[Update, BotContext, State, Location], Awaitable[None]] | None = None
    # A photo, a document or any other attachment (a step that takes files says which).
    on_media: Callable[[Update, BotContext, State, Message], Awaitable[None]] | None = None
    # A moment picked on the date picker (handlers.picker): a day, then a time of it.
    on_moment: Callable[[Update, BotContext, State, datetime], Awaitable[None]] | None = None
    # Said when the answer is of a kind this step does not take; `reask` puts it again.
    hint: str = "profile.use_buttons"
    reask: bool = False
    # A reply keyboard the step shows (share contact, share location): shown again with
    # a refusal that keeps the question open, removed with one that closes it.
    keyboard: Callable[[BotContext], ReplyKeyboardMarkup] | None = None


@dataclass
class State:
    conversation: Conversation
    step: Step
    data: Data = field(default_factory=dict)


CONVERSATIONS: dict[str, Conversation] = {}


class Conversation:
    def __init__(self, name: str, steps: Sequence[Step]) -> None:
        if name in CONVERSATIONS or "." in name:
            raise ValueError(f"bad or repeated conversation name: {name}")
        self.name = name
        self.steps = {step.name: step for step in steps}
        self.order = tuple(self.steps)
        CONVERSATIONS[name] = self

    async def ask(
        self, update: Update, context: BotContext, step: str, data: Data | None = None
    ) -> None:
        """Open `step` (with the conversation's data) and put its question."""
        assert update.effective_user
        state = State(self, self.steps[step], dict(data or {}))
        await self.save(context, update.effective_user.id, state)
        await state.step.ask(update, context, state)

    async def save(self, context: BotContext, telegram_id: int, state: State) -> None:
        question = f"{self.name}.{state.step.name}"
        await set_question(context.session, telegram_id, question, state.data)

    async def state(self, context: BotContext, telegram_id: int) -> State | None:
        """This conversation's open step, if it is the open one."""
        state = await open_state(context, telegram_id)
        return state if state is not None and state.conversation is self else None

    async def require(self, context: BotContext, telegram_id: int, *steps: str) -> State:
        """The open step, for a button that belongs to it; StaleButton for an old button."""
        state = await self.state(context, telegram_id)
        if state is None or (steps and state.step.name not in steps):
            raise StaleButton(self.name)
        return state

    async def end(self, context: BotContext, telegram_id: int) -> None:
        await close_question(context.session, telegram_id)


async def open_state(context: BotContext, telegram_id: int) -> State | None:
    """Whatever question is open for this person, in any conversation."""
    question, data = await get_question(context.session, telegram_id)
    name, _, step = (question or "").partition(".")
    conversation = CONVERSATIONS.get(name)
    if conversation is None or step not in conversation.steps:
        return None
    return State(conversation, conversation.steps[step], dict(data or {}))


async def answer(update: Update, context: BotContext) -> bool:
    """A message answers the open question, if there is one: False when there is none."""
    message, user = update.effective_message, update.effective_user
    assert message and user
    state = await open_state(context, user.id)
    if state is None:
        return False
    step = state.step
    context.work.answering = step
    if has_media(message) and step.on_media is not None:
        await step.on_media(update, context, state, message)
    elif message.text is not None and step.on_text is not None:
        await step.on_text(update, context, state, message.text)
    elif message.contact is not None and step.on_contact is not None:
        await step.on_contact(update, context, state, message.contact)
    elif message.location is not None and step.on_location is not None:
        await step.on_location(update, context, state, message.location)
    else:
        context.work.answering = None
        say(update, context, context.t(step.hint))
        if step.reask:
            await step.ask(update, context, state)
    return True


def has_media(message: Message) -> bool:
    """A file of any kind: what a step with `on_media` is given (and may refuse)."""
    return bool(
        message.photo
        or message.document
        or message.video
        or message.audio
        or message.voice
        or message.animation
        or message.sticker
        or message.video_note
    )
