"""Whether a clause asks, and whether it asks about a risk in general, not a sign happening now."""

from __future__ import annotations

import re
from collections.abc import Sequence

from messages.understand.not_now import CAN_CAUSE

_QUESTION_STARTS = frozenset({"can", "could", "should", "shall", "do", "does", "is", "are", "am",
                              "will", "would", "what", "when", "how", "why", "which", "where",
                              "did", "may", "must", "any", "wat", "wot", "whats", "hows",
                              "wen", "cn", "shud", "shld", "r"})  # fmt: skip
# Routine topics that are about a serious risk: a general question about them is a question
# about warning signs ("should I worry about infections?").
RISK_TOPICS = frozenset({"infection", "warning-signs", "flu-like"})
# Words that make a question about infection one about its warning signs.
RISKY = re.compile(
    r"\b(?:signs?|symptoms?|watch|look out|worry|worried|at risk|risk|risks|danger|dangerous|"
    r"when (?:do|should) i (?:call|ring)|what does .{1,30} mean|feel like|temp|temperature|"
    r"thermometer|sepsis|neutropenic|neutrophils|white cell|serious|people get|do people|"
    r"how bad|how likely|immune system|immunity|lower (?:your|my) immune)\b"
)
_RISK_WORDS = ("likely", "more easily", "counts as", "what is a", "how high", "how do i tell",
               "what temperature", "should i watch", "risk", "risks", "chance", "chances", "signs", "sign", "symptoms",
               "symptom", "cause", "causes", "side effect", "side effects", "watch out",
               "look out", "what happens if", "what if", "how do i know", "how would i know",
               "how will i know", "what are", "prone", "increase", "danger", "dangerous")  # fmt: skip
# "I have ...", "my leg is ...": a symptom happening now, even in a question.
_HAPPENING = re.compile(
    r"\b(?:i\s+(?:have|ve|got|am|m|feel|felt|keep|cant|can't|been|woke|noticed|just)\b|"
    r"ive\s+(?:got|been|had|noticed)|im\s+(?:having|getting|feeling|coughing|bleeding|"
    r"shaking|shivering|burning|being)|my\s+\w+\s+(?:is|are|has|have|feels|keeps|wont|"
    r"won't)|i\s+m\b|there\s+is\s+blood|theres\s+blood|since\s|today|tonight|this\s+morning|"
    r"now|at\s+the\s+moment|currently|all\s+day|last\s+night|keep\s+getting)",
    re.IGNORECASE,
)


_ASKING = re.compile(
    r"\b(?:can|could|should|shall|do|may|must|am) i\b|\bis it (?:ok|okay|safe|alright|"
    r"too late)\b|\bam i (?:allowed|ok|okay|supposed)\b"
)


_SUBJECTS = frozenset({"i", "it", "my", "this", "the", "you", "we", "they", "he", "she", "that"})


_FILLERS = frozenset({"ok", "okay", "so", "just", "checking", "quick", "question", "one", "um",
                      "erm", "hi", "hello", "and", "also", "but", "sorry", "oh"})  # fmt: skip
_ASKED_IN_WORDS = re.compile(
    r"\b(?:wants? to know|wondering|i wonder|(?:he|she|they) asks?|asking)\b|"
    r"\bor (?:not|no|something else|expected|just part of it|is it|what)$"
)


def is_question(clause: str, toks: Sequence[str]) -> bool:
    if "?" in clause or _ASKING.search(" ".join(toks)) or _ASKED_IN_WORDS.search(" ".join(toks)):
        return True
    while toks and toks[0] in _FILLERS and len(toks) > 1:
        toks = toks[1:]  # "ok so if I feel faint...", "just checking, ..."
    if tuple(toks[:1]) == ("if",) or tuple(toks[:2]) == ("what", "if"):
        return True  # "if my poo goes black, what does it mean": a condition, not a report
    if not toks or toks[0] not in _QUESTION_STARTS:
        return False
    # "May have taken an extra one" tells; "may I have a drink" asks.
    if toks[0] in ("may", "must") and (len(toks) < 2 or toks[1] not in ("i", "we", "he", "she")):
        return False
    # "Will have it with my tea" tells; "will I lose my hair" asks.
    if toks[0] in ("will", "would", "shall") and len(toks) > 1:
        return toks[1] in _SUBJECTS or toks[1] in _QUESTION_STARTS
    return True


