"""Extra doses: more than one capsule, or someone else's; and a capsule someone else swallowed."""

from __future__ import annotations

import re
from collections.abc import Sequence

_NUMBER_WORDS = {"two": 2, "2": 2, "three": 3, "3": 3, "four": 4, "4": 4, "five": 5, "5": 5,
                 "both": 2, "double": 2, "twice": 2, "extra": 2, "another": 2, "second": 2,
                 "couple": 2, "several": 3, "few": 3}  # fmt: skip
_TAKE_VERBS = frozenset({"took", "taken", "had", "swallowed", "take", "taking", "tooken", "tk", "ate",
                         "tkn", "tken", "takn", "tok", "popped", "consumed", "ingested"})  # fmt: skip
_PAST_TAKE = frozenset({"took", "taken", "had", "swallowed", "tooken", "tkn", "tken", "takn",
                        "tok", "done", "popped", "consumed", "ingested"})  # fmt: skip
_PEOPLE = (
    r"(?:husband|wife|partner|mum|mam|mom|mother|dad|father|son|daughter|sister|brother|"
    r"friend|neighbour|neighbor|nan|nana|gran|grandad|grandpa|grandma|carer|other half|"
    r"hubby|missus|flatmate|lodger|auntie|aunt|uncle|cousin|someone|somebody|someone "
    r"else|somebody else)"
)
# Someone else's capsule: "my husband's tablet", "someone else's", "I took his by mistake",
# "thinking it was mine", "took mine as well" (a carer writing about another person).
_SOMEONE_ELSE = re.compile(
    rf"\b{_PEOPLE}s\s+(?:capsule|capsules|tablet|tablets|pill|pills|meds|medication|medicine|"
    r"dose|one|ones|lenalidomide|revlimid|by mistake|as well|too|instead)\b|"
    r"\bone of (?:my|his|her|their) (?:husbands|wifes|partners|mums|dads|\w+s)\b|"
    r"\b(?:someone|somebody) elses\b|\b(?:capsule|capsules|tablet|tablets|pill|pills|one|it|"
    r"them)(?: (?:was|were|is|are))? not (?:mine|my own|hers|his)\b|\bwasnt mine\b|"
    r"\bthinking (?:it was|they were) mine\b|\bi (?:took|have taken|had|swallowed) "
    r"(?:his|hers|theirs)\b|\btook (?:his|hers|theirs) and (?:then )?(?:took )?mine\b|"
    r"\btook mine as well\b|\bgave me (?:his|hers|her|their)(?: (?:capsule|capsules|tablet|tablets|"
    r"pill|pills|one|dose|meds|medication|lenalidomide|revlimid|by mistake)\b|$)|"
    rf"\b(?:capsule|capsules|tablet|tablets|pill|pills|dose) of my {_PEOPLE}\b|"
    r"\balong with mine\b|\bone of (?:his|hers|theirs)\b|\bfrom my \w+s (?:box|bag|pack|packet|"
    r"supply|bottle)\b|\bmine (?:and|&) my \w+s\b|\bmine (?:and|&) (?:his|hers)\b|\b(?:and|then) "
    r"my \w+s (?:at|by|too|as well)\b|\bgave (?:her|him|me) (?:his|hers|theirs) (?:by mistake|by accident|too|as well|instead)\b|\bas well as "
    r"(?:mine|my own)\b|\bone of \w+s\b(?= by| as well| too| instead)|\b(?:capsule|capsules|tablet|tablets|pill|pills|medicine|one|dose) "
    rf"of my {_PEOPLE}\b|\b(?:took|swallowed|taken) (?:my )?{_PEOPLE}s(?:$| by\b| instead\b| "
    r"too\b| as well\b| (?:capsule|tablet|pill|one|dose)s?\b)"
)
# Who else may swallow a capsule: a child ("my 4 year old", "the little one") or a pet.
_CHILDREN = (
    r"(?:child|children|grandson|granddaughter|grandchild|grandkid|grandkids|kid|kids|toddler|"
    r"baby|niece|nephew|little one|little brother|little sister|baby brother|baby sister|"
    r"lil cousin|little cousin|lil one|\d+ "
    r"(?:year|yr|month) old|\d+ ?yo|(?:son|daughter) \d|my boy|my girl|little boy|little girl|"
    r"(?:he|she) (?:s|is) \d+\b|(?:son|daughter|grandson|granddaughter|boy|girl) (?:is|s) \d+)"
)
_PETS = r"(?:dog|dogs|cat|cats|puppy|kitten|pet|sheepdog|sheepdogs|collie|spaniel|labrador|terrier)"
# A child or another person who swallowed the patient's capsule: urgent (the too-many answer
# says to get medical advice for them), and no dose of the patient's to record.
OTHER_SWALLOWED = re.compile(
    rf"\b{_CHILDREN}\b.{{0,20}}\btook\b|"  # near: "grandson walk for the first time! took my capsule"
    rf"\b{_CHILDREN}\b.{{0,60}}\b(?:swallowed|ate|eaten|"
    r"chewed|got into|got hold of|got (?:in|at) (?:my|the|her|his) (?:pill|tablet|capsule|meds)|found (?:\w+ ){0,2}(?:pill|pills|tablet|tablets|capsule|capsules|"
    r"meds|medicine|pill box|pillbox|blister|blisters)|had (?:one|it|some)|put (?:one|it) in (?:his|her|their) "
    r"mouth|(?:one|it|capsule|capsules|tablet|pill)s? in (?:his|her|their) mouth)\b|\bthought (?:it|they) (?:was|were) "
    r"(?:a |an )?(?:sweet|sweets|sweetie|sweeties|candy|mint|mints|smartie|smarties|jelly "
    r"bean)s?\b|\b(?:ate|eaten|had|found) (?:a |an |some )?(?:sweet|sweetie|sweety|sweeties|"
    r"candy|mint|smartie|smarties)\b|\b(?:someone|somebody) "
    r"(?:else )?(?:has )?(?:swallowed|took|taken|ate|eaten)\b|\b(?:swallowed|eaten|ate) one "
    r"of my\b|\bmay have eaten one\b|"
    # the patient's capsule in someone else's mouth: "alfie put one of my capsules in his mouth"
    r"\bmy (?:capsules?|tablets?|pills?|meds)\b.{0,15}\bin (?:his|her|their) mouth\b|"
    rf"\b{_CHILDREN}\b.{{0,80}}\b(?:dont|don t|do not|not sure|cant tell|didnt see) (?:know )?(?:if|"
    r"whether) (?:he|she|they) (?:swallowed|ate|had|took) (?:any|one|it|some)\b|"
    # "my husband took mine thinking it was his", not "took hers again thinking it was her
    # evening tablets" (the patient's own, twice)
    r"\bthinking (?:it|they) (?:was|were) (?:her|his|their)\b(?! (?:evening|morning|night|"
    r"bedtime|other|usual|lunchtime|night time|nighttime) (?:tablets?|pills?|meds|medicine|"
    r"capsules?)\b)"
)
# A pet that may have eaten one: urgent like a child (the team is told a capsule is gone, and
# the answer says to get advice for whoever swallowed it); the patient took nothing.
PET_SWALLOWED = re.compile(
    rf"\b{_PETS}\b.{{0,40}}\b(?:got (?:one|a capsule|some|it)|"
    r"swallowed|ate|eaten|eating|eats|"
    r"chewed|chewing|got (?:into|hold of) (?:my|the) (?:\w+ )?(?:bag|pills|tablets|capsules|box|"
    r"packet|blister|blisters|meds|medication|pack)|had (?:one|it|a capsule|some))\b"
)
_EXTRA_PHRASES = re.compile(
    r"\b(?:double dose|double dosed|double dosing|doubled up|doubled|double took|double "
    r"taken|took double|double popped|took (?:an )?extra|"
    r"taken (?:an )?extra|had (?:an )?extra|another one|another capsule|another tablet|another "
    r"pill|another at|and then another|one more|extra (?:dose|capsule|one|tablet) (?:(?:today|"
    r"tonight|this morning) )?(?:taken|by "
    r"accident|by mistake)|gave (?:him|her|dad|mum|me|them) (?:two|2|3|three|both)|took (?:it |"
    r"them |my \w+ )?twice|taken (?:it )?"
    r"twice|had (?:it )?twice|as well as my own|in addition to (?:my own|mine)|and my own|on top of|too many|"
    r"two at once|2 at once|both at once|tooktwo|took2|ingested two|ingested 2|instead of (?:1|"
    r"one)|insted of (?:1|one)|insteada (?:1|one)|2 capsules gone|two capsules gone|(?:took|"
    r"taken|had) (?:it |my \w+ |my tablet |my capsule )?again|then again|took both|"
    r"old one and the new one|along with todays|1 at \d+ and 1 at|one at \d+ and (?:then )?"
    r"(?:another|one)|overdose|overdosed|overdone|(?:2nd|second) (?:one|capsule|tablet|dose|"
    r"pill)|took (?:tomorrows|tomorrow s)|gave me (?:one|a|my)\b.{0,30}\btook|an additional|"
    r"additional (?:capsule|tablet|pill|dose|one)|(?:two|2|three|3|four|4|several|few) days? "
    r"(?:worth|worths)|by taking (?:an? )?(?:extra|another|additional|second)|took (?:that|that one|it|one) "
    r"(?:too|as well)|(?:took|had|taken) one\b.{0,40}\b(?:as well|too)|(?:took|had|taken) one "
    r"from\b.{0,30}\band (?:then )?one from|then (?:took|had) (?:that|another|one)|"
    r"from (?:yesterdays|tomorrows|another) (?:compartment|slot|day|box|section) as well|"
    r"\d+ ?mg and (?:the |a |my )?\d+ ?mg|one extra|an extra (?:capsule |tablet |pill |one |dose )?"
    r"(?:was|were|has been|got|may have been) (?:taken|swallowed|given)|\d+ ?mg instead of (?:my |the )?\d+ ?mg|"
    r"(?:took|taken|had|swallowed|given|gave|give|swallow|take|tk)(?: (?:it|them|her|him|mum|mom|"
    r"dad|me|my|his|the|a|capsule|capsules|tablet|tablets|pill|pills|dose|lenalidomide|revlimid|"
    r"one|mine|hers|medication|meds)){0,4} (?:twice|two times|2 times|2x|x2)(?! (?:a|per|this|"
    r"last|every) (?:week|month|cycle))|"
    r"total (?:of )?(?:2|two|3|three)\b|then (?:a |an )?(?:second|another|extra|anuva|anutha|one more)|"
    r"(?:and|then) another(?: (?:1|one|capsule|tablet|pill))?(?: at| with| just| now| later| by| as|"
    r" cos| because| thinking|$)|one more (?:capsule|tablet|pill|one)? ?after|"
    r"(?:two|2) (?:that were |which were )?stuck together|(?:one|dose|capsule|tablet) for tomorrow "
    r"(?:as well|too)|tomorrows (?:one |dose |capsule )?(?:as well|too)|double (?:my|the|up|her|"
    r"his) ?(?:capsule|dose|tablet|pill)?|(?:forgot|forgetting|not realising) (?:that )?(?:its|it s|"
    r"it is|it was) (?:only )?once a day|both gave (?:him|her|me|them)|(?:day staff|carer|"
    r"nurse|someone) (?:had )?already (?:had|given|gave)|(?:took|had|taken|swallowed) another(?! (?:bad|good|"
    r"rough|long|go|look|nosebleed|night|day|week|test|blood|scan|appointment|fall|temp|dose of "
    r"(?:paracetamol|ibuprofen))\b)|(?:and|then) again at\b|again at \d|(?:without knowing|not "
    r"knowing|didnt know|did not know|not realising|not realizing) (?:that )?(?:i|id|i d|he|hed|"
    r"she|shed) (?:had |d |has |have |ve )?(?:already )?(?:taken|had|took)|(?:two|2|three|3) (?:by mistake|by accident|"
    r"accidentally)|(?:took|take|taken|had) (?:today|this morning|tonight|yesterday) (?:two|2|"
    r"three|3)\b|(?:realised|realized|remembered|found) (?:that )?"
    r"(?:i|id|he|she|hed|shed) (?:had |d )?already (?:had|taken|took|swallowed)|already (?:had|"
    r"taken|took) (?:it|one|mine|todays)? ?(?:earlier|this morning|before)\b.{0,40}\b(?:took|"
    r"swallowed|taken|had) (?:it|another|one)|(?:two|2|three|3) (?:tablets|capsules|pills|caps) "
    r"(?:today|tonight|this morning|yesterday|last night|instead|by mistake|by accident|at once|"
    r"together|in one go)|(?:two|2|three|3) (?:a|per|every) day)\b"
)
# A capsule on a day with none due, said in words: "took one on my rest week".
_NO_DOSE_DAY = re.compile(
    r"\b(?:(?:on|in|during) (?:my|the) (?:rest week|break week|week off|off week|break)|"
    r"supposed to be (?:on|off)|meant to be (?:on|off)|told me to stop|stopped them|paused|"
    r"on hold|not supposed to|shouldnt have|(?:but|even tho|even though|though|tho) (?:its|it s|"
    r"it was|it is) (?:my|the|her|his) "
    r"(?:week off|rest week|break week|brake week|off week|rest day|break|day off)|(?:forgot|"
    r"forgetting|not realising) (?:that )?(?:it was|its|it s|it is) (?:my|the|her|his) (?:week off|"
    r"rest week|break week|brake week|break|rest day)|(?:on|in|during) (?:my|the|her|his) brake"
    r"(?: week)?|thought it was (?:still )?day \d+|(?:cycle|course) (?:a week|a few days|\w+ days?) "
    r"early|started (?:the |my )?(?:new |next )?cycle early|(?:on|in|during) (?:his|her|their) "
    r"(?:rest week|break week|week off|off week|break)|(?:meant|supposed) to (?:be stopped|be paused|have "
    r"stopped|stop|be having a break)|(?:during|on|in) (?:my|the) (?:\d+ |seven )?(?:days? off|"
    r"rest days?|break days?|off days?)|no (?:tablet|capsule|pill|dose|lenalidomide) day|"
    r"(?:rest|break|off|tablet free|pill free) day|(?:said|told (?:me|us|him|her)?) (?:to )?"
    r"(?:stop|hold|pause)|stop for a (?:week|bit|few days|while)|(?:its|it s|is|im on|i m on) "
    r"(?:my|the) (?:rest|break|off) week|(?:rest|break|off) week but)\b"
)
_TWO_DAYS = re.compile(
    r"\b(?:yesterdays|last nights)\b.{0,30}\b(?:and|with|plus|then|\+|&|as well as)\b.{0,18}\b(?:todays|"
    r"this mornings|tonights)\b|\b(?:yesterday|last night)\b.{0,20}\b(?:and|with|plus|\+|&)\b"
    r".{0,12}\b(?:todays|this mornings|tonights)\b|\btodays\b.{0,20}\b(?:and|with|plus)\b"
    r".{0,12}\b(?:yesterdays|tomorrows)\b|\btonights\b.{0,20}\b(?:and|with|plus)\b.{0,12}\btomorrows\b|\b(?:plus|and|with|as well as|along with) (?:the|"
    r"that) (?:one|dose|capsule|tablet|pill) (?:i|id|he|she|we) (?:had )?(?:forgot|forgotten|"
    r"missed|skipped)\b"
)
# "Missed yesterday's completely, ... today's taken": the day before was missed, not doubled.
_MISSED_THAT_DAY = re.compile(
    r"\b(?:missed|forgot|forgotten|skipped|didnt take|did not take|never took|no)\b.{0,12}\b"
    r"(?:yesterdays|yesterday|last nights|last night)\b"
)
# A pill organiser two days down: "the Tuesday slot was empty but so was Wednesday's",
# "Sunday's compartment is empty and it's only Saturday".
EMPTY_SLOTS = re.compile(
    r"\bempty\b.{0,40}\b(?:so was|so is|so were|too|as well|also)\b|\bboth (?:\w+ ){0,3}empty\b|"
    r"\bempty\b.{0,40}\b(?:its|it s|it is) only\b"
)
_DOSE_OBJECTS = frozenset({"it", "one", "them", "capsule", "capsules", "tablet", "tablets", "pill",
                           "pills", "dose", "doses", "lenalidomide", "revlimid", "medication",
                           "medicine", "meds", "todays", "tonights", "yesterdays", "mine",
                           "my"})  # fmt: skip


