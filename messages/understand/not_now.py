"""Words of a warning sign that tell of no sign happening now: idioms that borrow them, a sign
explained away, shivers put down to the weather, what the drug can do told as hearsay."""

from __future__ import annotations

import re

# Idioms that borrow a warning sign's words: "nearly gave me a heart attack", "bleeding money",
# "breathless with laughing", "blacked out the weekend in my diary".
IDIOMS = re.compile(
    r"\b(?:nearly|almost|practically|near enough|near) (?:had|gave me|giving me|give me) a heart attack"
    r"\b|\bgave me a heart attack\b|\bheart (?:skipped|skips|missed) a beat when\b|\b(?:breathless|"
    r"passed out|pass out|in stitches|crying|wet myself) (?:with|from) laugh\w*\b|\bpassed out "
    r"laughing\b|\bblacked out (?:the|my|a) (?:\w+ )?(?:weekend|week|day|days|dates?|time|"
    r"diary|calendar)\b|\bbleed(?:ing|in)? (?:money|me|us|them|you) dry\b|"
    # "the Cowboys are gonna give me a heart attack", "near fainted at the price o diesel",
    # "in my confusion (I took another)"
    r"\b(?:gonna|going to|will|ll) give (?:me|us|him|her) a heart attack\b|\b(?:nearly|almost|"
    r"near|practically) (?:fainted|passed out|collapsed|had a heart attack|died) (?:at|over) "
    r"(?:the|that|this|my|our|his|her) (?:\w+ )?(?:price|prices|cost|bill|fare|quote|total|"
    r"receipt|invoice|size|sight)\b|\b(?:at|over) the (?:price|cost) of\b.{0,20}\b(?:fainted|"
    r"heart attack)\b|\bin (?:my|the|all the|his|her|our) confusion\b|"
    r"\bbloody awful\b|\bmy heart (?:bleeds|is bleeding)\b|\bheart bleeding for\b|"
    r"\b(?:black|white) pudding\b|\b(?:nearly|almost) (?:fainted|passed out|died) (?:with|from) "
    r"(?:joy|laughter|laughing|happiness|excitement|embarrassment)\b|\b(?:nearly|almost) "
    r"(?:fainted|passed out) when a (?:saw|heard|got|read)\b|"
    r"\bbreath of fresh air\b|\btook my breath away\b|\bwaste of breath\b|\bunder my breath\b|"
    r"\b(?:my )?blood (?:is |was )?boil\w*\b|\bmade my blood boil\b|\b(?:freezing|bitterly|bitter|"
    r"so|really|very)? ?(?:cold|chilly|freezing|baltic) (?:out there|outside|out today|weather|"
    r"snap)\b|\b(?:its|it s|it is) (?:freezing|baltic|roasting|boiling) (?:out|outside|today)\b|"
    r"\bfeeling (?:a bit |a little |so |very |rather )?blue\b|\bbruise like a (?:peach|banana)\b|\bnosebleed seats?\b|\b(?:bled|bleeding|bleeds) (?:goals|runs|points|money|cash)\b|\b(?:a )?"
    r"(?:fall|drop|crash) in (?:my |the )?(?:shares|stocks|prices|market|stock market|pension)\b|"
    r"\b(?:had|got|get|gave me) the (?:shivers|chills) (?:watching|reading|listening|thinking)\b|"
    r"\b(?:heat ?wave|heatwave)\b|"
    r"\b(?:england|scotland|wales|ireland|arsenal|united|city|chelsea|liverpool|spurs|rovers|"
    r"villa|the (?:match|game|football|rugby|cricket|team|lads|boys|ref|referee))\b.{0,25}\b"
    r"(?:giving me|gave me|give me)\b.{0,10}\b(?:chest pains?|a heart attack|palpitations|heart "
    r"failure)\b|\b(?:film|movie|programme|program|show|episode|book|novel|thriller|casualty|"
    r"holby|soap|series|drama)\b.{0,60}\b(?:someone|somebody|he|she|hero|heroine|character|"
    r"they|everyone|people)\b.{0,25}\b(?:fainted|faints|bleeds?|bled|bleeding|collapsed?|gets "
    r"shot|dies|died)\b(?: out)?|"
    r"\b(?:nearly|almost) (?:passed out|fainted|had a heart attack|died|collapsed) when (?:i|we) "
    r"(?:saw|heard|got|opened|read|looked)\b|\bcould (?:murder|kill for|eat) an? \w+|\b(?:nearly |almost )?died laughing\b|\b(?:die|dying|died|dead) of (?:boredom|embarrassment|"
    r"shame|laughter|laughing)\b|\bbored to (?:death|tears)\b|\bdying for an? (?:cuppa|brew|"
    r"drink|coffee|tea|cigarette|fag|wee|pee|pint|bath|sleep|lie in)\b|\bscared me to death\b",
    re.IGNORECASE,
)
# A sign explained away, past or not: "the black was from the liquorice, stools normal colour
# now", "the chest pain turned out to be a pulled muscle and has gone completely", "the
# swelling went down, doc said it wasnt a clot".
EXPLAINED = re.compile(
    r"\b(?:(?:was|were|it s|its) (?:just |only )?from (?:the |her |his |my )?(?:liquorice|licorice|"
    r"beetroot|iron|iron tablets|blueberries|black pudding)|(?:normal|usual) colou?r (?:now|"
    r"again)|turned out to be (?:a |an |just |only )?(?:pulled|strained|trapped|indigestion|"
    r"heartburn|wind|nothing)|was (?:a |just |only )?(?:pulled|strained) muscle|(?:doc|doctor|gp|nurse|hospital|they) said it (?:wasnt|was not|"
    r"isnt|is not) (?:a )?(?:clot|dvt|heart attack|serious))\b"
)

# What the drug can do, told as hearsay or asked: "lenalidomide can cause heart attacks",
# "this medicine give heart attack", "are these tablets gonna give us a clot?". Never the
# patient's own now: "it gives me chest pain, is that normal?" is a sign happening, not this.
CAN_CAUSE = re.compile(
    r"\b(?:lenalidomide|revlimid|it|they|(?:this|the|these) (?:drug|drugs|medicine|medication|"
    r"capsules?|tablets?|pills?)) (?:(?:can|could|may|might|does|do|will|would|gonna|going to) "
    r"(?:cause|give|make|lead to|bring on|increase)|(?:cause|causes|give|gives|make|makes|lead to|"
    r"leads to|bring on|brings on)(?! (?:me|my|us|him|her|his|mum|mom|dad)\b)|increases? (?:the )?"
    r"(?:risk|chance) of)\b|"
    r"\b(?:tablet|capsule|drug|medicine|one) that (?:gives|causes) (?:you )?\b"
)
# Shivers put down to the weather: "that was purely the English weather".
WEATHER_EXPLAINED = re.compile(
    r"\b(?:that|it|this) (?:was|is|s|were) (?:just |only |purely |all |simply )?(?:down to )?"
    r"(?:the )?(?:\w+ )?(?:weather|cold outside|wind|rain|snow)\b"
)