# "If I get a temperature...", "how will I know...", "what does a clot feel like": about a
# sign that might come, not one that has.
HYPOTHETICAL = re.compile(
    r"\b(?:if i|if my|if it|if you|if the|what if|in case|could i|could that|could it|can i get|"
    r"if (?:she|he|mum|mom|dad|we|they|hubby|the wife|my husband|my wife) (?:gets?|has|have|starts?|"
    r"develops?|goes|feels?|runs?)|is (?:this|that|it) true|what (?:would |will )?happens? if|"
    r"what (?:do|should|would) (?:we|i) do if|"
    # what the drug can do, asked about ("can lenalidomide cause ...", "it can give you ...")
    + CAN_CAUSE.pattern + "|"
    r"will i|would i|how will i|how would i|how do i know|what does .{1,30} (?:feel|look) like|"
    r"what does .{1,30} mean|what (?:would|will|do|does) .{1,30} (?:feel|look) like|"
    r"\bshould (?:i|he|she|we) (?:develop|get|have) (?:a|an)\b|\bis it possible to (?:have|get)\b|"
    r"\b(?:am i|is (?:he|she)) going to get\b|\bshould i (?:worry|be worried) if\b|"
    r"\bhow (?:do |would |will |can )?(?:we|i|you) know if\b|"
    r"is (?:this|it|the) (?:\w+ )?(?:making|causing|giving) (?:me |you |her |him )?(?:a )?"
    r"(?:blood )?clots?\b|"
    r"is it normal to (?:\w+ )?(?:bleed|bruise|get|have|feel) (?:more|easily|a lot)|"
    r"should i (?:be )?check\w* (?:my|for)|how (?:can|do|could) i (?:avoid|prevent|stop) (?:that|it|"
    r"this|getting|a|an)|is it dangerous|who do i (?:ring|call|phone)|when "
    r"(?:should|do|would) i (?:call|ring|phone|contact|go|worry)|should i worry|does it (?:make|"
    r"cause|affect|increase)|do i need (?:a|to)|what number|at what|am i at risk|more likely|"
    r"how long can|more at risk|at (?:more|higher|greater|any) risk|"
    r"can it (?:make|give|cause) (?:you|me|people)|should i be (?:worried|concerned)|"
    r"(?:worried|worry|concerned) about (?:getting|having|a|bleeding|clots|infections?)|"
    r"(?:can|could|might|will|would) (?:it|this|that|(?:this|the|these) \w+|lenalidomide|revlimid) "
    r"(?:make|give|cause|bring on|bring back|raise|increase)|how common|how often do (?:people|"
    r"patients)|"
    r"(?:something|a thing) (?:that )?(?:can|could|might) happen|can happen (?:with|on|to)|"
    r"(?:does|do|will|would) (?:this|the|these) (?:drug|tablet|tablets|medicine|capsule|"
    r"capsules|treatment|pills?) (?:make|cause|give|increase|thicken|bring on)|"
    r"(?:does|do|will) (?:lenalidomide|revlimid) (?:make|cause|give|increase)|do people get|"
    r"people (?:get|have had)|is it true|how serious|how bad can|before (?:ringing|calling|"
    r"phoning|i ring|i call|i phone)|how long should i (?:leave|wait))\b"
)


