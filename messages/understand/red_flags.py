"""The net of warning signs however put (bleeding, breathing, black stools), and "I've had it"."""

from __future__ import annotations

import re

SIGNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:blood|bleed|bleeding|bleeds|bled|bloody|bleedin)\b"), "bruising-bleeding"),
    (
        re.compile(
            r"\b(?:breathless|breathlessness|short of breath|out of breath|cant breathe|"
            r"cant breath|cannot breathe|struggling to breathe|hard to breathe|difficulty "
            r"breathing|breathing is (?:hard|difficult|bad|a struggle)|gasping|wheez\w*|puffed out|out of puff|"
            r"cant catch my breath|cannot catch my breath|puffing|panting|cant get my breath|"
            r"stop(?:ping)? to (?:breathe|catch)|run a marathon|ran a marathon)\b"
        ),
        "blood-clots",
    ),
    # Black or tarry stools however put: "stools have gone very dark, almost black".
    (
        re.compile(
            r"\b(?:poo|poos|stool|stools|poop|faeces|feces|motions?|bowel movements?|number "
            r"twos?)\b.{0,40}\b(?:black|tarry|like tar|jet black)\b|\b(?:black|tarry)\b.{0,20}"
            r"\b(?:poo|poos|stool|stools|poop|faeces|feces|motions?)\b"
        ),
        "bruising-bleeding",
    ),
    # Blood seen, not named: "the bowl was red after I went", gums pink on the toothbrush,
    # coughing up pinkish stuff, tiny red dots like flicked paint.
    (
        re.compile(
            r"\b(?:bowl|toilet|loo|pan|water|paper|tissue|pad|toothbrush|spit|sink)\b.{0,20}\b"
            r"(?:red|pink|pinkish|claret)\b|\bgums?\b.{0,25}\b(?:pink|red|claret)\b|\bclaret\b|"
            r"\bcough\w* up\b.{0,25}\b(?:pink\w*|red|rusty|brown)\b|\btiny (?:red |purple |dark )?"
            r"(?:dots|spots|specks|pinpricks|pin pricks)\b|\bflicked (?:red )?paint\b"
        ),
        "bruising-bleeding",
    ),
    # Chest pain however put: "feels like my heart's being squeezed", "crushing in my chest".
    # Not heartburn, a heart rate or a chest infection's cough.
    (
        re.compile(
            r"\b(?:chest|hearts?)\b(?! (?:rate|rhythm|beat|burn|infection|x ?ray))"
            r".{0,30}\b(?:squeez\w*|crush\w*|tight\w*|heavy|heaviness|pressure|clamp\w*|"
            r"vice|vise|gripp?\w*|stabbing)\b|\b(?:squeez\w*|crush\w*|tight|tightness|"
            r"pressure|stabbing|pain|pains|ache)\b.{0,15}\b(?:in|on|across|round) (?:the (?:middle|"
            r"centre|center|left side|left) of )?(?:my|his|her|the) (?:chest|heart)\b"
        ),
        "heart-attack",
    ),
    (
        re.compile(
            r"\b(?:breastbone|breast bone|sternum|heart area|area of my heart|round my heart)\b"
            r".{0,25}\b(?:hurt\w*|pain\w*|ach\w*|sore|burning|squeez\w*|tight\w*)\b|"
            r"\b(?:pain|pains|burning|ache|aching|hurting)\b.{0,12}\b(?:behind|in|across|under) "
            r"(?:my|the) (?:breastbone|breast bone|sternum|heart)\b"
        ),
        "heart-attack",
    ),
    # Yellow skin or eyes (jaundice): beyond the leaflet's words, a sign of the liver changes
    # it lists that the team must see the same day (hazard log H12).
    (
        re.compile(
            r"\b(?:jaundice\w*|yellow\w*)\b.{0,30}\b(?:eyes?|skin|whites)\b|"
            r"\b(?:eyes?|skin|whites)\b.{0,30}\b(?:yellow\w*|jaundice\w*)\b|\bjaundiced?\b"
        ),
        "liver-thyroid",
    ),
    # A pregnancy however put: "the wife thinks she might be expecting", "I could be pregnant".
    (
        re.compile(
            r"\b(?:might|may|could|think|thinks|possibly|probably|maybe|reckon|reckons|afraid|"
            r"worried)\b.{0,20}\b(?:expecting|pregnant|up the duff|in the family way|with child|"
            r"knocked up)\b|\b(?:test|tests) (?:was|is|came back|showed|shows) (?:positive|"
            r"2 lines|two lines)\b|\b(?:two|2) (?:lines|pink lines|blue lines)\b|"
            r"\b(?:shes|she s|she is|were|we re|we are|wife is|partner is|girlfriend is|wifes|"
            r"partners|girlfriends) (?:now )?expecting(?! (?:a|an|the|to|you|your|my|it|that|"
            r"him|her|them|us|me)\b)|\bperiod\b.{0,20}\b(?:late|missed|not come|hasnt come|"
            r"overdue|not arrived)\b|\b(?:pregnancy |preg |home )?test\b.{0,25}\bpositive\b(?<!"
            r"covid test positive)|\b(?:im|i m|i am) (?:\w+ )?late\b.{0,40}\b(?:never late|boobs|"
            r"breasts|period|sick in the morning)\b"
        ),
        "possible-pregnancy",
    ),
)
# A bleed from a part of the body: "my nose is giving blood" is no blood donation.
BODY_BLEED = re.compile(
    r"\b(?:nose|gums?|mouth|wound|cut|bottom|back passage|ear|ears|eye|eyes|lip|lips|skin)\b"
    r".{0,25}\b(?:blood|bleed\w*|bled)\b"
)
# Where blood is a sample or a measure, not a bleed: "blood test", "blood pressure".
NOT_A_SIGN = re.compile(
    r"\bblood (?:tests?|test results?|results?|pressure|sugars?|counts?|cells?|levels?|work|"
    r"donation|donor|type|transfusions?|thinners?|clots?|form|forms|check|checks|taken|sample|"
    r"samples|appointment|clinic)\b|\bbloods\b|\b(?:give|giving|gave|donate|donating) blood\b|"
    r"\bblood (?:and|or) (?:urine|wee)\b|\b(?:high|low) blood\b|\bin my blood\b|\bfor my "
    r"blood\b|\bmy blood (?:was|is|were) (?:low|high|ok|fine|normal)\b"
)
HAVE_IT = re.compile(
    r"\b(?:i ve had it|ive had it|i have it|ive got it|i ve got it|had it all|got it now|"
    r"had it since|i do have|its happening|it s happening|happening now)\b"
)
# Feeling very unwell without a named sign ("something is very wrong", "I feel awful"): the
# leaflet's "suddenly feeling unwell" may be an infection, so a possible red flag (a nurse
# checks) rather than a menu.
UNWELL = re.compile(
    r"\bsomethings? (?:is |s )?(?:very |really |seriously |badly )?wrong\b|\bfeel(?:s|ing)? "
    r"(?:so |really |very |absolutely |just )?(?:awful|terrible|dreadful|horrendous|rotten|"
    r"like death|like im dying|like i m dying|like i am dying)\b|\b(?:very|really|seriously|"
    r"so) (?:poorly|unwell)\b|\bproperly (?:ill|poorly|unwell)\b|\bhit by a bus\b|\bnot "
    r"(?:himself|herself|myself|themselves|right in (?:himself|herself|myself))\b|\b(?:very|really|seriously) ill\b(?! (?:just|take|have|be|do|"
    r"text|ring|call|let|get|try|go|see))"
)
