"""The words of dose readings beyond taken / missed / later: unsure, intending, asking, sick."""

from __future__ import annotations

import re

UNSURE = re.compile(
    r"\b(?:cant|cannot|dont|do not|not) (?:remember|recall|be sure)"
    # "I dont remember knocking myself": a bruise's story, not the dose
    r"(?! (?:knocking|hitting|banging|bumping|falling|doing (?:it|that)|getting|how|why|where))"
    r" ?(?:if|whether|wether|weather|wot|what)?|\b(?:cant|cannot|dont|do not|not) (?:know|tell) (?:if|whether|wether|"
    r"weather) i\b|\bnot sure (?:if|whether|wether|i|weather)\b|\bnot sure\b|"
    r"\b(?:did|have) i (?:already |actually |even |definitely )?(?:take|taken|had|have)\b|"
    r"\bnot (?:100|a hundred|one hundred)\b|\bforgot (?:if|whether) i"
    r"\b|\bmight have (?:taken|had)\b|\bmight not\b|\buncertain\b|\bunsure\b|"
    r"\bno idea if\b|\bdid i tell you\b|\bor (?:was it|was that) yesterday\b|\btoday or "
    r"yesterday\b|\bmay (?:or may not )?have (?:taken|had)\b|\bi think i (?:took|had|have taken)"
    r" (?:it|one|my \w+) but\b|\ball at sea\b|\bblank\b|\brmbr\b|\brmember\b|"
    r"\b(?:tell|check|see|know) (?:me )?(?:if|whether) i(?:ve| have)? (?:taken|took|had)\b|"
    # "can't for the life of me remember if", "i cnt rember if i tuk it"
    r"\b(?:cant|cannot|cnt|carnt|dont|dnt|do not)\b(?: \w+){0,5}? (?:remember|rember|remeber|"
    r"remembr|recall) (?:if|whether|wether|taking|having|swallowing)\b|"
    r"\bno (?:idea|clue) (?:if|whether|wether)\b|\bblanked\b|"
    r"\b(?:taken|took|had|swallowed)(?: it| mine| my \w+)? or not\b|\bdid i or (?:didnt|did not|not)\b|"
    r"\bwas it (?:today|yesterday|this morning|last night)\b.{0,30}\bor\b|"
    # "has he had it? he says yes but...": a carer who cannot tell either
    r"\b(?:has|did|have) (?:he|she|mum|dad|mam|mom|mother|father|hubby|husband|wife|they) "
    r"(?:had|take|taken|took|have) (?:it|hers|his|theirs|todays|her (?:tablet|capsule|pill|dose)|"
    r"his (?:tablet|capsule|pill|dose))\b"
)
INTEND = re.compile(
    r"\bgetting (?:my water|it out|them out|a glass|ready)\b|\bplan to take\b|\babout 2 take\b|"
    r"^(?:ok |okay |yes |yep )?will do\b|^in a (?:minute|min|mo|sec|second)\b|"
    r"\b(?:about to|bout to|abt to|going to|gonna|gna|will|ill|i'll|i will|shall|off to|"
    r"just going to|"
    r"fixing to|getting ready to|on my way to|after (?:dinner|tea|breakfast|lunch)|in a (?:mo|"
    r"minute|min|sec|second|bit)|later on|shortly|soon)\b.{0,20}\b(?:take|tk|have)\b|"
    r"\b(?:take|taking|have) (?:it|them|my \w+) (?:in a (?:bit|minute|min|mo|sec|second|"
    r"while)|shortly|soon|later|after)\b|\babout to\b"
)
_CAPSULE = (
    r"(?:it|one(?!\s+(?:small|glass|drink|cup|pint|of|more|large|big))|them|(?:my|her|his|"
    r"their|your)\s+(?:capsule|capsules|tablet|tablets|pill|pills|dose|meds|"
    r"medication|medicine|lenalidomide|revlimid|revlamid)|the\s+(?:capsule|tablet|pill|"
    r"dose)|a\s+(?:capsule|tablet|pill|dose)|todays|tonights|this\s+mornings|"
    r"lenalidomide|revlimid|last\s+nights|yesterdays|the\s+old\s+ones|now)"
)
DOSE_QUESTION = re.compile(
    r"\b(?:can|could|should|shall|shud|shld|do|must|may|ok to|okay to|safe to|too late to|"
    r"still|late to|supposed to|meant to|cn|allowed to|have i to)"
    rf"\b.{{0,20}}\b(?:take|tk|tak|have|hav|skip|taking|be taking)\s+{_CAPSULE}\b|"
    r"\b(?:too late|still ok|still okay|take it or (?:leave|skip)|take now|still take)\b|"
    r"\b(?:time difference|time zones?|timezones?|jet ?lag)\b|"  # travelling: when to take it
    r"\bis (?:today|tomorrow) a (?:tablet|capsule|pill|"
    r"dose|dosing) day\b|\b(?:ok|okay|safe|alright|fine|in order) to take(?= (?:it|one|them|now|"
    r"today|tonight|late|my (?:capsule|tablet|pill|dose|lenalidomide))\b|$)|"
    r"\btake (?:it |one |them )?now$|\bnow or (?:skip|leave|wait)\b|"
    r"\b(?:take|tk) (?:it |one )?or (?:skip|leave|miss|not)\b|\bskip (?:it )?or take\b|"
    # a carer asking: "do we give her one?", "give it now?"
    r"\b(?:do|should|shall|can|could) (?:i|we) give (?:him|her|them|mum|dad) (?:his|her|their) "
    r"(?:tablet|capsule|pill|dose|lenalidomide|revlimid|meds)\b|"
    r"\bgive (?:it|one|her one|him one|him it|her it) (?:now|today|tonight|late)\b|"
    # a hold or a break: "so nothing till then?", "do I carry on from where I was?"
    r"\b(?:nothing|none|no (?:tablets?|capsules?|pills?|doses?|lenalidomide)) (?:till|until|"
    r"til|untill|for now)\b|\b(?:carry on|pick up|continue|resume|start again|go on) (?:from )?"
    r"where (?:i|we|he|she) (?:was|were|left|stopped)\b|\b(?:do|should|"
    r"shall) i (?:just )?(?:leave|skip|miss) (?:it|todays|this one)\b|\bno (?:tablet|capsule|"
    r"pill|dose) (?:today|tonight)\b|^(?!when\b).*\b(?:start|restart) (?:the )?(?:new cycle|again|my "
    r"tablets|my capsules)\b|\b(?:what|wot) (?:do i do|about) (?:about )?(?:todays|tonights|my dose)\b"
)
# Asking whether to take it, said without a question mark or a question word first: "have i to
# take one the day", "I would like to know whether I should take my tablet today".
DOSE_ASK = re.compile(
    r"^(?:have i (?:got )?to|do i|should i|shall i|am i (?:to|meant to|supposed to))\b|"
    r"\b(?:whether|if|wether) (?:i|we|he|she|mum|dad) (?:should|can|may|could|need to|ought to|"
    r"must|am to|is to) (?:still )?(?:take|have|give)\b|\bwhether to (?:take|give|skip)\b|"
    r"\b(?:take|tk) (?:it |one )?or (?:skip|leave|miss|not)\b"
)
# "Was going to take it at 9 but...": a plan that changed, not an intention now. "Will take
# tomorrow's as normal" after a miss: the plan to carry on, not this dose.
NOT_INTENDING = re.compile(
    r"\b(?:was|were) (?:going to|gonna|about to|planning to|meant to)\b(?!.*\bnow\b)|"
    r"\b(?:tomorrow|tomorrows|tonights|next one|next dose)\b.{0,30}\bas (?:normal|usual|per usual)\b|"
    r"\bcarry on (?:tomorrow|as (?:normal|usual))\b"
)
# A carer asking whether to give the patient today's capsule ("do I give him one now?"), not
# about sharing capsules with someone they are not prescribed for.
CARER_DOSE = re.compile(
    # a friend, a neighbour, "one of mine": sharing after all
    r"^(?!.*\b(?:friend|neighbou?r|sister|brother|mate|someone|somebody|of mine|of my|borrow|"
    r"lend|spare|share|sharing)\b)"
    # "one" alone could be a capsule for anyone ("my sister ran out, can I give her one?"):
    # only their own capsule, or one now, is the patient's dose
    r".*\b(?:do|should|shall|can|could) (?:i|we) (?:still )?give (?:him|her|them|mum|dad|mam|mom) "
    r"(?:(?:his|her|their) (?:tablet|capsule|pill|dose|lenalidomide|revlimid|meds)|"
    r"(?:one|it) (?:now|today|tonight|this morning|late|still))\b"
)
# "I'm driving", "in a meeting" on their own, in reply to a reminder: not now, ask again later.
_BUSY_NOW = r"(?:atm|at the moment|right now|now|just now)"
_BUSY_AT = (r"(?:driving|at work|in a meeting|busy|out|at the shops|on the bus|on the train|"
            r"in the car|at the hospital|at clinic)")  # fmt: skip