# Counts of something else, and doubling denied: "took it with two big glasses of water",
# "doubled my water", "didnt double up", "the second one in the box is for tomorrow".
NOT_CAPSULES = re.compile(
    r"\b(?:\d+|two|three|four|both|a couple of|double|doubled|twice) (?:(?:big|large|full|small|"
    r"whole|extra|more) )?(?:glass|glasses|cups?|mugs?|pints?|litres?|liters?|bottles?|sips?|"
    r"gulps?|biscuits?|slices?|toast|paracetamols?|ibuprofens?|painkillers?|water|fluids?)\b|"
    r"\b(?:doubled|double) (?:my|the|up (?:on )?(?:my|the)) (?:water|fluids|drinks?)\b|"
    r"\b(?:didnt|did not|never|not|dont|do not|wont|won t) (?:double|doubled) (?:up|dose|it)\b|"
    r"\bsecond one\b.{0,30}\bfor tomorrow\b|"
    # a size, not a count: "her right calf double the left", "ankle twice as big"
    r"\b(?:double|twice) (?:the (?:left|right|other|size|normal)|(?:its|his|her) (?:normal |usual )?size)\b|"
    r"\btwice as (?:big|swollen|fat|thick|large|wide)\b"
)


# The day's one capsule told with "another", "again", "second", "one more": "another one down",
# "another day, another capsule", "took my capsule again today", "second cycle, day one",
# "one more week and then break", "so only swallowed the one"; and leftovers from a hold.
ROUTINE_ONE = re.compile(
    r"\banother (?:one )?down\b|\banother day (?:another (?:capsule|one|dose|pill|tablet)\b)?|"
    r"\b(?:took|taken|had) (?:it|my capsule|my dose|another one|another) (?:again )?(?:today|this "
    r"morning|tonight)? ?(?:just )?(?:like (?:yesterday|the doctor said|normal|usual)|as (?:usual|"
    r"normal))\b|\bagain just like yesterday\b|\bcycle (?:\d+|two|three|four)\b|\btwice as (?:early|late|much|long|fast)\b|\bboth (?:of )?"
    r"(?:the |my )?(?:reminders|messages|texts|alarms)\b|\b(?:my|the) one capsule\b|\btwice "
    r"(?:already|before|in my life|last year|this year)\b|\banother (?:one )?(?:in|from) the (?:box|"
    r"pack|packet)\b.{0,30}\binstead\b|\b(?:took|taken|had) (?:my (?:\w+ )?)?"
    r"(?:capsule |one |it )?again today\b|\b(?:second|2nd|third|3rd) (?:cycle|"
    r"week|month|course|round)\b|\bone more (?:week|day|cycle)\b|\bonly "
    r"(?:swallowed|took|taken|had) (?:the |just )?one\b|\bjust the one\b|\b(?:that s|thats) "
    r"\d+ (?:now )?this cycle\b|\b(?:when|while) i was on (?:hold|a break)\b|\bfrom (?:last|"
    r"the last|my last|previous) cycle\b"
)
# A carer's double: "gave Dad his at 9 and my sister gave him one at 11"; a count that says one
# went twice: "must have doubled one", "I'd already ticked today off".
_TOLD_TWICE = re.compile(
    r"\bforg[eo]t (?:that )?i (?:already )?(?:take|took|taken|had)\b|\b(?:2|two) in (?:\d+|one|a) "
    r"(?:hours?|day)\b|\b(?:take|took|taken|had|eat|ate)\b.{0,25}\b(?:2|two) times?\b(?! (?:a|per|every) "
    r"(?:week|month|cycle))|"
    r"\bgave (?:him|her|dad|mum) (?:his|hers|one|it|a capsule)\b.{0,60}\b(?:gave|given) "
    r"(?:him|her|dad|mum|them) (?:one|another|it|a capsule|his|hers)\b|\bmust have "
    r"(?:doubled|taken two|had two|took two)\b|\balready ticked\b"
)
# A double told in carers' and non-native words, often across clauses: "my brother give her
# capsule at 8 and I give again at 10", "mi give her di capsule at 8 an den di night carer
# give her one more at 9", "she double up today cause she miss yesterday".
GIVEN_TWICE = re.compile(
    r"\b(?:gave|give|given|gives) (?:her|him|dad|mum|them|nan|grandad)\b.{0,60}\b(?:gave|give|"
    r"given|gives) (?:her |him |them )?(?:again|one more|another|a second|an extra)\b|"
    # "he find capsules in the drawer and take one himself after I already give him one"
    r"\b(?:take|takes|took|taken|had) (?:one|another|it)\b.{0,30}\bafter (?:i|we|she|he|the carer) "
    r"(?:had )?(?:already )?(?:give|gave|given) (?:him|her|them) (?:one|it|his|hers|a capsule)\b|"
    r"(?<!can )(?<!could )(?<!should )(?<!shall )(?<!do )(?<!does )(?<!to )(?<!if )(?<!not )"
    r"\b(?:she|he|i|mum|dad|nan) (?:double|doubled) up (?:today|this morning|tonight)\b(?! \?)"
)


