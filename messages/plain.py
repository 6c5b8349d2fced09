"""Text speak spelt out ("4got 2day" -> "forgot today"): the words the rules and the model read."""

from __future__ import annotations

import re

# Phone shorthand, as whole words, in the spelling the rules read.
_SPEAK = {
    "2day": "today", "2dy": "today", "tday": "today", "2nite": "tonight", "2nyt": "tonight",
    "tonite": "tonight", "2moro": "tomorrow", "2morrow": "tomorrow", "tmrw": "tomorrow",
    "tmr": "tomorrow", "tomoz": "tomorrow", "yest": "yesterday", "ystrdy": "yesterday",
    "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please", "b4": "before",
    "l8r": "later", "l8": "late", "4got": "forgot", "4gt": "forgot", "frgt": "forgot",
    "dis": "this", "tkn": "taken", "tkin": "taking", "cos": "because", "coz": "because",
    "cuz": "because", "wot": "what", "wat": "what", "wen": "when", "shud": "should",
    "shld": "should", "cud": "could", "wud": "would", "hv": "have", "hav": "have",
    "av": "have", "gt": "got", "thx": "thanks", "thnx": "thanks", "ty": "thanks",
    "nite": "night", "mornin": "morning", "mrng": "morning", "evng": "evening",
    "abt": "about", "bout": "about", "w/": "with", "wiv": "with", "dnt": "dont",
    "cnt": "cant", "rmbr": "remember", "remeber": "remember", "im": "im", "n": "and",
    "caps": "capsules", "tabs": "tablets", "meds": "meds", "temp": "temp", "dr": "doctor",
    "doc": "doctor", "hosp": "hospital", "appt": "appointment", "xx": "xx", "tuk": "took",
    "tuck": "took", "tookd": "took",
}  # fmt: skip
# Misspellings of the words warning signs and extra capsules are told in (seen in patients'
# and carers' texts: phonetic, dyslexic, voice-to-text), spelt right so the rules read them.
_SPEAK.update({
    "sudenly": "suddenly", "suddenley": "suddenly", "suddently": "suddenly",
    "suddnly": "suddenly", "sudenley": "suddenly", "dizy": "dizzy", "dizzey": "dizzy",
    "dizzie": "dizzy", "chesst": "chest", "chesht": "chest", "brethless": "breathless",
    "breathles": "breathless", "brethles": "breathless", "breathlass": "breathless",
    "temprature": "temperature", "tempreture": "temperature", "temperture": "temperature",
    "tempature": "temperature", "temprechure": "temperature", "tempriture": "temperature",
    "blud": "blood", "bludd": "blood", "bleding": "bleeding", "bledding": "bleeding",
    "bleedng": "bleeding", "dubble": "double", "duble": "double", "doubel": "double",
    "tablits": "tablets", "tablit": "tablet", "tabluts": "tablets", "acsidently": "accidentally",
    "accidently": "accidentally", "accidentaly": "accidentally", "axidently": "accidentally",
    "accidentlly": "accidentally", "taked": "took", "feaver": "fever", "fevor": "fever",
    "feever": "fever", "fevar": "fever", "vomitting": "vomiting", "vommiting": "vomiting",
    "vommit": "vomit", "diarrea": "diarrhoea", "diarhea": "diarrhoea", "diarhoea": "diarrhoea",
    "diahrea": "diarrhoea", "diarrhoe": "diarrhoea", "direah": "diarrhoea",
    "diarreah": "diarrhoea", "capsul": "capsule", "capsle": "capsule", "capsuel": "capsule",
    "capsuls": "capsules", "pregnent": "pregnant", "pregant": "pregnant", "prenant": "pregnant",
    "pregnat": "pregnant", "headach": "headache", "hedache": "headache", "headake": "headache",
    "swolen": "swollen", "swollan": "swollen", "sholder": "shoulder", "brused": "bruised",
    "bruse": "bruise", "bruses": "bruises", "shiverring": "shivering", "shivvering": "shivering",
    "fainted": "fainted", "fanted": "fainted", "feinted": "fainted", "brething": "breathing",
    "breething": "breathing", "breath": "breath", "brest": "breast", "stomache": "stomach",
    "stummy": "tummy", "nosebled": "nosebleed", "consious": "conscious", "tek": "took", "hw": "how", "heid": "head", "me heid": "my head", "husbans": "husbands",
    "husbnds": "husbands", "acident": "accident", "anuva": "another", "anutha": "another",
})
# Scots (and some Northern English) words for what the rules read, where the word means only
# that: "swallied wan o them", "nae temperature", "boakin aw night". Left out on purpose: words
# that are also common English or names ("ken", "ma", "aw", "no" for "not", "the day").
_SPEAK.update({
    "nae": "no", "didnae": "didnt", "cannae": "cant", "canna": "cant", "wisnae": "wasnt",
    "isnae": "isnt", "dinnae": "dont", "dinna": "dont", "couldnae": "couldnt",
    "wouldnae": "wouldnt", "hasnae": "hasnt", "havnae": "havent", "hivnae": "havent",
    "willnae": "wont", "whit": "what", "fae": "from", "wi": "with", "efter": "after",
    "oot": "out", "doon": "down", "sair": "sore", "swelt": "swollen",
    "swallied": "swallowed", "swallit": "swallowed", "anither": "another",
    "thegither": "together", "twa": "two", "yin": "one", "wan": "one", "ower": "over",
    "afore": "before", "dug": "dog", "bairn": "child", "bairns": "children", "wean": "child",
    "weans": "children", "hunner": "hundred", "boakin": "vomiting", "boaking": "vomiting",
    "boak": "vomit", "boaked": "vomited", "wabbit": "tired", "masel": "myself",
    "himsel": "himself", "hersel": "herself", "intae": "into", "dae": "do",
    "thocht": "thought", "puddin": "pudding", "aff": "off", "noo": "now", "hoo": "how",
    "mony": "many", "mair": "more", "wis": "was", "onyway": "anyway", "tak": "take",
    "lugs": "ears", "skitters": "diarrhoea", "fower": "four", "aw": "all", "seeven": "seven",
    "pins an needles": "pins and needles",
    # US and rural speech: "fixin to take it", "when's my next labs", "nothin since"
    "fixin to": "about to", "fixing to": "about to", "labs": "blood tests", "textin": "texting",
    "lettin": "letting", "comin": "coming", "nothin": "nothing", "somethin": "something",
    "takin": "taking", "lookin": "looking", "feelin": "feeling",
    # Clinical words (a nurse, a carer who was one): "melaena x2", "epistaxis for 35 mins".
    "melaena": "black tarry poo", "melena": "black tarry poo", "epistaxis": "nosebleed",
    "syncope": "fainting", "syncopal": "fainting", "haematuria": "blood in my urine",
    "hematuria": "blood in my urine", "haemoptysis": "coughing up blood",
    "hemoptysis": "coughing up blood", "haematemesis": "vomiting blood",
    "hematemesis": "vomiting blood", "pyrexial": "feverish", "pyrexia": "fever",
    "febrile": "feverish", "rigors": "shivering fits", "rigoring": "shivering",
    "dyspnoea": "breathless", "dyspnea": "breathless", "anaphylaxis": "allergic reaction",
    # Irish English's perfect ("I'm after taking it") and Jamaican words ("cyaan", "tiad").
    "i'm after taking": "i've just taken", "im after taking": "i've just taken",
    "i am after taking": "i've just taken", "she's after taking": "she's just taken",
    "shes after taking": "she's just taken", "he's after taking": "he's just taken",
    "hes after taking": "he's just taken", "cyaan": "cant", "seh": "says", "likkle": "little",
    "pickney": "child", "tiad": "tired", "yuh": "you", "tank yuh": "thank you",
    "tank you": "thank you",
    # Phonetic and dyslexic spellings seen in a sixteenth writer's texts.
    "perriod": "period", "peroid": "period", "sik": "sick", "tims": "times",
    "brekfast": "breakfast", "thre": "three", "dorter": "daughter", "swolowed": "swallowed",
    "swolloed": "swallowed", "capsual": "capsule", "capsuals": "capsules", "anuther": "another",
    "forgott": "forgot", "frend": "friend", "temprachur": "temperature", "coff": "cough",
    "tablut": "tablet", "tabluts": "tablets", "thursty": "thirsty", "realy": "really",
    "owt": "anything", "nowt": "nothing", "sendin": "sending", "worst HA": "worst headache",
    "hedake": "headache", "lite": "light", "eys": "eyes", "grandaughter": "granddaughter",
    "grandaughters": "granddaughters",
})
# Scots "o" (of) and "ah" (I), only where they cannot be anything else: "three o them", "the
# price o diesel", "if ah get the shivers".
_SCOTS_OF = re.compile(r"\b(\d+|one|two|three|four|five|wan|twa|yin|some|any|none|both|all|lot|"
                       r"bit|price|cost|cup|box|packet) o (?=\w)", re.IGNORECASE)
