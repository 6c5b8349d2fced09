"""The net of warning signs however put (bleeding, breathing, black stools), and "I've had it"."""

from __future__ import annotations

import re

# A bleed that goes on: "gums wont stop", "bled right through the plaster and still dripping".
STILL_BLEEDING = re.compile(
    r"\b(?:gums?|nose|cut|plaster|dressing|wound|bandage|cannula|line site)\b.{0,30}\b(?:wont stop|"
    r"won t stop|will not stop|wont stop bleeding|still dripping|still bleeding|keeps bleeding|"
    r"hasnt stopped|has not stopped|pouring)\b|\b(?:nosebleeds?|nose bleeds?|bleed\w*|bled)\b.{0,50}"
    r"\b(?:wont stop|won t stop|will not stop|still dripping|pouring|hasnt stopped|has not "
    r"stopped|(?:started|starting|began|begun|going) again)\b|\bbled (?:right )?through\b|\bsoaked (?:through )?"
    r"(?:the |a |my )?(?:plaster|dressing|bandage|tissues?|towel|pillow)\b"
)
SIGNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:blood|bleed|bleeding|bleeds|bled|bloody|bleedin)\b"), "bruising-bleeding"),
    (
        re.compile(
            r"\b(?:breathless|breathlessness|short of breath|out of breath|cant breathe|"
            r"cant breath|cannot breathe|struggling to breathe|hard to breathe|difficulty "
            r"breathing|breathing is (?:hard|difficult|bad|a struggle)|gasping|wheez\w*|puffed out|out of puff|"
            r"cant catch my breath|cannot catch my breath|puffing|panting|cant get my breath|"
            r"stop(?:ping)? to (?:breathe|catch)|run a marathon|ran a marathon|full breath|"
            r"through a straw|fighting for (?:breath|air)|gasping for air|missing the air|short "
            r"breath|stopping for (?:breath|air)|cant get (?:any )?air|struggling for (?:breath|air)|"
            r"air hungry|no air|(?:cant|couldnt|could not|cannot) get (?:my|your|his|her) breath)\b"
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
    # A cut that will not stop; spots that do not fade under a glass.
    (
        re.compile(
            r"\b(?:cut|nicked|graze\w*|scratch\w*|wound)\b.{0,40}\b(?:dripping|wont stop|won t "
            r"stop|still going|keeps going|hasnt stopped|still bleeding)\b|\bpurple (?:freckles|dots|"
            r"spots|marks|patches|blotches|rash)\b|\bred points\b|\bblue marks\b|\b(?:dont|don t|"
            r"do not|doesnt|wont) fade when (?:i|you) press\b|\bglass test\b|\b(?:loo|toilet|bowl|pan)"
            r"\b.{0,40}\bblack\b|\btoilet is (?:coming |going )?black\b"
        ),
        "bruising-bleeding",
    ),
    # A knock to the head, however put: "cracked my head on the sink", "whacked me heid".
    (
        re.compile(
            r"\b(?:hit|cracked|bumped|banged|knocked|struck|whacked|smacked|bashed|clonked|"
            r"clattered|thumped)\b.{0,15}\b(?:my|his|her|me|their|the)? ?(?:head|heid|forehead|"
            r"skull|noggin)\b|\bcurtain\b.{0,40}\b(?:eye|eyes|vision|sight)\b"
        ),
        "bleeding-skull",
    ),
    # Fainting however put: "next thing I knew I was on the floor", "everything went grey".
    (
        re.compile(
            r"\bnext thing i knew\b|\beverything went (?:grey|gray|black|white|dark|fuzzy)\b|"
            r"\bwent over\b|\bcame over (?:all )?(?:funny|peculiar|strange|queer|weird|faint|"
            r"dizzy)\b|\bfunny turn\b|\b(?:dont|don t|cant) remember (?:going down|falling)\b|"
            r"\b(?:had to )?(?:sit|lie) (?:down )?on the (?:floor|grass|ground)\b"
        ),
        "fainting",
    ),
    # Allergic swelling however put: "face has blown up like a balloon".
    (
        re.compile(
            r"\b(?:face|lips|lip|tongue|eyes|eyelids|throat)\b.{0,15}\b(?:blown up|blew up|swelling "
            r"shut|swollen shut|swelling up|closing up|puffing up|"
            r"ballooned|like a balloon|puffed up|swelled up|swollen up|twice the size)\b"
        ),
        "allergic-reaction",
    ),
    # A leg or calf hot, kicked, massive or purple: a possible clot.
    (
        re.compile(
            r"\b(?:calf|calves|leg|thigh)\b.{0,40}\b(?:hot|kicked|throbbing|massive|huge|purple|"
            r"twice the size|rock hard|tight and)\b"
        ),
        "blood-clots",
    ),
    # Diarrhoea 4 or more times, or for days, however put: "back and forth to the toilet 5
    # times, all liquid", "bowels like a tap for three days", "lost count".
    (
        re.compile(
            r"^(?=.*\b(?:toilet|loo|bathroom|lavatory|bog|bowels?|poo\w*|stools?|runs|runny|motions|loose|"
            r"liquid|watery|water|bum|diarrh\w*)\b)(?=.*(?:\b(?:[4-9]|1\d|four|five|six|seven|"
            r"eight|nine|ten|eleven|twelve) (?:times|goes|trips|occasions|bouts|episodes|visits)\b|"
    r"\b(?:4th|5th|6th|7th|8th|9th|10th|fourth|fifth|sixth|seventh|eighth|ninth|tenth) (?:time|lot|go|"
    r"trip|bout|episode|visit)\b|\bevery hour\b|\blost count\b|"
            r"\blike a tap\b|\bpure water\b|\bmoved into the (?:loo|toilet|bathroom)\b|\bcant get "
            r"off the (?:loo|toilet)\b|\bfor (?:four|five|six|seven|[4-9]|\d\d) days\b|\bsince (?:saturday|"
            r"sunday|monday|tuesday|wednesday|thursday|friday|last week)\b|\b(?:runnin|running) "
            r"to the (?:loo|toilet|bathroom) all day\b)).*"
        ),
        "diarrhoea",
    ),
    # Chest pain however put: "feels like my heart's being squeezed", "crushing in my chest".
    # Not heartburn, a heart rate or a chest infection's cough.
    (
        re.compile(
            r"\b(?:chest|hearts?)\b(?! (?:rate|rhythm|beat|burn|infection|x ?ray))"
            r".{0,30}\b(?:squeez\w*|crush\w*|tight\w*|heavy|heaviness|pressure|clamp\w*|"
            r"vice|vise|gripp?\w*|stabbing|killin\w*|agony)\b|\belephant (?:sat|sitting|on)\b|"
            r"\bsitting on my chest\b|\b(?:squeez\w*|crush\w*|tight|tightness|"
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
    # A bleed that will not stop, however put (see ``STILL_BLEEDING``).
    (STILL_BLEEDING, "bruising-bleeding"),
    # A severe headache however put: "very bad head, like being hit with a hammer, and the
    # light hurts my eyes".
    (
        re.compile(
            r"\b(?:very|really|extremely|terribly|so) bad head\b|\b(?:hit|whacked|struck) (?:over "
            r"the head )?(?:with|by) a (?:hammer|brick|bat|cricket bat)\b|\blike a hammer\b|"
            r"\b(?:light|lights|brightness) (?:hurts|hurt|is hurting|are hurting) (?:my|his|her) "
            r"eyes\b|\bcant (?:bear|stand|look at) (?:the )?(?:light|lights)\b|\bworst head\b"
        ),
        "bleeding-skull",
    ),
    # Shock or a collapse coming: "gone very pale and clammy and keeps nodding off".
    (
        re.compile(
            r"\b(?:pale|grey|gray|white) and (?:clammy|sweaty|cold)\b|\bclammy and (?:pale|grey|"
            r"gray|cold|drowsy|confused)\b|\bkeeps? (?:nodding|dropping|drifting) off (?:mid|in the "
            r"middle)\b|\b(?:hard|cant|can t|cannot|couldnt) (?:to )?wake (?:him|her|them) up\b|"
            r"\bhard to wake\b"
        ),
        "fainting",
    ),
    # A collapse or drowsy confusion however put: "went pale and just slid down in his chair",
    # "not answering properly, mumbling and drowsy".
    (
        re.compile(
            r"\b(?:slid|slumped|slipped|sank) (?:down )?(?:in|off|out of) (?:his|her|my|the) (?:chair|"
            r"seat)\b|\bkeeled over\b|\bnot (?:answering|responding|talking|speaking) properly\b|"
            r"\bmumbling\b.{0,30}\b(?:drowsy|sleepy|confused)\b|\b(?:drowsy|sleepy)\b.{0,30}\b"
            r"(?:clammy|confused|mumbling)\b"
        ),
        "fainting",
    ),
    # A heart attack told by its company: "gone a funny grey colour and sweating buckets, says
    # his jaw aches".
    (
        re.compile(
            r"^(?=.*\bjaws?\b)(?=.*\b(?:sweat\w*|grey|gray|clammy|sick|chest|arm|breathless)\b).*"
        ),
        "heart-attack",
    ),
    # A racing or pounding heart with dizziness, sickness or breathlessness.
    (
        re.compile(
            r"\bhearts? (?:is |s )?(?:banging|pounding|racing|thumping|hammering)\b.{0,40}\b(?:dizzy|"
            r"faint|sick|breathless|short of breath|chest pain|clammy)\b"
        ),
        "heart-attack",
    ),
    # Gums "bleating", a bruise nobody knocked: low platelets.
    (
        re.compile(
            r"\bgums? (?:are |is |keep )?(?:bleating|bledding|bleding|bleedn|bleedng)\b|\b(?:bruise|"
            r"bruises|bruising|brose)\b.{0,40}\b(?:didnt|did not|never|havent|have not|dont|cant "
            r"remember) (?:knock|bang|bump|hit|do)\w*\b"
        ),
        "bruising-bleeding",
    ),
    # A clot felt: "my blood's clotting in my leg".
    (
        re.compile(r"\bclot\w*\b.{0,15}\b(?:leg|legs|calf|calves|arm|thigh|lung|lungs)\b"),
        "blood-clots",
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
            r"covid test positive)|\b(?:boobs|breasts|nipples)\b.{0,40}\b(?:im|i m|i am) (?:\w+ )?"
            r"late\b|\b(?:im|i m|i am) (?:\w+ )?late\b.{0,40}\b(?:never late|boobs|"
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
    r"draws?|drawn|"
    r"samples|appointment|clinic)\b|\bbloods\b|\b(?:give|giving|gave|donate|donating) blood\b|"
    r"\bblood (?:and|or) (?:urine|wee)\b|\b(?:high|low) blood\b|\bin my blood\b|\bblood (?:drive|"
    r"bank|donors?|service)\b|\bfor my "
    r"blood\b|\bmy blood (?:was|is|were) (?:low|high|ok|fine|normal)\b"
)
HAVE_IT = re.compile(
    r"\b(?:i ve had it|ive had it|i have it|ive got it|i ve got it|had it all|got it now|"
    r"had it since|i do have|its happening|it s happening|happening now|(?:it s|its|it has|"
    r"they ve|theyve) been (?:there|going on|happening|like that) since)\b"
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
# A period that came is no possible pregnancy: "period came on time, phew!".
NOT_PREGNANT = re.compile(
    r"\b(?:brother|brothers|brother s|son|sons|son s|cousin|cousins|cousin s) (?:wife|partner|"
    r"girlfriend) (?:is|s) (?:pregnant|expecting)\b|\bsister in law (?:is|s) (?:pregnant|expecting)\b|"
    r"^(?!.*\b(?:wife|partner|girlfriend|missus|fiancee|wifes|partners)\b).*\b(?:daughter|sister|"
    r"niece|granddaughter|daughter in law|friend|neighbour|neighbor|colleague|son s (?:wife|partner|"
    r"girlfriend))s?\b.{0,70}\b(?:pregnant|expecting)\b|\bpregnant (?:daughter|"
    r"sister|niece|granddaughter|daughter in law|friend|neighbour|colleague)\b|"
    r"\bnot (?:my|her) period\b|"
    r"\bperiod (?:came|has come|s come|arrived|has arrived|started|has started|turned up|is here)"
    r"\b(?! late)(?!.*\b(?:could i be|might i be|am i|might be|may be|could be) pregnant)|\b(?:pregnancy )?test (?:was |came back |is )?negative\b|\b(?:im|i m|i am|shes|"
    r"she s|she is|wife s|wifes|partner s|partners) (?:definitely |def |certainly )?(?:not|never "
    r"been) (?:pregnant|expecting)\b(?!.{0,30}\b(?:late|missed|positive|sure)\b)"
)
# A warning sign that was, and is over: "had a nosebleed last week, all fine now".
PAST = re.compile(
    r"\b(?:in the (?:summer|spring|autumn|winter)|in 0\d|in (?:19\d\d|20[01]\d|"
    r"202[0-4])|(?:the )?week before last|a fortnight ago|the other (?:week|day)|"
    r"(?:in|back in|since|during) (?:jan|january|feb|february|march|april|june|july|aug|"
    r"august|sept?|september|oct|october|nov|november|dec|december)|"
    r"years? ago|last year|last month|weeks? ago|months? ago|a while ago|last week|last "
    r"cycle|previous cycle)\b"
)
# An animal's sign: "my cat's got a temperature, vet says 39.5 is normal", "the dog cut his paw".
ANIMAL_SIGN = re.compile(
    r"\b(?:diaper|nappy|nappies)\b|^(?:\w+ ){0,4}?(?:dog|dogs|cat|cats|puppy|pup|kitten|hamster|horse|pony|rabbit|budgie|"
    r"parrot|guinea pig|tortoise|ferret|cow|coo|sheep|ewe|lamb|goat|pig|hen|chicken)(?: ?s)? (?:s |has |had |is |was |got |s got |cut |temp|"
    r"temperature|leg|paw|ear|eye|tummy|hoof|been |bleeding |bleedin |just |keeps )|\bvet (?:says|said|thinks|reckons)\b"
)
# Long ago, in the clause that tells the sign: "fainted at our wedding 45 years ago".
LONG_AGO = re.compile(
    r"(?<!passed )(?<!died )(?<!away )(?<!lost him )(?<!lost her )"
    r"\b(?:\d+|many|several|two|three|four|five|ten|twenty|thirty|forty|fifty) years ago\b|"
    r"\bback in (?:19|20)\d\d\b|(?<!died in )(?<!born in )(?<!married in )(?<!passed in )(?<!retired in )(?<!away in )\b(?:19\d\d|20[01]\d|202[0-4])\b|\bdecades? ago\b|\blong ago\b|\blast year\b|"
    r"\bnot since (?:i )?\w+ (?:retired|stopped|left|moved)\b|\bbefore i retired\b|\bold (?:clot|dvt|pe)\b|"
    r"\bas a (?:kid|child|teenager)\b|\bwhen i was (?:a kid|a child|little|young|younger)\b"
)
# A fall without a knock to the head: "fell over, just a grazed knee, didn't hit my head".
NO_HEAD = re.compile(
    r"\b(?:didnt|did not|never|no|without) (?:hit|bang|bump|knock|hurt)\w* (?:my|his|her) head\b|"
    r"\bno head (?:injury|knock)\b"
)
# A bruise healing or from a needle: "that bruise from the cannula is fading now".
BRUISE_HEALING = re.compile(
    r"\b(?:bruise|bruises|bruising)\b.{0,50}\b(?:fading|healing|going yellow|gone yellow|going "
    r"down|from the (?:cannula|blood test|needle|injection|drip|jab)|where (?:they|the nurse) "
    r"took blood)\b"
)
# A bleed that stopped by itself, soon: "bled a tiny bit ... but it stopped straight away".
STOPPED_SOON = re.compile(
    r"\b(?:stopped|stops|stopped on its own|dried up)\b (?:straight away|right away|quickly|"
    r"on its own|by itself|(?:after|in|within) (?:a (?:few|couple of?)|\d+|one|two|three|five|"
    r"ten) (?:mins?|minutes|seconds|secs))\b"
)
OVER = re.compile(
    r"\b(?:fine now|all fine|sorted|healed|settled|back to normal|nothing since|gone now|its gone|"
    r"grand now|checked (?:her|him|me|them) over|now finish\w*|all ok|today normal|resolved|now not "
    r"happening|long gone|all gone|already gone|now ok|nothing now|went away|did (?:their|its) job|"
    r"not happening now|"
    r"it s gone|better now|all good|cleared up|all cleared|cleared now|recovered|ok now|okay "
    r"now|fine today|all clear|turned out to be|gp checked|doctor checked|checked it out|fading|"
    r"healing|going yellow|"
    r"laughing about it)\b"
)
# Someone else's illness, told by a patient who reports their own dose or asks about contact:
# "my sister fainted at church, she's fine now. I took mine", "my son's got a temperature, can I
# still look after him?".
SOMEONE_ELSES = re.compile(
    r"^(?:my |our |the |me )?(?:\w+ s )?(?:little boy|little girl|mam|da|sister|brother|son|daughter|friends?|friend s|neighbours?|neighbors?|mother in law|"
    r"father in law|sister in law|brother in law|grandson|granddaughter|grandkids?|"
    r"grandchildren|nephew|niece|cousin|colleague|partner|husband|wife|hubby|mum|mom|dad|"
    r"auntie|aunt|uncle|kid|kids|child|son s girlfriend|friend in my \w+ group)s?\b|"
    # "my mate", not "mate, my temp is 38.8" (a greeting)
    r"^(?:my|our|a|the) mates?\b"
)
OWN_DOSE_OR_CONTACT = re.compile(
    r"\b(?:took mine|taken mine|had mine|i took (?:my|it)|ive taken (?:mine|it|my)|i ve taken "
    r"(?:mine|it|my)|i m fine|im fine|took my (?:capsule|dose|tablet|lenalidomide|revlimid)|can i "
    r"(?:still )?(?:look after|visit|see|be around|go near|hug)|can (?:he|she|they) (?:still )?"
    r"(?:visit|come round|stay)|am i at risk|should i (?:keep|stay) away|could that happen to me|"
    r"safe for me to (?:be around|be near|visit|see|look after|hug|stay with)|"
    r"is that something i|how likely is that for me|does that happen|will i catch it|catch it off|"
    r"keep away from (?:him|her|them)|wear (?:a )?mask|safe for (?:him|her|me|us) to (?:go|visit))\b"
)

# Asked about the drug's risk after telling of someone else's sign ("my friend on the same drug
# had a clot, does that happen a lot?"). Bare "should I worry" is not enough for the people a
# carer may be texting about (see ``NOT_THE_PATIENT``): "my husband has a temp of 39, should I
# worry?" is the patient's own red flag, told by his carer.
THEIR_RISK_ASKED = re.compile(
    r"\b(?:could (?:that|this|it) happen to me|(?:am i|are we) (?:at|more at) risk|how likely is "
    r"(?:that|it|this)|is that something i|does (?:that|this|it) (?:happen|matter)|"
    r"(?:does|will|would|can) (?:it|this|that|lenalidomide|revlimid|the drug|this drug|these "
    r"capsules|the capsules|the tablets) (?:make|cause|raise|increase|give|matter|thicken|thin)|is (?:that|it|"
    r"this) (?:true|common|a side effect|a thing)|(?:the )?same (?:drug|tablets?|capsules?|"
    r"medicine|treatment|medication)|on (?:it|this|lenalidomide|revlimid) too|also on "
    r"(?:it|this|lenalidomide|revlimid)|years ago|last year|what should i (?:look|watch) out for|"
    r"what should i watch for|how (?:can|do|could) i (?:avoid|prevent|stop) (?:that|it|this)|(?:a |big |high |real |much of a )?risk (?:with|on|of) (?:this|the|"
    r"lenalidomide|revlimid|it)|how common)\b"
)
# People who are not the patient a carer would be texting for: their sign plus "should I be
# worried?" asks about the patient's own risk.
NOT_THE_PATIENT = re.compile(
    r"^(?:my |our |the )?(?:\w+ s )?(?:friends?|friend s|neighbours?|neighbors?|colleague|cousin|friend in my \w+ "
    r"group)s?\b|^(?:my|our|a|the) mates?\b|\bnot (?:mum|mom|dad|him|her|me|the patient)\b"
)
# Someone else's sign told as long over ("my dad had a heart attack years ago"), not as now ("my
# mum has chest pain", "my mum had a fall": a carer may be texting about the patient).
THEIRS_OVER = re.compile(
    r"\b(?:years ago|last year|used to|died|passed away|in the past|a while back|long time ago|"
    r"when i was (?:a kid|a child|little|young|younger|a teenager|a girl|a boy|pregnant)|as a "
    r"(?:kid|child|teenager)|before (?:i started|the treatment|treatment|this drug|all this)|"
    r"last cycle|previous cycle|"
    r"\d+ years|last month|months ago)\b"
)
THEIRS_NOW = re.compile(r"\b(?:has|have|is|s|are|having|now|today|tonight|this morning|currently|keeps)\b")
WORRIED = re.compile(r"\bshould i (?:be )?(?:worr\w*|concerned)\b|\bam i (?:at )?risk\b")

# "Bleeding" and "bloody" as swear words: "bleeding nuisance", "bloody marvellous".
SWEARING = frozenset({"nuisance", "miracle", "hell", "heck", "thing", "things", "idiot", "texts",
                    "messages", "phone", "annoying", "ridiculous", "typical", "marvellous",
                    "brilliant", "great", "lovely", "freezing", "boiling", "weather", "traffic",
                    "bus", "computer", "useless", "ages", "good", "well", "right", "reminders",
                    "nora", "cheek", "app", "kids", "dog", "cat", "rain", "forms", "pain in",
                    "knackered", "tired", "exhausted", "shattered", "cold", "hot", "awful",
                    "fed", "sick", "starving", "shame", "joke", "nightmare"})  # fmt: skip