def extra_reason(clause: str, toks: Sequence[str], whole: str) -> str | None:
    """Why a report of a capsule taken is about more than one (or not theirs), or None."""
    joined = " ".join(toks)
    if _TOLD_TWICE.search(joined) or GIVEN_TWICE.search(joined):
        return "another"
    # The day's one capsule told as routine, and counts of something else, say no more.
    masked = NOT_CAPSULES.sub(" ", ROUTINE_ONE.sub(" ", joined))
    if masked != joined:
        joined, toks = masked, masked.split()
    if not (
        _PAST_TAKE & set(toks)
        or re.search(
            r"\b(?:taken|swallowed|ingested|gone down|gave (?:her|him|them|dad|mum|me)|eaten|ate|"
            r"double dosed|doubled up|double dose|overdosed|tooktwo|taking \d|taking two|by taking "
            r"(?:an? |my )?(?:extra|another|additional|second|two|2|both)|instead of (?:1|one)|"
            r"(?:two|2|three|3) (?:by mistake|by accident|accidentally)|\beat\b|\bgave\b|\bgiven\b|"
            r"\bswallow\b|double (?:my|the|up)|\btk\b|"
            r"\b(?:slot|slots|compartment|compartments|section|sections|box|boxes|blisters?|"
            r"organiser|organizer|days?)\b.{0,60}\bempty\b|"
            r"(?:been|was|were|am|is|are|s|m) (?:taking|having) (?:two|2|three|3) (?:a|per|every) "
            r"day|"
            r"(?:two|2|three|3) (?:tablets|capsules|pills|caps) (?:today|tonight|this morning|"
            r"yesterday|last night|by mistake|by accident|at once|together|in one go))\b",
            joined,
        )
    ):
        return None
    if (_TWO_DAYS.search(joined) and not _MISSED_THAT_DAY.search(joined)) or EMPTY_SLOTS.search(
        joined
    ):
        return "two_days"
    for i, tok in enumerate(toks):
        if tok not in _TAKE_VERBS:
            continue
        # The count right after the verb ("took 2", "took it twice", "had 3 of them").
        k = (
            i + 2
            if i + 2 < len(toks)
            and toks[i + 1] in ("it", "them", "like", "about", "maybe", "all", "an", "a")
            else i + 1
        )
        if k >= len(toks):
            continue
        count = _NUMBER_WORDS.get(toks[k])
        if count is None or count < 2:
            continue
        rest = toks[k + 1] if k + 1 < len(toks) else ""
        after = toks[k + 2] if k + 2 < len(toks) else ""
        if (
            toks[k] == "both"
            and rest in ("my", "the", "his", "her")
            and after
            not in ("capsules", "tablets", "pills", "doses", "lenalidomide", "revlimid", "meds")
        ):
            continue  # "taken it. both my ankles are puffy"
        # "took 2 paracetamol" is about something else; "took 3" is capsules.
        if not rest or rest in _DOSE_OBJECTS or rest in (
            "by", "at", "today", "this", "instead", "of", "together", "in", "not", "again",
            "accidentally", "accidently", "yesterday", "last", "lenalidomide", "doses",
            "caps", "x", "times", "tonight", "tonite", "2day", "on", "because", "cos", "so",
            "yday", "yest", "yesterday", "yesterdays", "last", "earlier", "this", "tonight", "to",
            "and", "dose", "insted", "insteada", "thinking", "the", "i", "but", "then", "when",
            "as", "which", "with", "after", "before",
        ):  # fmt: skip
            return "count"
    if _SOMEONE_ELSE.search(joined):
        return "someone_else"
    if _EXTRA_PHRASES.search(joined):
        if re.search(r"\banother\b|\bone more\b|\bextra\b|\btwice\b|\bagain\b", joined):
            return "another"
        return "count"
    if _NO_DOSE_DAY.search(joined):
        return "no_dose"
    return None


