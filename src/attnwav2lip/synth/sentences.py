"""Random English sentences from a built-in vocabulary, rich in visually distinct sounds.

Words are chosen so that every mouth shape occurs often: lip closures (p, b, m), lip-teeth
contacts (f, v), rounded vowels (oo, o, w), spread vowels (ee), open vowels (a, ah).
Clauses are separated by commas and full stops, which espeak renders as pauses.
"""

from __future__ import annotations

import numpy as np

ADJECTIVES = (
    "big", "brave", "blue", "bright", "calm", "cheap", "cool", "deep", "eager", "fast", "fine", "funny",
    "gentle", "good", "happy", "huge", "little", "loud", "lovely", "mighty", "old", "pale", "plump", "proud",
    "purple", "quiet", "rough", "round", "smooth", "soft", "tiny", "vivid", "warm", "wise", "yellow", "zany",
)
NOUNS = (
    "apple", "baby", "balloon", "banjo", "beach", "boat", "book", "boot", "bubble", "cheese", "choir", "cloud",
    "cow", "dog", "engine", "father", "feather", "fish", "flower", "football", "fox", "garden", "giraffe",
    "house", "jam", "judge", "kettle", "king", "lamp", "mayor", "monkey", "moon", "mother", "mouse", "movie",
    "muffin", "music", "ocean", "owl", "painter", "pebble", "pepper", "piano", "pilot", "puppy", "queen",
    "rabbit", "robot", "shoe", "spoon", "thumb", "tiger", "tomato", "umbrella", "valley", "village", "violin",
    "whale", "window", "wolf", "zebra",
)
VERBS = (
    "bakes", "bumps", "buys", "chases", "cleans", "climbs", "draws", "feeds", "finds", "fixes", "follows",
    "grabs", "helps", "hugs", "jumps over", "kicks", "loves", "moves", "opens", "paints", "pushes", "reaches",
    "saves", "shows", "smells", "throws", "touches", "visits", "wants", "watches", "waves at", "wipes",
)
ADVERBS = (
    "again", "always", "badly", "before lunch", "by moonlight", "every morning", "far away", "happily",
    "in May", "many times", "maybe", "now", "often", "quickly", "slowly", "softly", "today", "very well",
)
OPENERS = ("", "", "", "Oh", "Well", "Look", "Wow", "Please", "Maybe", "Yes", "No", "Hey")


def clause(rng: np.random.Generator) -> str:
    """One short clause: [opener,] the [adjective] noun verb the [adjective] noun [adverb]."""
    words: list[str] = []
    opener = OPENERS[rng.integers(len(OPENERS))]
    if opener:
        words.append(opener + ",")
    for i, pool in enumerate((NOUNS, VERBS, NOUNS)):
        if pool is NOUNS:
            words.append("the" if i == 0 or rng.random() < 0.7 else "a")
            if rng.random() < 0.6:
                words.append(ADJECTIVES[rng.integers(len(ADJECTIVES))])
        words.append(pool[rng.integers(len(pool))])
    if rng.random() < 0.5:
        words.append(ADVERBS[rng.integers(len(ADVERBS))])
    return " ".join(words)


def sentence(rng: np.random.Generator, n_clauses: int) -> str:
    """`n_clauses` clauses joined by commas and full stops, capitalised, ending with . ! or ?"""
    parts: list[str] = []
    for i in range(n_clauses):
        text = clause(rng)
        parts.append(text[0].upper() + text[1:] if i == 0 or parts[-1][-1] in ".!?" else text)
        last = i == n_clauses - 1
        parts[-1] += ("." if last else ",") if rng.random() < 0.6 else str(rng.choice([".", "!", "?"]))
    return " ".join(parts)
