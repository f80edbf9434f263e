"""Generated sentences for synthetic speech corpora: a home-automation grammar and digit strings.

Weighted templates (``"{please}{turn} {onoff} the {room} {dev}"``) are filled from slot
lists; numbers in slots are spelled by :func:`edgeasr.text.numbers.number_to_words`.
Every sentence is lower case and uses only the characters of :data:`ALPHABET` (space,
``a``-``z`` and the apostrophe), with single spaces between words. All generators take a
``seed`` and return the same list for the same arguments. Sentences from a user's text
file are read by :mod:`edgeasr.synth.text_file`.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

from edgeasr.errors import ConfigError
from edgeasr.text.numbers import number_to_words

__all__ = [
    "ALPHABET",
    "digit_strings",
    "home_commands",
    "mixed_sentences",
]

ALPHABET = " abcdefghijklmnopqrstuvwxyz'"


# --- slot lists for the home-automation grammar -------------------------------------
_ROOMS = (
    "kitchen", "living room", "bedroom", "bathroom", "hallway", "garage", "office",
    "dining room", "basement", "guest room", "porch", "study", "downstairs", "garden",
    "kids' room",
)
_SWITCHABLE = (
    "lights", "lamp", "ceiling fan", "heater", "air conditioner", "fan", "television",
    "radio", "coffee maker", "dishwasher", "kettle", "night light", "floor lamp", "oven",
)
_PLEASE = ("", "", "", "please ", "can you ", "could you ", "hey home ")
_COLOURS = ("red", "blue", "green", "purple", "orange", "yellow", "pink", "warm white")
_MUSIC = (
    "jazz", "rock", "classical music", "pop music", "the news", "a podcast", "my playlist",
    "relaxing music", "country music", "hip hop", "the radio", "blues", "folk music",
    "something upbeat", "my favourite songs",
)
_MEDIA = (
    "pause the music", "stop the music", "skip this song", "play the next song",
    "go back one song", "resume playback", "what song is this",
    "turn the volume up", "turn the volume down", "louder please", "a bit quieter",
    "mute the speaker", "unmute the speaker",
)
_WHEN = (
    "today", "tomorrow", "tonight", "this weekend", "next week",
    "on monday", "on tuesday", "on wednesday", "on thursday", "on friday", "on saturday",
    "on sunday", "tomorrow morning",
)
_CLOCK = (
    "six am", "seven thirty", "half past eight", "quarter to nine", "noon", "midnight",
    "six fifteen", "five forty five", "ten pm", "quarter past seven", "eight o'clock",
)
_COVERS = ("blinds", "curtains", "shades", "shutters")
_DOORS = ("front door", "back door", "garage door", "side gate", "patio door", "basement door")
_ITEMS = (
    "milk", "eggs", "bread", "coffee", "apples", "butter", "cheese", "bananas", "rice",
    "pasta", "tomatoes",
)
_TASKS = (
    "call mom", "water the plants", "take out the trash", "feed the cat", "walk the dog",
    "pay the bills", "check the mail",
)
_FIXED = (
    "what time is it", "what's on my calendar today", "good night", "good morning",
    "i'm leaving", "i'm home", "turn everything off", "activate movie mode",
    "start the robot vacuum", "stop the robot vacuum",
    "how much time is left", "cancel the timer", "snooze the alarm", "stop the alarm",
    "is anyone at the door", "how cold is it outside",
    "what's the temperature inside", "make it warmer", "make it a bit cooler",
    "what's on the shopping list", "clear the shopping list", "arm the security system",
    "disarm the security system", "are all the doors locked",
)


def _c(options: tuple[str, ...]) -> Callable[[random.Random], str]:
    return lambda rng: rng.choice(options)


def _num(lo: int, hi: int) -> Callable[[random.Random], str]:
    return lambda rng: number_to_words(rng.randint(lo, hi))


_SLOTS: dict[str, Callable[[random.Random], str]] = {
    "room": _c(_ROOMS), "dev": _c(_SWITCHABLE), "please": _c(_PLEASE),
    "onoff": _c(("on", "off")), "turn": _c(("turn", "switch")), "colour": _c(_COLOURS),
    "music": _c(_MUSIC), "media": _c(_MEDIA), "when": _c(_WHEN), "clock": _c(_CLOCK),
    "cover": _c(_COVERS), "door": _c(_DOORS), "item": _c(_ITEMS), "task": _c(_TASKS),
    "fixed": _c(_FIXED), "openclose": _c(("open", "close")), "lockunlock": _c(("lock", "unlock")),
    "updown": _c(("raise", "lower")), "weather": _c(("what's the weather", "will it rain",
                                                      "is it going to snow", "how warm will it be")),
    "temp": _num(15, 30), "percent": _num(5, 100), "minutes": _num(1, 90), "small": _num(1, 5),
}

# Templates with weights: switching devices and media dominate like in real use.
_TEMPLATES: tuple[tuple[str, int], ...] = (
    ("{please}{turn} {onoff} the {room} {dev}", 6),
    ("{please}{turn} the {room} {dev} {onoff}", 3),
    ("{please}{turn} {onoff} the {dev} in the {room}", 3),
    ("{please}dim the {room} lights to {percent} percent", 2),
    ("set the {room} lights to {colour}", 2),
    ("{please}set the thermostat to {temp} degrees", 2),
    ("set the {room} temperature to {temp} degrees", 2),
    ("{updown} the temperature by {small} degrees", 1),
    ("{please}play {music} in the {room}", 3),
    ("play {music}", 1),
    ("{media}", 2),
    ("set the volume to {percent} percent", 1),
    ("{weather} {when}", 2),
    ("set a timer for {minutes} minutes", 2),
    ("set a {minutes} minute timer", 1),
    ("{please}set an alarm for {clock}", 2),
    ("wake me up at {clock} {when}", 1),
    ("{openclose} the {room} {cover}", 2),
    ("set the {room} {cover} to {percent} percent", 1),
    ("{please}{lockunlock} the {door}", 2),
    ("is the {door} locked", 1),
    ("is the {dev} on in the {room}", 1),
    ("add {item} to the shopping list", 2),
    ("remind me to {task} {when}", 2),
    ("{fixed}", 2),
)
_TEMPLATE_TEXTS = [t for t, _ in _TEMPLATES]
_TEMPLATE_WEIGHTS = [w for _, w in _TEMPLATES]


def _slot_names(template: str) -> tuple[str, ...]:
    return tuple(field for _, field, _, _ in string.Formatter().parse(template) if field)


_VOWEL_NUMBERS = frozenset({"eight", "eighteen", "eighty", "eleven"})
_TEMPLATE_SLOTS = {t: _slot_names(t) for t, _ in _TEMPLATES}


def _fill(template: str, rng: random.Random) -> str:
    values = {name: _SLOTS[name](rng) for name in _TEMPLATE_SLOTS[template]}
    words = template.format(**values).split()
    for i in range(len(words) - 1):  # "a eight minute timer" -> "an eight minute timer"
        if words[i] == "a" and words[i + 1] in _VOWEL_NUMBERS:
            words[i] = "an"
    return " ".join(words)


def _one_command(rng: random.Random) -> str:
    template = rng.choices(_TEMPLATE_TEXTS, weights=_TEMPLATE_WEIGHTS, k=1)[0]
    return _fill(template, rng)


_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _one_digit_string(rng: random.Random, min_len: int, max_len: int) -> str:
    length = rng.randint(min_len, max_len)
    words = []
    for _ in range(length):
        d = rng.randrange(10)
        words.append(("oh" if rng.random() < 0.5 else "zero") if d == 0 else _DIGITS[d])
    return " ".join(words)


def _unique(make: Callable[[], str], n: int, max_tries_factor: int = 50) -> list[str]:
    """Draw ``n`` sentences, avoiding duplicates until the draws stop finding new ones."""
    seen: set[str] = set()
    out: list[str] = []
    tries = 0
    while len(out) < n:
        sentence = make()
        tries += 1
        if sentence in seen and tries < max_tries_factor * max(n, 1):
            continue
        seen.add(sentence)
        out.append(sentence)
    return out


def home_commands(n: int, seed: int = 0) -> list[str]:
    """Return ``n`` distinct (where possible) home-automation commands."""
    rng = random.Random(f"home_commands:{seed}")
    return _unique(lambda: _one_command(rng), n)


def digit_strings(n: int, seed: int = 0, min_len: int = 3, max_len: int = 8) -> list[str]:
    """Return ``n`` distinct spoken digit strings such as ``"four one oh seven"``.

    Zero is spoken as ``"oh"`` or ``"zero"`` at random.
    """
    if not 1 <= min_len <= max_len:
        raise ConfigError(f"need 1 <= min_len <= max_len, got {min_len}, {max_len}")
    rng = random.Random(f"digit_strings:{seed}")
    return _unique(lambda: _one_digit_string(rng, min_len, max_len), n)


def mixed_sentences(n: int, seed: int = 0, digit_fraction: float = 0.3) -> list[str]:
    """Return ``n`` distinct sentences: commands, with ``digit_fraction`` digit strings."""
    if not 0.0 <= digit_fraction <= 1.0:
        raise ConfigError(f"digit_fraction must be in [0, 1], got {digit_fraction}")
    rng = random.Random(f"mixed_sentences:{seed}")

    def make() -> str:
        if rng.random() < digit_fraction:
            return _one_digit_string(rng, 3, 8)
        return _one_command(rng)

    return _unique(make, n)