# A child or a pet near the capsules and one gone, chewed or in a mouth, said in any order:
# "the dog's had his nose in my tablets and I'm one capsule short", "found a chewed capsule
# shell and the puppy looks guilty". Not when all are there.
_CHILD = re.compile(rf"\b{_CHILDREN}s?\b")  # "the toddler's got into the pack"
_PET = re.compile(rf"\b{_PETS}\b")
_GONE = re.compile(
    r"\b(?:missing|short|cant find|gone|popped|chew\w*|in (?:his|her|their|its) mouth|"
    r"swallow\w*|ate|eaten|eating|lick\w*|nose in|got into|got hold of|empty|open|got one|"
    r"(?:can|could) only find|only (?:found|find)|sniff\w*|cant account for)\b"
)
_CAPSULE_WORDS = re.compile(
    r"\b(?:capsule|capsules|tablet|tablets|pill|pills|blister|blisters|pack|packet|box|meds|"
    r"medication|one|shell)\b"
)
_ALL_THERE = re.compile(
    r"\b(?:all there|none missing|nothing missing|all accounted|(?:didnt|did not|never|doesnt) "
    r"(?:get|eat|touch|swallow|reach)|counted them|what (?:if|happens)|in case)\b"
)


def capsules_named(joined: str) -> bool:
    """Whether the text names capsules (or "one" of them) at all: "my cat ate my tulip bulbs"
    does not."""
    return _CAPSULE_WORDS.search(joined) is not None