# Ways of asking about a sign in general ("is breathlessness serious on this or just part of
# it?", "would vomiting blood be a side effect or something else?", "at what point is
# diarrhoea an emergency?"): a risk question unless the sign is told as happening (checked
# first, so "I have a temp of 38.5, is that an emergency?" stays the red flag).
GENERAL_FORMS = re.compile(
    r"\b(?:(?:is|are|would|could|will) .{1,40} (?:be )?(?:serious|dangerous|an emergency|a worry|"
    r"something to (?:report|worry about|phone about|ring about|call about|mention)|a reason to "
    r"(?:call|ring|phone)|a side effect)(?: on this| or\b| with this|$)|"
    r"or (?:just )?(?:part of it|expected|something else|just mention|not|no)$|at what point|"
    r"what (?:kind|sort|type) of .{1,25} (?:would be|is|counts as)|how (?:many|long|much) .{1,30} "
    r"before (?:i|we|you) (?:should )?(?:call|ring|phone|worry)|(?:can|do|does|could) (?:you|people|"
    r"patients|i) (?:still )?get .{1,30} (?:from|on|with|more|if)|does it thin|what do (?:they|you) "
    r"mean by|should (?:he|she|i|we) watch for|how likely is|how quickly|the (?:heart attack|clot|"
    r"stroke|sepsis|infection|bleeding) one|cut ?off|threshold|what s the difference between|"
    r"whats the difference between|leaflet (?:says|said|mentions)|why is that|is (?:it|that|this) "
    r"for (?:the )?\w+|why do (?:i|we) (?:have|need) to take|more at risk|at (?:more|higher|greater) "
    r"risk|be at risk|(?:is|are) (?:there )?(?:more|higher|bigger|any|a) risk|is (?:this|that) "
    r"true|i (?:heard|read|was told) (?:that )?(?:it|this|the drug|lenalidomide|revlimid) (?:can|"
    r"could|may|might) (?:cause|give)|or just (?:me|my) "
    r"age|or just (?:old age|normal|my age)|could it (?:turn|get|become) (?:nasty|serious|bad|dangerous)|"
    r"is it (?:bad|dangerous|safe|ok|okay) to (?:fly|travel)|does it mess with|(?:could|can|would|"
    r"will) (?:my|i|it|you) .{1,25} (?:from it|from this|from these|on this|on it))"
)


_WORRY_NOW = re.compile(
    r"\bshould i (?:be )?(?:worried|concerned)\b|\bshould i worry\b|\bis (?:it|this|that) "
    r"(?:normal|ok|okay|a problem|serious)\b"
)


# Whether to take today's capsule given a sign: the sign is the patient's now.
_DOSE_IF_NOW = re.compile(
    r"\b(?:should|can|do|shall|must) i (?:still )?(?:take|have) (?:it|my|the|todays|today s|a|one|"
    r"this)\b.{0,25}\b(?:if|when|while|as|because|with) (?:my|i m|im|i am|i have|ive got|i ve got)\b"
)


# "I'm worried about getting sepsis": a worry about what may come, asked without a "?".
WORRIED_ABOUT_GETTING = re.compile(
    r"\b(?:worried|worry|worrying|scared|frightened|afraid|anxious|nervous) (?:about|of) "
    r"(?:me |him |her |them )?(?:getting|catching|having|developing|a|an)\b"
)


def risk_question(clause: str, toks: Sequence[str]) -> bool:
    """A question about a risk in general, not a sign happening now."""
    joined = " ".join(toks)
    if not is_question(clause, toks) and not WORRIED_ABOUT_GETTING.search(joined):
        return False
    if _WORRY_NOW.search(joined) and _HAPPENING.search(clause):
        return False  # "should I be worried my poo is black?": it is black now
    if re.search(r"\b(?:could|might|may|can) (?:i|she|we) be (?:pregnant|expecting)\b", joined):
        return False  # "could I be pregnant?" is the possible pregnancy itself
    if _DOSE_IF_NOW.search(joined):
        return False  # "should I take my capsule if my gums are bleeding?": they are, now
    if HYPOTHETICAL.search(joined):
        return True
    if _HAPPENING.search(clause):
        return False
    if GENERAL_FORMS.search(joined) or RISK_ASKED.search(joined):
        return True
    if RISK_ASKED_ON_THIS.search(joined) and _ON_THIS.search(joined):
        return True
    return any(re.search(rf"\b{re.escape(w)}\b", joined) for w in _RISK_WORDS)


