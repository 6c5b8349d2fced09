"""Chat, help and stop requests in words, and a text that is one command as a whole."""

from __future__ import annotations

import re
from collections.abc import Sequence

from messages.intent import whole_command
from messages.understand.readings import Reading, ReadingKind

CHAT = re.compile(
    r"^(?:(?:thank you|thankyou|thanks|thanx|thx|ty|cheers|ta|lovely|great|brilliant|perfect|"
    r"ok|okay|k|kk|fine|good|grand|noted|got it|understood|hello|hi|hiya|hey|good "
    r"(?:morning|afternoon|evening|night)|morning|evening|bless you|god bless|merry christmas|"
    r"happy (?:christmas|new year|easter|birthday|holidays)|season s greetings|love|xx+|x|"
    r"lol|haha|you re welcome|youre welcome|no problem|np|sorry|bye|goodbye|see you|take "
    r"care|have a (?:nice|good|lovely) (?:day|evening|weekend)|much appreciated|appreciate "
    r"it|to (?:all )?(?:the|you)?\s*(?:nurses|team|staff|everyone|all)|all|you|the|so much|"
    r"very much|for|your help|everything|and|dear|nurse|nurses|team|staff|everyone|doctor|"
    r"doc|again|really|as always|wonderful|amazing|kind|very|same to you|too|all of you|"
    r"happy|christmas|new year|pal|mate|m8|hun|hon|darling|duck|bud|buddy|chick|petal|\s)+)$"
)
HELP = re.compile(
    r"\bwhat (?:can|do) (?:you|i) (?:do|reply|say|text|ask|send)\b|\bhow (?:does|do) (?:this|"
    r"it|you) work\b|\bhow (?:do i|to) use (?:this|it|you)\b|\bwhat words\b|\b(?:wot|wat|"
    r"what) can i (?:ask|say|text|send)\b|\bconfused by (?:these|the|this) (?:messages|texts)\b|"
    r"\bwhat (?:are|r) (?:these|the) (?:messages|texts) for\b|\bwhat do you understand\b|"
    r"\binstructions\b|^(?:who|what) (?:is|s) (?:this|that|texting me|messaging me)\b|"
    r"^who (?:are|r) (?:you|u)\b|\bwho is (?:this|texting me)\b"
)
STOP_REQUEST = re.compile(
    r"\bunsubscribe\b|\bno longer (?:wish|want) to (?:receive|get)\b|\b(?:texts|messages|"
    r"reminders) (?:to )?stop\b|\bcan (?:the|these) (?:texts|messages|reminders) stop\b|"
    r"\b(?:stop|no more|dont want|don't want|do not want|take me off|remove me|"
    r"opt me out|cancel|cease|quit|pause|fed up (?:of|with)|sick of|enough of)\b.{0,40}\b(?:messages?|msgs?|texts?|reminders?|sms|notifications|"
    r"sending|texting|messaging|contacting|this service|these)\b|\bstop (?:sending|texting|"
    r"messaging|contacting|bothering)\b|\bleave me alone\b|\btake me off (?:the|your|this|"
    r"that) list\b|\bopt (?:me )?out\b|\b(?:turn|switch) (?:these|this|them|it|the "
    r"(?:messages|texts|reminders)) off\b|"
    # "please don't text me anymore, my son does my tablets now"
    r"\b(?:dont|do not|no need to|no need for you to) (?:text|txt|message|msg|remind|contact|"
    r"send) (?:me|us|him|her|mum|dad)(?: \w+)? (?:any ?more|again|from now on|now)\b|"
    r"\b(?:quit|cease) (?:texting|txting|textin|messaging|sending|contacting)\b"
)


_GREETINGS = frozenset({"HI", "HELLO", "HEY"})


def whole_message(text: str, toks: Sequence[str]) -> Reading | None:
    """A text that is one command as a whole, carrier-style (STOP, START, HELP, a menu
    number, a bare yes or no to "did you take it?"); a bare greeting is chat."""
    found = whole_command(text, toks)
    if found is None:
        return None
    if found.kind == "help" and " ".join(toks).upper() in _GREETINGS:
        return Reading("chat", text)
    kind: ReadingKind = found.kind  # type: ignore[assignment]
    return Reading(kind, text, choice=found.choice)
