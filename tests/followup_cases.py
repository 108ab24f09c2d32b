"""Multi-turn conversations with what each turn must cite, shared by the tests and bench/followups.py.

Each turn: (question, cited, short, abstain, mode). ``cited``: text the first cited sentence must
contain; ``short``: text the short answer must contain ("" = no short answer expected); ``abstain``:
the bot must say the article doesn't say; ``mode``: how the follow-up must be understood (None = any).
"""

from __future__ import annotations

RESET = "/reset"

BUNDLED = {
    "ellipsis-and-x": [
        ("How much did Liaoning invest?", "2 billion yuan", "2 billion yuan", False, "self"),
        ("And Heilongjiang?", "Heilongjiang's digital economy", None, False, "ellipsis"),
    ],
    "ellipsis-what-about-x": [
        ("How much has Liaoning put into digital manufacturing?", "2 billion yuan", "2 billion yuan", False, "self"),
        ("What about Jilin?", "Jilin is working on training", "", False, "ellipsis"),
    ],
    "pronoun-it-after-answer": [
        ("Which company is FAW Jiefang a subsidiary of?", "subsidiary of China FAW Group", "China FAW Group", False, "self"),
        ("Where is it based?", "Changchun", "Changchun", False, "pronoun"),
    ],
    "pronoun-who-owns-it": [
        ("What do staff members at Harbin Turbine Company watch?", "smart equipment", None, False, "self"),
        ("Who owns it?", "Harbin Electric Group", "Harbin Electric Group", False, "pronoun"),
    ],
    "demonstrative-when-was-that-taken": [
        ("What are the workers at China First Heavy Industries working on?", "wind turbine hubs", None, False, "self"),
        ("When was that taken?", "wind turbine hubs", "April 28, 2024", False, "pronoun"),
    ],
    "pronoun-there": [
        ("In which city is China First Heavy Industries?", "Qiqihar", "Qiqihar", False, "self"),
        ("What do workers do there?", "wind turbine hubs", None, False, "pronoun"),
    ],
    "bare-question-word": [
        ("Where is the multistage air turbine test platform?", "multistage air turbine", "Harbin", False, "self"),
        ("When?", "multistage air turbine", "July 23, 2024", False, "why"),
    ],
    "tell-me-more": [
        ("How much did Liaoning invest?", "2 billion yuan", "2 billion yuan", False, "self"),
        ("Tell me more", "Jilin is working on training", None, False, "more"),
    ],
    "topic-switch-self-contained": [
        ("How much did Liaoning invest?", "2 billion yuan", "2 billion yuan", False, "self"),
        ("What share of Heilongjiang's GDP is the digital economy?", "30 percent", "30 percent", False, "self"),
    ],
    "topic-switch-off-topic": [
        ("Who owns Harbin Turbine Company?", "Harbin Electric Group", "Harbin Electric Group", False, "self"),
        ("What is the capital of France?", None, None, True, "self"),
    ],
    "reset-forgets": [
        ("How much did Liaoning invest?", "2 billion yuan", "2 billion yuan", False, "self"),
        (RESET, None, None, False, None),
        ("And Heilongjiang?", None, None, None, "self"),
    ],
    "three-turns": [
        ("Which company is FAW Jiefang Automotive Co part of?", "China FAW Group", "China FAW Group", False, "self"),
        ("What do its robots do?", "robots", None, False, "pronoun"),
        ("When?", "AMT workshop", "Aug 5, 2024", False, "why"),
    ],
}

MARLOW = {
    "marlow-ellipsis-cost": [
        ("How much did Marlow's tram line cost?", "410 million euros", "410 million euros", False, "self"),
        ("And the Eastbrook one?", "150 million euros", "150 million euros", False, "ellipsis"),
    ],
    "marlow-pronoun-she": [
        ("Who is the mayor of Marlow?", "Helen Ortiz", "Helen Ortiz", False, "self"),
        ("How many passengers does she expect?", "35,000 passengers", "35,000", False, "pronoun"),
    ],
    "marlow-pronoun-the-company": [
        ("Which company operates the trams?", "Marlow Transit Company", "Marlow Transit Company", False, "self"),
        ("When will the company review fares?", "reviewed in 2025", "2025", False, "pronoun"),
    ],
    "marlow-why": [
        ("When did construction begin?", "April 2021", "April 2021", False, "self"),
        ("Why was it delayed?", "flooding", None, False, "pronoun"),
    ],
    "marlow-switch": [
        ("What share did the national government pay?", "60 percent", "60 percent", False, "self"),
        ("Who won the 2018 World Cup?", None, None, True, "self"),
    ],
    "marlow-caption": [
        ("Which bridge does the tram cross?", "Kelling Bridge", "Kelling Bridge", False, "self"),
        ("When was that taken?", "Kelling Bridge", "March 12, 2024", False, "pronoun"),
    ],
}
