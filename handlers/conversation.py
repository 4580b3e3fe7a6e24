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

An answer belongs to its question. A question put without buttons of its own comes
with ForceReply (its input field saying what to type), so that the answer is a reply
to it; the message that put it is remembered. A reply to another message of the
bot's is not taken for the answer when that message came earlier than the question
(an earlier question, whose answer this is not) or was one the bot sent on its own
(an invitation or a notice that arrived meanwhile): the person is told so, and the
open question is put again, last. A message that replies to nothing answers the
open question, as does a reply to anything the bot said since it was put.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import Contact, ForceReply, Location, Message, ReplyKeyboardMarkup, Update

from handlers.context import BotContext
from handlers.ui import Markup, say
from models.account import close_question, get_question, question_put, set_question
from models.outbox import sent_on_its_own
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
    # What the input field says while the answer is typed (at most 64 characters).
    placeholder: str = "conversation.placeholder"

    @property
    def typed(self) -> bool:
        """Whether the answer is typed (or a file sent): asked with ForceReply."""
        return self.on_text is not None or self.on_media is not None


@dataclass
class State:
    conversation: Conversation
    step: Step
    data: Data = field(default_factory=dict)
    prompt: int | None = None  # the message that put the question, once known

    @property
    def question(self) -> str:
        return f"{self.conversation.name}.{self.step.name}"


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
        await put(update, context, state)

    async def save(self, context: BotContext, telegram_id: int, state: State) -> None:
        question = state.question
        if state.prompt is not None:
            question += f"#{state.prompt}"
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
    question, _, prompt = (question or "").partition("#")
    name, _, step = question.partition(".")
    conversation = CONVERSATIONS.get(name)
    if conversation is None or step not in conversation.steps:
        return None
    put_by = int(prompt) if prompt.isdigit() else None
    return State(conversation, conversation.steps[step], dict(data or {}), put_by)


@dataclass
class Asking:
    """The question being put (handlers.ui.say_to sends its message through here): a
    typed answer is asked for with ForceReply, and the message is remembered as the
    question's, once it is there."""

    context: BotContext
    chat_id: int
    state: State

    def markup(self, markup: Markup | None) -> Markup | None:
        step = self.state.step
        if markup is not None or not step.typed:
            return markup
        return ForceReply(input_field_placeholder=self.context.t(step.placeholder))

    async def sent(self, message_id: int) -> None:
        """The message is there (after the commit: a transaction of its own)."""
        if self.state.prompt is not None:
            return  # put again: the question keeps the message that first put it
        async with self.context.services.sessions.begin() as session:
            await question_put(session, self.chat_id, self.state.question, message_id)


async def put(update: Update, context: BotContext, state: State) -> None:
    """Put the open step's question (again, when its answer was refused or went astray)."""
    assert update.effective_user
    work = context.work
    work.asking = Asking(context, update.effective_user.id, state)
    try:
        await state.step.ask(update, context, state)
    finally:
        work.asking = None


async def answer(update: Update, context: BotContext) -> bool:
    """A message answers the open question, if there is one: False when there is none."""
    message, user = update.effective_message, update.effective_user
    assert message and user
    state = await open_state(context, user.id)
    if state is None:
        return False
    if await _answers_another_message(context, message, state):
        say(update, context, context.t("conversation.answer_elsewhere"))
        await put(update, context, state)
        return True
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
            await put(update, context, state)
    return True


async def _answers_another_message(context: BotContext, message: Message, state: State) -> bool:
    """Whether the message replies to a message of the bot's that is not this question's:
    one from before it was put, or one the bot sent on its own (see the module's notes)."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
        return False
    if replied.message_id == state.prompt:
        return False
    if state.prompt is not None and replied.message_id < state.prompt:
        return True
    return await sent_on_its_own(context.session, message.chat.id, replied.message_id)


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