# Scots "ma" (my), not "my ma" (mum): "ma feet are aw pins an needles".
_SCOTS_MY = re.compile(r"(?<!my )(?<!me )(?<!our )(?<!yer )(?<!your )(?<!the )(?<!his )(?<!her )"
                       r"\bma (?=(?:feet|foot|heid|head|legs?|arms?|hands?|back|belly|tummy|chest|"
                       r"throat|eyes?|een|ears?|lugs|week|pills|tablets|capsules?|meat|dinner|"
                       r"breakfast|tea|wife|man|son|daughter|doctor|box|bloods|water|stools?|"
                       r"heart|skin|mouth|gums|nose|knees?|hip|bones|joints|bowels|guts|"
                       r"insides|medicine|meds|tablet|capsule|dose|break|bed)\b)", re.IGNORECASE)
_SCOTS_I = re.compile(r"\bah (?=(?:get|got|took|tuk|had|feel|felt|think|do|dae|did|didnt|cant|"
                      r"cannae|wis|was|am|hae|have|need|seen|saw|forgot|take|swallowed)\b)",
                      re.IGNORECASE)
# Clinical shorthand, in capitals only ("sob" is crying, "loc" a place): "SOB on exertion",
# "brief LOC", "PR bleed".
_CLINICAL_CAPS = {"SOB": "short of breath", "LOC": "loss of consciousness",
                  "PR bleed": "bleeding from my bottom", "PR bleeding": "bleeding from my bottom",
                  "N&V": "nausea and vomiting", "N+V": "nausea and vomiting", "CP": "chest pain",
                  "HA": "headache"}
