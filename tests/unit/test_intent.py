"""Inbound texts as patients really send them, and what the bot must take them to mean."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from messages.leaflet import Topic
from messages.understand import Reading, Understanding, understand

R, U = "routine", "urgent"
LONG_CHAT = "Hi, just wanted to say thanks for all the reminders, they really help. " * 20

# (text, kind, first topic or None, urgency)
CASES: list[tuple[str, str, str | None, str]] = [
    # Dose taken: words, emoji, typos, extra words.
    ("Taken", "taken", None, R),
    ("taken.", "taken", None, R),
    ("TAKEN!!", "taken", None, R),
    ("Taken \U0001f44d", "taken", None, R),
    ("took it", "taken", None, R),
    ("Took it at 9", "taken", None, R),
    ("yes took it", "taken", None, R),
    ("Yes I've taken it thanks", "taken", None, R),
    ("done", "taken", None, R),
    ("Done \u2705", "taken", None, R),
    ("\u2705", "taken", None, R),
    ("\U0001f44d", "taken", None, R),
    ("\U0001f44d\U0001f44d", "taken", None, R),
    ("all done", "taken", None, R),
    ("yes done", "taken", None, R),
    ("yep", "taken", None, R),
    ("DONE!!!", "taken", None, R),
    ("tkaen", "taken", None, R),
    ("tooK iT", "taken", None, R),
    ("had it with breakfast", "taken", None, R),
    ("just taken my capsule", "taken", None, R),
    ("I have taken today's dose", "taken", None, R),
    ("i've had it", "taken", None, R),
    ("Had my capsule", "taken", None, R),
    ("TAKEN thank you", "taken", None, R),
    ("taken \u2705 thanks", "taken", None, R),
    ("took 25mg at 9:00", "taken", None, R),
    ("just took it late, is that ok?", "taken", None, R),
    ("Taken, a bit constipated though", "taken", "constipation", R),
    ("took it this morning, feeling a bit sick", "taken", "sickness", R),
    ("Done. Can I have the flu jab?", "taken", "vaccines", R),
    # Dose missed.
    ("Missed", "missed", "missed-dose", R),
    ("i MISSED my pill", "missed", "missed-dose", R),
    ("I missed my dose this morning", "missed", "missed-dose", R),
    ("forgot", "missed", "missed-dose", R),
    ("Forgot to take it", "missed", "missed-dose", R),
    ("sorry forgot to take it last night", "missed", "missed-dose", R),
    ("mised", "missed", "missed-dose", R),
    ("missd my tablet", "missed", "missed-dose", R),
    ("I didn't take it today", "missed", None, R),
    ("didnt take it", "missed", None, R),
    ("skipped today", "missed", None, R),
    ("no", "missed", None, R),
    ("nope", "missed", None, R),
    ("missed it yesterday because I was throwing up", "missed", "sickness", R),
    ("I was sick and forgot to take it", "missed", "sickness", R),
    # Later / snooze.
    ("later", "later", None, R),
    ("LATER pls", "later", None, R),
    ("snooze", "later", None, R),
    ("snoze", "later", None, R),
    ("remind me later", "later", None, R),
    ("not yet", "later", None, R),
    ("haven't taken it yet", "later", None, R),
    ("Not taken yet, will do after lunch", "later", None, R),
    ("I'll take it in an hour", "later", None, R),
    ("will take it after dinner", "later", None, R),
    ("in 30 mins", "later", None, R),
    # Both taken and missed: ask rather than guess.
    ("forgot yesterday, took today's", "taken", None, R),
    ("I thought I took it but I forgot", "missed", None, R),
    # What's next.
    ("next", "next", None, R),
    ("NEXT", "next", None, R),
    ("what's next", "next", None, R),
    ("whats next?", "next", None, R),
    ("when is my next dose", "next", None, R),
    ("when do I restart after the break", "next", None, R),
    ("when is my next blood test", "next", "blood-tests", R),
    # Carrier keywords: only as the whole message.
    ("STOP", "stop", None, R),
    ("stop", "stop", None, R),
    ("Stop.", "stop", None, R),
    ("STOP!", "stop", None, R),
    (" stop \n", "stop", None, R),
    ("stopall", "stop", None, R),
    ("UNSUBSCRIBE", "stop", None, R),
    ("cancel", "stop", None, R),
    ("End", "stop", None, R),
    ("quit", "stop", None, R),
    ("revoke", "stop", None, R),
    ("optout", "stop", None, R),
    ("Opt out", "stop", None, R),
    ("/stop", "stop", None, R),
    ("stop the diarrhoea", "topic", "diarrhoea", R),
    ("how do I stop being sick", "topic", "sickness", R),
    ("STOP texting me about diarrhoea", "topic", "diarrhoea", R),
    ("Is it safe to stop taking it?", "topic", "stopping-treatment", R),
    ("please stop texting me", "stop_request", None, R),
    ("START", "start", None, R),
    ("start", "start", None, R),
    ("unstop", "start", None, R),
    ("HELP", "help", None, R),
    ("Help!", "help", None, R),
    ("info", "help", None, R),
    ("?", "unknown", None, R),
    ("hello", "chat", None, R),
    ("can you help", "help", None, R),
    ("please help me", "help", None, R),
    # Menu choices.
    ("1", "menu_choice", None, R),
    ("2", "menu_choice", None, R),
    ("3.", "menu_choice", None, R),
    ("option 2", "menu_choice", None, R),
    ("#3", "menu_choice", None, R),
    ("1\ufe0f\u20e3", "menu_choice", None, R),
    # Temperatures: 38.0C and above is a red flag; below gets infection advice.
    ("38.4", "red_flag", "fever", U),
    ("38", "red_flag", "fever", U),
    ("temp 38,2", "red_flag", "fever", U),
    ("temperature of 101F", "red_flag", "fever", U),
    ("101 f", "red_flag", "fever", U),
    ("38.5\u00b0C", "red_flag", "fever", U),
    ("38 degrees", "red_flag", "fever", U),
    ("thermometer says 100.4F", "red_flag", "fever", U),
    ("my temperature is 101.5", "red_flag", "fever", U),
    ("it's 39.2C and I'm shaking", "red_flag", "fever", U),
    ("took it, temp is 38.6", "red_flag", "fever", U),
    ("37.5", "topic", "infection", R),
    ("my temp is 37.8", "topic", "infection", R),
    ("Temp 37.2 feel ok", "topic", "infection", R),
    ("temperature 36.9", "topic", "infection", R),
    ("99.5 F", "topic", "infection", R),
    ("fever 37.6", "topic", "infection", R),
    ("temp 37.6 and shivery", "red_flag", "fever", U),
    ("feeling really shivery and hot, temp 37.9", "red_flag", "fever", U),
    ("what temperature should I worry about", "topic", "fever", R),  # risk_question
    ("cycle 2 day 38 all good", "unknown", None, R),
    # Red flags in words.
    ("I feel hot and shivery", "red_flag", "fever", U),
    ("shivering and feel awful", "red_flag", "fever", U),
    ("feel suddenly unwell", "red_flag", "fever", U),
    ("I've got a fever", "red_flag", "fever", U),
    ("I have a temperature", "red_flag", "fever", U),
    ("\U0001f912", "red_flag", "fever", U),
    ("I have chest pain", "red_flag", "heart-attack", U),
    ("pain in my chest spreading to my arm", "red_flag", "heart-attack", U),
    ("tight chest", "red_flag", "heart-attack", U),
    ("took it but have chest pain", "red_flag", "heart-attack", U),
    ("my leg is swollen and painful", "red_flag", "blood-clots", U),
    ("calf pain on one side", "red_flag", "blood-clots", U),
    ("suddenly breathless", "red_flag", "blood-clots", U),
    ("cant breathe properly", "red_flag", "blood-clots", U),
    ("nosebleed that won't stop", "red_flag", "bruising-bleeding", U),
    ("my gums bleed when I brush", "red_flag", "bruising-bleeding", U),
    ("lots of bruises on my legs", "red_flag", "bruising-bleeding", U),
    ("brusing on my arms", "red_flag", "bruising-bleeding", U),
    ("tiny red spots on my arms", "red_flag", "bruising-bleeding", U),
    ("blood in my wee", "red_flag", "bruising-bleeding", U),
    ("bleeding gums and a sore mouth", "red_flag", "bruising-bleeding", U),
    ("severe headache", "red_flag", "bleeding-skull", U),
    ("worst headache of my life", "red_flag", "bleeding-skull", U),
    ("suddenly very dizzy", "red_flag", "bleeding-skull", U),
    ("I'm confused and my eyesight has gone funny", "red_flag", "bleeding-skull", U),
    ("lips swelling and wheezy", "red_flag", "allergic-reaction", U),
    ("wheezeing", "red_flag", "allergic-reaction", U),
    ("itchy rash all over", "red_flag", "allergic-reaction", U),
    ("puffy face", "red_flag", "allergic-reaction", U),
    ("I might be pregnant", "red_flag", "possible-pregnancy", U),
    ("missed my period", "red_flag", "possible-pregnancy", U),
    ("my period is late", "red_flag", "possible-pregnancy", U),
    ("my partner is pregnant", "red_flag", "possible-pregnancy", U),
    ("positive pregnancy test", "red_flag", "possible-pregnancy", U),
    ("diarrhoea for 4 days", "red_flag", "diarrhoea", U),
    ("had the runs for a week", "red_flag", "diarrhoea", U),
    ("severe diarrhoea", "red_flag", "diarrhoea", U),
    ("I took it. Also had diarrhoea for 5 days now", "red_flag", "diarrhoea", U),
    ("weeing loads, bones hurt and I feel weak", "red_flag", "bone-pain", U),  # either answer says call
    ("took two by mistake", "red_flag", "too-many", U),
    ("I accidentally took a double dose", "red_flag", "too-many", U),
    ("my grandson swallowed one of my capsules", "red_flag", "too-many", U),
    ("I feel like ending it all", "red_flag", "mood-depression", U),
    ("headache and chest pain", "red_flag", "heart-attack", U),
    ("I have chest pain. " + LONG_CHAT, "red_flag", "heart-attack", U),
    # Side-effect questions in lay words and typos.
    ("constipation", "topic", "constipation", R),
    ("constipated", "topic", "constipation", R),
    ("constapation", "topic", "constipation", R),
    ("bunged up", "topic", "constipation", R),
    ("havent pooed in days", "topic", "constipation", R),
    ("can I take a laxative", "topic", "constipation", R),
    ("diarrhoea", "topic", "diarrhoea", R),
    ("diarhea", "topic", "diarrhoea", R),
    ("the runs", "topic", "diarrhoea", R),
    ("diarrhoea for 2 days", "topic", "diarrhoea", R),
    ("feeling sick", "topic", "sickness", R),
    ("throwing up", "topic", "sickness", R),
    ("vomitting", "topic", "sickness", R),
    ("\U0001f92e", "topic", "sickness", R),
    ("pins and needles in my feet", "topic", "tingling-numbness", R),
    ("numbness in my fingers", "topic", "tingling-numbness", R),
    ("tingly fingers", "topic", "tingling-numbness", R),
    ("so tired", "topic", "fatigue", R),
    ("exhausted all the time", "topic", "fatigue", R),
    ("breathless when walking up stairs", "red_flag", "blood-clots", U),
    ("headaches every day", "topic", "headache", R),
    ("headach", "topic", "headache", R),
    ("my eyes are blurry", "topic", "blurred-vision", R),
    ("can I drive", "topic", "dizziness-driving", R),
    ("dizzyness when I stand up", "topic", "dizziness-driving", R),
    ("leg cramps at night", "topic", "cramps-aches", R),
    ("my joints hurt", "topic", "joint-pain", R),
    ("bone pain", "topic", "bone-pain", R),
    ("ringing in my ears", "topic", "hearing-tinnitus", R),
    ("can't sleep", "topic", "sleep", R),
    ("feeling low", "topic", "mood-depression", R),
    ("dry mouth", "topic", "mouth", R),
    ("sweating at night", "topic", "sweating", R),
    ("can I go in the sun", "topic", "sun-sensitivity", R),
    ("I've got a rash", "topic", "skin-rash", R),
    ("my skin is itchy", "topic", "skin-rash", R),
    ("swollen ankles", "topic", "swelling", R),
    ("tummy pain", "topic", "tummy-pain", R),
    ("thirsty all the time", "topic", "blood-sugar", R),
    ("food tastes metallic", "topic", "appetite-taste", R),
    ("palpitations", "topic", "heart-rhythm", R),
    ("cataracts", "topic", "cataract", R),
    ("low libido", "topic", "erection-libido", R),
    ("will it give me leukaemia", "topic", "second-cancers", R),
    ("shaky hands", "topic", "tremor", R),
    ("potassium", "topic", "blood-salts", R),
    ("flu like symptoms", "topic", "flu-like", R),
    ("chest infection", "topic", "infection", R),
    ("sore throat and a cough", "topic", "infection", R),
    ("what are the side effects", "topic", "side-effects", R),
    ("side efects", "topic", "side-effects", R),
    ("heartburn", "topic", "heartburn", R),
    # Treatment questions.
    ("can I have the flu jab", "topic", "vaccines", R),
    ("is the covid vaccine ok", "topic", "vaccines", R),
    ("my granddaughter had her mmr jab", "topic", "vaccines", R),
    ("vacine", "topic", "vaccines", R),
    ("Can I give blood", "topic", "blood-donation", R),
    ("can I breastfeed", "topic", "breastfeeding", R),
    ("lactose intolerant", "topic", "lactose", R),
    ("can I take paracetamol", "topic", "other-medicines", R),
    ("is it ok with the pill", "topic", "other-medicines", R),
    ("what contraception should I use", "topic", "contraception", R),
    ("Can I get pregnant on this?", "topic", "contraception", R),
    ("how often pregnancy tests", "topic", "pregnancy-tests", R),
    ("can I donate sperm", "topic", "men-condoms", R),
    ("My partner and I want to try for a baby", "topic", "fertility", R),
    ("when are my bloods", "next", "blood-tests", R),
    ("how do I store them", "topic", "storage-handling", R),
    ("can my pregnant daughter touch the pack", "topic", "storage-handling", R),
    ("can I take it with food", "topic", "how-to-take", R),
    ("Do I take it during the break week?", "dose_question", None, R),
    ("what if I miss a dose", "topic", "missed-dose", R),
    ("what happens if I forget", "topic", "missed-dose", R),
    ("should i double up tomorrow?", "topic", "make-up-dose", R),  # issue 11: was missed-dose
    # Two topics: both come back.
    ("side effects of constipation", "topic", "constipation", R),
    ("constipation and headache", "topic", "constipation", R),
    # Nothing we can answer safely: never guess (hair, alcohol and "what is it" are topics
    # since issue 12, whose answers say what the leaflet does not cover).
    ("hair loss", "topic", "hair", R),  # issue 12: the answer says the leaflet lists none
    ("can I drink alcohol", "topic", "alcohol", R),  # issue 12: the leaflet is silent
    ("what is lenalidomide", "topic", "what-it-does", R),  # issue 12
    ("thank you", "unknown", None, R),
    ("ok", "unknown", None, R),
    ("never mind", "unknown", None, R),
    ("...", "unknown", None, R),
    ("\U0001f600", "unknown", None, R),
    ("j'ai de la fi\u00e8vre", "red_flag", "fever", U),
    ("Ich habe Kopfschmerzen", "other_language", None, R),
    ("\u6211\u5fd8\u4e86\u5403\u836f", "other_language", None, R),
    ("\u0633\u0644\u0627\u0645", "other_language", None, R),
    ("hola, tengo diarrea", "other_language", None, R),  # a keyword matched
    (LONG_CHAT + " Anyway I have chest pain", "unknown", None, R),  # beyond 1,000 chars
    ("Taken. " + "blah " * 300, "taken", None, R),
    # A second batch, written before the classifier saw them (64/67 right first time).
    ("taken thx", "taken", None, R),
    ("Took my tablet", "taken", None, R),
    ("yes had it", "taken", None, R),
    ("Done it", "taken", None, R),
    ("taken at 8am", "taken", None, R),
    ("tablet taken \U0001f48a", "taken", None, R),
    ("Already took it", "taken", None, R),
    ("i forgot my tablet today", "missed", "missed-dose", R),
    ("Didn't have it this morning", "missed", None, R),
    ("missed this mornings dose", "missed", "missed-dose", R),
    ("Forgot!! sorry", "missed", "missed-dose", R),
    ("i fogot", "missed", "missed-dose", R),
    ("will do it later", "later", None, R),
    ("remind me in 20 minutes", "later", None, R),
    ("not yet, at work", "later", None, R),
    ("when's my next one", "next", None, R),
    ("STOP ALL", "stop", None, R),
    ("Quit.", "stop", None, R),
    ("HELP?", "help", None, R),
    ("2)", "menu_choice", None, R),
    ("temp is 38.1", "red_flag", "fever", U),
    ("thermometer reads 39", "red_flag", "fever", U),
    ("my temperature is 37.7 is that ok", "topic", "infection", R),
    ("temp 102F", "red_flag", "fever", U),
    ("I have the chills", "red_flag", "fever", U),
    ("bad pain in my calf", "red_flag", "blood-clots", U),
    ("pain in chest and left arm", "red_flag", "heart-attack", U),
    ("my nose keeps bleeding", "red_flag", "bruising-bleeding", U),
    ("sudden bad headache", "red_flag", "bleeding-skull", U),
    ("my lips are swollen", "red_flag", "allergic-reaction", U),
    ("I think I'm pregnant", "red_flag", "possible-pregnancy", U),
    ("period is 2 weeks late", "red_flag", "possible-pregnancy", U),
    ("diarrhea 5 days now", "red_flag", "diarrhoea", U),
    ("bad diarrhoea won't stop", "red_flag", "diarrhoea", U),
    ("short of breath all of a sudden", "red_flag", "blood-clots", U),
    ("havent been to the loo for 3 days", "topic", "constipation", R),
    ("I feel nauseous", "topic", "sickness", R),
    ("my feet are numb", "topic", "tingling-numbness", R),
    ("I get cramp in my legs", "topic", "cramps-aches", R),
    ("skin is really dry", "topic", "skin-rash", R),
    ("can I have my covid booster", "topic", "vaccines", R),
    ("can i take ibuprofen", "topic", "other-medicines", R),
    ("where should i keep the capsules", "topic", "storage-handling", R),
    ("do i need to use condoms", "topic", "men-condoms", R),
    ("what if I'm sick after taking it", "topic", "vomited-dose", R),  # issue 11: was sickness
    ("feeling down lately", "topic", "mood-depression", R),
    ("can I sunbathe", "topic", "sun-sensitivity", R),
    ("will I lose my hair", "topic", "hair", R),  # issue 12
    ("who is this", "help", None, R),  # the menu says what lenabot is
    ("bonjour", "other_language", None, R),
    # Safety questions (issue 11): answered, never "did not understand", and a dose word inside
    # the question ("sick after taking it", "take two tomorrow") records nothing.
    ("can i share my capsules", "topic", "sharing-capsules", R),
    ("Can I give my husband one of my capsules?", "topic", "sharing-capsules", R),
    ("can my husband take one of my capsules", "topic", "sharing-capsules", R),
    ("my sister takes the same drug can i give her some", "topic", "sharing-capsules", R),
    ("can i lend my tablets to my friend", "topic", "sharing-capsules", R),
    ("can i borrow some of my friends capsules till i get more", "topic", "sharing-capsules", R),
    ("my mum has run out can she have some of mine", "topic", "sharing-capsules", R),
    ("can i shre my tablets", "topic", "sharing-capsules", R),
    ("SHARRING CAPSULES OK?", "topic", "sharing-capsules", R),
    ("I was sick after taking it", "topic", "vomited-dose", R),
    ("i was sick straight after i took it, do i take another?", "topic", "vomited-dose", R),
    ("I took it but was sick 10 mins later", "topic", "vomited-dose", R),
    ("took my capsule then vomited", "topic", "vomited-dose", R),
    ("threw up my capsule", "topic", "vomited-dose", R),
    ("brought it back up 10 mins later", "topic", "vomited-dose", R),
    ("i threw it up an hour later", "topic", "vomited-dose", R),
    ("i vomitted it up", "topic", "vomited-dose", R),
    ("thrw it up", "topic", "vomited-dose", R),
    ("sick aftr taking my capsule", "topic", "vomited-dose", R),
    ("Vomited after my tablet this morning", "topic", "vomited-dose", R),
    ("does my carer need gloves", "topic", "carer-handling", R),
    ("my carer gives me my capsules does she need gloves", "topic", "carer-handling", R),
    ("my wife gives me my tablets, does she need gloves?", "topic", "carer-handling", R),
    ("can my wife handle my capsules", "topic", "carer-handling", R),
    ("my daughter helps with my tablets, should she wash her hands", "topic", "carer-handling", R),
    ("shud my carer wash her hands after", "topic", "carer-handling", R),
    ("my son pops them out of the pack for me", "topic", "carer-handling", R),
    ("my grandaughter is pregnant can she handle them", "topic", "carer-handling", R),
    ("gloves?", "topic", "carer-handling", R),
    ("can I take an extra one tomorrow?", "topic", "make-up-dose", R),
    ("take two tomorrow to catch up", "topic", "make-up-dose", R),
    ("ill take 2 tomorrow to make up for it", "topic", "make-up-dose", R),
    ("Can I tkae an extra one tmrw", "topic", "make-up-dose", R),
    ("can i take an extra capsule in my break week to catch up", "topic", "make-up-dose", R),
    ("can I take both tomorrow", "topic", "make-up-dose", R),
    ("doubel up?", "topic", "make-up-dose", R),
    ("CAN I TAKE 2 TOMORROW", "topic", "make-up-dose", R),
    # A real miss or dose report beside the question is still recorded.
    ("forgot yesterday, can i take 2 today to catch up", "missed", "make-up-dose", R),
    ("took it this morning. can I take two tomorrow?", "taken", "make-up-dose", R),
    ("took two to catch up", "red_flag", "too-many", U),
    ("I passed out", "red_flag", "fainting", U),
    ("i fainted after taking it", "red_flag", "fainting", U),
    ("my husband collapsed", "red_flag", "fainting", U),
    ("blacked out in the shower", "red_flag", "fainting", U),
    ("feel faint", "red_flag", "fainting", U),
    ("pased out", "red_flag", "fainting", U),
    ("i collasped at work", "red_flag", "fainting", U),
    ("I fainted yesterday but feel fine now", "red_flag", "fainting", U),
    ("my wife found me on the floor", "red_flag", "fainting", U),
    # Topics added in issue 12: capsules opened, broken, dropped or left over; alcohol, sex,
    # hair, what the drug does, whether it is chemo. Where the leaflet is silent (alcohol,
    # hair) the answer says so and points to the team.
    ("can i open the capsule and mix it in yoghurt", "topic", "opening-capsules", R),
    ("Can I crush my capsules?", "topic", "opening-capsules", R),
    ("is it ok to chew them", "topic", "opening-capsules", R),
    ("can i opn the capsule and put it in food", "topic", "opening-capsules", R),
    ("can I dissolve it in water", "topic", "opening-capsules", R),
    ("the capsules are too big, can i cut them in half", "topic", "opening-capsules", R),
    ("CAN I SPRINKLE IT ON MY FOOD", "topic", "opening-capsules", R),
    ("i choked on my capsule", "topic", "opening-capsules", R),
    ("my capsule is broken", "topic", "broken-capsule", R),
    ("the capsule broke and powder came out", "topic", "broken-capsule", R),
    ("capsule cracked in the pack", "topic", "broken-capsule", R),
    ("theres white powder in the packet", "topic", "broken-capsule", R),
    ("i got the powder on my hands", "topic", "broken-capsule", R),
    ("brokn capsule what do i do", "topic", "broken-capsule", R),
    ("One of the capsules looks damaged", "topic", "broken-capsule", R),
    ("I dropped my capsule down the sink", "topic", "dropped-capsule", R),
    ("dropped a tablet on the floor", "topic", "dropped-capsule", R),
    ("droped my pill on the floor, can i still use it", "topic", "dropped-capsule", R),
    ("lost one down the plughole", "topic", "dropped-capsule", R),
    ("i cant find my capsule, i think it rolled under the sofa", "topic", "dropped-capsule", R),
    ("DROPPED ONE ON THE FLOOR", "topic", "dropped-capsule", R),
    ("what do i do with leftover capsules", "topic", "leftover-capsules", R),
    ("I have some capsules left over from last cycle", "topic", "leftover-capsules", R),
    ("how do i dispose of them", "topic", "leftover-capsules", R),
    ("can i throw the unused ones in the bin", "topic", "leftover-capsules", R),
    ("do I take them back to the pharmacy", "topic", "leftover-capsules", R),
    ("got lefover tablets what do i do", "topic", "leftover-capsules", R),
    ("treatment has stopped what do i do with the rest", "topic", "leftover-capsules", R),
    ("can i have a glass of wine", "topic", "alcohol", R),
    ("is it ok to have a beer", "topic", "alcohol", R),
    ("alchohol?", "topic", "alcohol", R),
    ("going to the pub tonight can i have a pint", "topic", "alcohol", R),
    ("can i drink on lenalidomide", "topic", "alcohol", R),
    ("is booze ok at christmas", "topic", "alcohol", R),
    ("alcahol ok with revlimid", "topic", "alcohol", R),
    ("can i have sex", "topic", "sex", R),
    ("is it safe to have sex on this", "topic", "sex", R),
    ("can i still have sex with my wife", "topic", "sex", R),
    ("Sex during treatment?", "topic", "sex", R),
    ("can we make love during my break", "topic", "sex", R),
    ("sexx ok?", "topic", "sex", R),
    ("can i have intercorse", "topic", "sex", R),
    ("my hair is falling out", "topic", "hair", R),
    ("going bald on this?", "topic", "hair", R),
    ("hair coming out in clumps", "topic", "hair", R),
    ("hare loss?", "topic", "hair", R),
    ("will my hair fall out", "topic", "hair", R),
    ("what does lenalidomide do", "topic", "what-it-does", R),
    ("how does it work", "topic", "what-it-does", R),
    ("How does Revlimid work?", "topic", "what-it-does", R),
    ("what are these capsules for", "topic", "what-it-does", R),
    ("what does it actualy do", "topic", "what-it-does", R),
    ("wat is lenalidomide", "topic", "what-it-does", R),
    ("is it chemo", "topic", "is-it-chemo", R),
    ("is this chemotherapy?", "topic", "is-it-chemo", R),
    ("is revlimid a chemo drug", "topic", "is-it-chemo", R),
    ("am i on chemo", "topic", "is-it-chemo", R),
    ("is it kemo", "topic", "is-it-chemo", R),
    ("is lenalidomide chemotheraphy", "topic", "is-it-chemo", R),
    ("what kind of drug is it", "topic", "is-it-chemo", R),
    ("the capsule split in my hand", "topic", "broken-capsule", R),
    ("one is cracked in the blister pack", "topic", "broken-capsule", R),
    ("it fell out of my hand and rolled under the bed", "topic", "dropped-capsule", R),
    ("got some left over from last cycle", "topic", "leftover-capsules", R),
    ("is sex safe?", "topic", "sex", R),
    ("why am I taking this drug", "topic", "what-it-does", R),
    ("am i having chemotherapy", "topic", "is-it-chemo", R),
    ("took it with a glass of water", "taken", None, R),  # water is not wine
    # A word inside a longer one ("nurses" stems like "nursing") or an idiom ("cod liver
    # oil") must not decide a topic alone (issue 12).
    ("Merry Christmas to all the nurses", "unknown", None, R),
    ("thank you nurses x", "unknown", None, R),
    ("can I speak to a nurse", "unknown", None, R),
    ("is it ok while nursing my baby", "topic", "breastfeeding", R),
    ("cod liver oil", "topic", "other-medicines", R),
    ("can i take cod liver oil", "topic", "other-medicines", R),
    ("my liver tests", "topic", "liver-thyroid", R),
    # Empty.
    ("", "empty", None, R),
    ("   ", "empty", None, R),
    ("\t\n", "empty", None, R),
    ("\u3000\u200b\u00a0", "empty", None, R),
]


# The table's kinds, as the clause readings of messages.understand say them.
_READS_AS = {
    "taken": {"taken"},
    "missed": {"missed", "dose_question"},
    "later": {"later", "intend"},
    "next": {"schedule"},
    "red_flag": {"red_flag", "extra"},
    "topic": {"topic", "risk_question"},
    "help": {"help"},
    "stop": {"stop"},
    "start": {"start"},
    "menu_choice": {"menu_choice"},
    "unknown": {"unknown", "chat"},
    "chat": {"chat"},
    "stop_request": {"stop_request"},
    "other_language": {"other_language"},
    "dose_question": {"dose_question"},
    "empty": {"empty"},
}


def _first(u: Understanding, kinds: set[str]) -> Reading | None:
    return next((r for r in u.readings if r.kind in kinds), None)


@pytest.mark.parametrize(("text", "kind", "topic", "urgency"), CASES, ids=lambda v: repr(v)[:40])
def test_inbound_text_is_understood(text: str, kind: str, topic: str | None, urgency: str) -> None:
    u = understand(text)
    found = _first(u, _READS_AS[kind])
    assert found is not None, (kind, u.readings)
    assert u.urgent == (urgency == U), u.readings
    if kind in ("topic", "red_flag") and topic is not None:
        topics = ("too-many",) if found.kind == "extra" else found.topics
        assert topics[:1] == (topic,), found
    if kind == "next" and topic is not None:  # "when is my next blood test"
        assert found.detail == topic.removesuffix("s").replace("-", "_")


def test_the_table_is_big_and_varied() -> None:
    assert len(CASES) >= 150
    assert len({c[0] for c in CASES}) == len(CASES)  # no duplicates padding the count
    assert {c[1] for c in CASES} == set(_READS_AS)


def test_a_red_flag_keeps_the_dose_report_for_the_record() -> None:
    assert understand("took it but have chest pain").has("taken", "red_flag")
    assert not understand("missed my period").has("missed")  # "missed" is the red flag's
    assert not understand("took two by mistake").has("taken")  # an extra dose, not a report


@pytest.mark.parametrize(
    "text",
    [
        "I was sick after taking it",
        "i was sick straight after i took it, do i take another?",
        "brought it back up 10 mins later",  # "later" tells the story: no snooze
        "can I take an extra one tomorrow?",
        "ill take 2 tomorrow to make up for it",
        "can my husband take one of my capsules",
    ],
)
def test_a_question_about_a_dose_records_and_snoozes_nothing(text: str) -> None:
    u = understand(text)
    assert u.has("topic") and not u.has("missed", "later", "intend", "extra"), u.readings


def test_temperature_is_reported_in_celsius() -> None:
    assert understand("temperature of 101F").readings[0].temperature_c == 38.3
    assert understand("37.5").readings[0].temperature_c == 37.5
    assert understand("took it").readings[0].temperature_c is None


def test_37_5_gets_infection_advice_without_alerting_the_nurse() -> None:
    [reading] = understand("37.5").readings
    assert (reading.kind, reading.topics, reading.temperature_c) == ("topic", ("infection",), 37.5)


def test_menu_choice_carries_the_number() -> None:
    assert understand("option 2").readings[0].choice == 2
    assert understand("3.").readings[0].choice == 3
    assert not understand("10").has("menu_choice")


def test_two_topics_come_back_with_the_more_urgent_first() -> None:
    assert understand("constipation and a headache").readings[0].topics[:2] in (
        ("constipation", "headache"),
        ("headache", "constipation"),
    )
    assert understand("headache and chest pain").readings[0].topics[:2] == (
        "heart-attack", "headache"
    )
    u = understand("diarrhoea and I'm wheezing")
    assert u.readings[0].kind == "red_flag" and u.readings[0].topics[0] == "allergic-reaction"


def test_an_escalated_symptom_names_the_urgent_topic_first_and_keeps_the_symptom() -> None:
    assert understand("my headache is really bad").readings[0].topics == (
        "bleeding-skull", "headache"
    )


def test_routine_answers_offer_at_most_three_choices() -> None:
    text = "constipation headache tired rash cramps dizzy"
    assert 1 < len(understand(text).readings[0].topics) <= 3


def test_topics_can_be_injected() -> None:
    fake = Topic("fake", "Fake", ("zebra",), (), "urgent", "Call your team.", "src")
    assert [(r.kind, r.topics) for r in understand("zebra", [fake]).readings] == [
        ("red_flag", ("fake",))
    ]
    assert understand("constipation", [fake]).has("unknown")
    # A high reading is a red flag even when no topic explains it.
    [hot] = understand("temp 39", [fake]).readings
    assert (hot.kind, hot.temperature_c) == ("red_flag", 39.0)


def test_only_the_first_1000_characters_of_a_pasted_essay_are_read() -> None:
    essay = "diarrhoea " + "and the cat sat on the mat " * 5000 + " chest pain"
    u = understand(essay)
    assert u.readings[0].topics[0] == "diarrhoea" and not u.urgent


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
@example("\ufe0f")  # found by CI: invisible on its own, so empty
def test_any_text_gets_well_formed_readings(text: str) -> None:
    u = understand(text)
    assert u.readings, text
    for r in u.readings:
        assert (r.kind == "menu_choice") == (r.choice is not None)
        assert r.kind not in ("topic", "risk_question") or r.topics
    # Empty means nothing visible: emoji variation selectors, keycap marks and zero-width
    # spaces are dropped (a text of only U+FE0F is empty).
    visible = text.replace("\ufe0f", "").replace("\u20e3", "").replace("\u200b", "").strip()
    assert not u.has("empty") or not visible