# Said with "I'm" or "right now" ("driving" alone may be a question about driving).
BUSY = re.compile(
    rf"(?:sorry )?(?:im|i am|am|i m) {_BUSY_AT}(?: {_BUSY_NOW})?|(?:sorry )?{_BUSY_AT} {_BUSY_NOW}"
)
VOMITED = re.compile(
    r"\b(?:threw up|thrown up|throw up|vomited|vomit|vomiting|was sick|been sick|brought it "
    r"(?:back )?up|came back up|puked|sick it up|spewed)\b"
)
# "Sick 10 minutes later": a story, not a request to be reminded.
PAST_STORY = re.compile(r"\b(?:was|were|been|threw|brought|came|had|took|taken|went|got)\b")
# Asking to take two now: "can I take it today as well as today's?", "double up?".
TWO_NOW = re.compile(
    r"\b(?:as well as|with todays|both|two|2|double|extra|catch up|make up)\b.*\?|"
    r"\b(?:can|should|could|shall) i\b.*\b(?:as well as|both|two|2|double|extra|catch up|"
    r"make up)\b"
)
SAMPLE_TAKEN = re.compile(
    r"\b(?:blood|bloods|temp|temperature|pressure|sample|samples|test|tests|swab|weight|"
    r"photo|picture|x ray|xray)s? (?:was |were |being |been )?taken\b"
)
THOUGHT = re.compile(r"\b(?:thought|assumed) i (?:had|took|taken|d taken|d had)\b")
# Pills that are not lenalidomide: "took two paracetamol" is about those.
OTHER_PILLS = re.compile(
    r"\b(?:paracetamol|ibuprofen|aspirin|co codamol|cocodamol|codeine|painkillers?|"
    r"antibiotics?|laxatives?|senna|vitamins?|folic|steroids?|dex|dexamethasone|antacids?|"
    r"rennies|gaviscon|piriton|antihistamines?|sleeping pills?|omeprazole|lansoprazole|"
    r"aciclovir|co trimoxazole|allopurinol|warfarin|apixaban|rivaroxaban|statins?|loperamide|"
    r"imodium|tylenol|advil|motrin|calcium|vitamin d|iron tablets?|metformin|amlodipine)\b"
)
# "Can I take it with food?" asks how, not whether or when.
HOW_TO = re.compile(
    r"\b(?:take|have) (?:it|them|one|my \w+) (?:with|alongside|after (?:food|a meal|eating|"
    r"breakfast|dinner)|before (?:food|a meal|eating|breakfast|bed)|on an empty|without)\b"
)
TIMING = re.compile(
    r"\b(?:now|today|tonight|late|later|still|yet|tomorrow|this morning|this evening|at \d|"
    r"instead(?! of)|skip|missed|forgot|too late|time difference|time zones?|timezones?)\b"
)
PAST_REPORT = re.compile(
    r"^(?:done|all done|taken|tkn)\b|"  # "done, what's next?": a report, then the question
    r"\b(?:forgot|forgotten|forget|missed|skipped|took|taken|had|swallowed|didnt take|"
    r"didnt have|havent taken|not taken|did not take)\b"
)
