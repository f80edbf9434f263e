"""Write Home Assistant's English command sentences (home-assistant-intents) as a text file.

Usage: python ha_sentences.py OUT.txt [PER_INTENT]

Sentences come from hassil's sampler over the package's English intents; the lists Home
Assistant fills at run time (device names, areas, floors) get the everyday names below.
Sentences with wildcards ({message}, {search_query}, ...) are left out. One sentence a line,
deduplicated, in a fixed order (the sampler is deterministic).
"""

from __future__ import annotations

import sys
from pathlib import Path

NAMES = ("kitchen light", "ceiling fan", "front door", "living room lamp", "garage door",
         "bedroom light", "heater", "coffee maker", "porch light", "tv", "radio", "thermostat")
AREAS = ("kitchen", "living room", "bedroom", "bathroom", "garage", "office", "hallway",
         "garden", "basement", "dining room")
FLOORS = ("upstairs", "downstairs", "first floor", "ground floor")


def sentences(per_intent: int) -> list[str]:
    import hassil
    import home_assistant_intents as ha
    from hassil.intents import Intents, TextSlotList

    intents = Intents.from_dict(ha.get_intents("en"))
    lists = {name: TextSlotList.from_strings(values)
             for name, values in (("name", NAMES), ("area", AREAS), ("floor", FLOORS))}
    seen: dict[str, None] = {}
    for _, text in hassil.sample_intents(intents, slot_lists=lists, language="en",
                                         max_sentences_per_intent=per_intent):
        seen.setdefault(" ".join(text.split()), None)
    return list(seen)


def main(argv: list[str]) -> int:
    out = Path(argv[1])
    per_intent = int(argv[2]) if len(argv) > 2 else 200
    found = sentences(per_intent)
    out.write_text("\n".join(found) + "\n", encoding="utf-8")
    print(f"{len(found)} Home Assistant sentences -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