# Questions about the pregnancy risk itself, not a possible pregnancy now: "what happens if I
# get pregnant on this?", "could the drug hurt my baby if I got pregnant?".
PREGNANCY_RISK = re.compile(
    r"\b(?:what (?:happens|would happen|will happen)|what if|how dangerous|is it dangerous|"
    r"if (?:my )?(?:girlfriend|partner|wife|i) (?:get|gets|got|become|becomes|became) pregnant|"
    r"(?:can|could|will|would|might) (?:it|this|this drug|the drug|lenalidomide|revlimid|these "
    r"capsules|the capsules?|these tablets) (?:cause|hurt|harm|damage|affect)|"
    r"could (?:it|the drug|this|lenalidomide|revlimid) (?:hurt|harm|damage)|does (?:it|this|the "
    r"drug|lenalidomide|revlimid) cause)\b.{0,60}\b(?:pregnant|pregnancy|baby|birth defects?|miscarriage|miscarry|miscarrying)\b"
)
PREGNANT_NOW = re.compile(
    r"\b(?:i am|im|i m|might be|may be|could be|think i m|think im|might i be|could i be) "
    r"(?:pregnant|expecting)\b|\blate period|\bperiod (?:is|s) late|\bpositive\b|\bmissed (?:my|a) period"
)
# Which signs call for the team: the warning signs, with when to call.
WHICH_SIGNS = re.compile(
    r"\b(?:what|which) (?:signs?|symptoms?|side effects?)\b.{0,40}\b(?:ring|call|phone|contact|"
    r"hospital|straight away|urgent|emergency|serious)\b|\bserious enough to (?:ring|call|phone)\b|"
    r"\bwhat(?: s| is) the risk of\b|\bwhat are the risks\b"
)


# "Is there a chance this could affect my heart?": a risk to an organ, asked in general.
ORGAN_RISK = re.compile(
    r"\b(?:chance|risk|likely|possible|can|could|will|would|might|does)\b.{0,30}\b(?:affect|"
    r"damage|harm|hurt|weaken|strain)\w*\b.{0,20}\b(heart|lungs?|brain)\b|\brisk (?:for|to) (?:my |"
    r"your |the )?(heart|lungs?|brain)\b"
)


# When a routine symptom becomes urgent: "at what point is diarrhoea an emergency?", "what kind
# of headache would be an emergency", "how many days of the runs before I should call".
WHEN_URGENT = re.compile(
    r"\bat what point\b|\bwhat (?:kind|sort|type) of .{1,25} (?:would be|is|counts as) (?:an )?"
    r"(?:emergency|urgent|serious|dangerous)\b|\bhow (?:many|long|much) .{1,30} before (?:i|we|you) "
    r"(?:should )?(?:call|ring|phone|worry)\b|\bwhen (?:is|does) .{1,30} (?:an emergency|urgent|"
    r"serious|dangerous)\b|\bhow high (?:does|should|can|must) .{1,25} (?:be|get)\b|\bbefore i "
    r"(?:worry|call|ring|phone)\b|\ba sign of something (?:serious|bad|worse)\b|\bdo i (?:need|have) "
    r"to (?:come in|call|ring|go to)\b.{0,30}\beven if\b"
)