_CLINICAL_CAPS_WORD = re.compile(
    r"(?<![\w&+])(" + "|".join(re.escape(k) for k in sorted(_CLINICAL_CAPS, key=len, reverse=True))
    + r")(?![\w&+])"
)
_PAIN_SPELT_PANE = re.compile(r"\bpanes? (?=in |on |at |behind |across )", re.IGNORECASE)
_PASSED_OUT = re.compile(r"\b(?:past|passd|parsed) out\b", re.IGNORECASE)
_SPEAK_WORD = re.compile(
    r"(?<![\w'])("
    + "|".join(re.escape(k) for k in sorted(_SPEAK, key=len, reverse=True) if _SPEAK[k] != k)
    + r")(?![\w'])",
    re.IGNORECASE,
)


_ASKED_TK = re.compile(r"\b((?:can|should|shall|could|do|will|to|may)(?: i)?) tk\b", re.IGNORECASE)


def plain_words(text: str) -> str:
    """Text speak spelt out: "4got 2day, tk it l8r?" -> "forgot today, take it later?"."""
    text = _ASKED_TK.sub(r"\1 take", text)  # "can i tk it" asks to take; "tk it" reports
    text = _PAIN_SPELT_PANE.sub("pain ", text)  # "pane in my chest"
    text = _PASSED_OUT.sub("passed out", text)  # "I past out"
    text = _CLINICAL_CAPS_WORD.sub(lambda m: _CLINICAL_CAPS[m.group(1)], text)
    text = _SPEAK_WORD.sub(lambda m: _SPEAK[m.group(1).lower()], text)
    return _SCOTS_MY.sub("my ", _SCOTS_I.sub("i ", _SCOTS_OF.sub(r"\1 of ", text)))