def someone_else_got_one(joined: str) -> str | None:
    """'child' or 'pet' when a child or a pet may have had a capsule, else None."""
    if not (_GONE.search(joined) and _CAPSULE_WORDS.search(joined)) or _ALL_THERE.search(joined):
        return None
    if re.search(
        r"\bi (?:think i |must have |may have |might have )?(?:swallowed|took|ate)\b", joined
    ):
        return None  # "the cat knocked the box over and I think I swallowed two": theirs
    if _CHILD.search(joined):
        return "child"
    if _PET.search(joined):
        return "pet"
    return None


# A number that is a time or a try, not capsules: "took it at 2", "2 hours late", "two goes".
NOT_A_COUNT = re.compile(
    r"\b(?:at|around|about|by|before|after|till|until|since) (?:\d+|two|three|four|five)\b|"
    r"\b(?:\d+|two|three|four|five) (?:hours?|hrs?|mins?|minutes|goes|tries|attempts|pm|am|"
    r"oclock|o clock|ish|days? late)\b"
)


# A double told with doubt: "think I double dosed??", "i reckon she took two".
THINK_I_DOUBLED = re.compile(
    r"^(?:i )?(?:think|thinking|reckon|fear|worried|afraid) (?:that )?(?:i|ive|i ve|she|he|mum|"
    r"dad|shes|hes) (?:have |has |ve |s |may have |might have )?(?:double dosed|doubled up|"
    r"double dose|took two|taken two|had two|took 2|taken 2|had 2)\b"
)