def general_risk(joined: str) -> str | None:
    """The topic of a general question about a serious risk that no sign word carries, or
    None: the pregnancy risk, or which signs call for the team."""
    if PREGNANCY_RISK.search(joined) and not PREGNANT_NOW.search(joined):
        return "possible-pregnancy"
    if WHICH_SIGNS.search(joined) or WHEN_URGENT.search(joined):
        return "warning-signs"
    organ = ORGAN_RISK.search(joined)
    if organ is not None:
        return "heart-attack" if "heart" in (organ.group(1), organ.group(2)) else "warning-signs"
    return None


# Asking when to call: "what temp do I ring you at", "at what temperature should I contact you",
# "what signs mean we go straight to A&E?", "when should I go to the ER vs just call".
_EMERGENCY = r"(?:a e|a and e|ae|er|emergency|casualty|999|911|ambulance)"
WHEN_TO_CALL = re.compile(
    r"\b(?:what|which|at what|whats the|what s the|what is the) (?:temp|temperature|reading|number on the thermometer)\b.{0,40}"
    r"\b(?:call|ring|phone|contact|worry|go in|get help|text)\b|\bat what (?:temp|temperature|point)\b|"
    r"\bwhat (?:signs?|symptoms?)\b.{0,40}\b(?:" + _EMERGENCY + r"|call|ring|straight)\b|"
    r"\bwhen (?:should|do|would|to) (?:i|we)? ?(?:go to|call|ring|phone) (?:the )?" + _EMERGENCY
    + r"\b|\b" + _EMERGENCY + r" (?:vs|or|versus) (?:just )?(?:call|ring|text)"
)

# "What happens if my grandkid swallows one of these?": a question about what could happen.
WHAT_IF = re.compile(r"^(?:so )?what (?:would |will |could )?happens? if\b|^what if\b")


def when_to_call(joined: str, question: bool) -> str | None:
    """The topic whose signs answer a question about when to call ("what temp do I call you
    at?": fever; "what signs mean we go to A&E?": warning-signs), or None."""
    if not WHEN_TO_CALL.search(joined) or not (
        question or re.search(r"\b(?:ask|know|wondering|tell me)\b|^(?:what|when|at what) ", joined)
    ):
        return None
    return "fever" if re.search(r"\b(?:temp|temperature|fever|degrees)\b", joined) else "warning-signs"


# Questions about a risk that say so in their words, counted only where nothing says the sign
# is happening ("my gums are bleeding, is that a risk with this?" is a sign now): "how many
# times is too many?", "risk of clots on this?", "does that mean I'll bleed more?", "what is
# mean black stool?", "will it not stop bleeding?", "can the medicine make him fall?".
RISK_ASKED = re.compile(
    r"\bhow high\b|\bhow (?:many|much) (?:times )?is too (?:many|much)\b|\bincrease (?:my|the|his|"
    r"her) risk\b|\brisk of\b|\ba risk (?:with|on|of|for)\b|\bdoes (?:that|this|it) mean (?:i ll|ill|"
    r"i will|i m|im)\b|\bwhat (?:is )?means?\b|\bwhat is (?:the )?meaning of\b|\bwill it not stop\b|"
    r"\b(?:can|could|does|will|would) (?:it|this|the|these) (?:\w+ )?(?:make|give|cause)\b"
)
# Weaker ones, counted only with the drug named as the frame: "is a nosebleed owt to worry
# about on these tablets?", "is a cold a big deal for me on this?" (not "coughing up blood,
# something to watch for?", which may be happening).
RISK_ASKED_ON_THIS = re.compile(
    r"\bserious\b|\ba big deal\b|\bsomething to be (?:concerned|worried) about\b|\b(?:anything|"
    r"something) to (?:worry about|watch for|look out for)\b|\bor (?:can|should) it wait\b"
)
_ON_THIS = re.compile(
    r"\b(?:on|with|while on|taking) (?:this|these|it|them|lenalidomide|revlimid|the (?:drug|"
    r"tablets?|capsules?|medicine|treatment)|these (?:tablets?|capsules?|pills?))\b"
)
